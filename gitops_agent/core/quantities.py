"""Kubernetes resource quantities: parsing and the API server's canonical form.

Called by ``core.validation`` (requests not above limits, memory written in millibytes) and
by the renderer and differ, which must write and compare quantities the way an API server
returns them: ``0.5`` -> ``500m``, ``1024Mi`` -> ``1Gi``, ``1000m`` -> ``1``.
"""

from __future__ import annotations

import enum
import re
from decimal import Decimal

_PATTERN = re.compile(
    r"^\+?(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
    r"(?:(?P<exponent>[eE][+-]?[0-9]+)|(?P<suffix>[KMGTPE]i|[numkMGTPE]))?$"
)
_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


class QuantityFormat(enum.Enum):
    """How a quantity was written, which decides how it is written back."""

    BINARY_SI = "BinarySI"
    DECIMAL_SI = "DecimalSI"
    DECIMAL_EXPONENT = "DecimalExponent"


class QuantityError(ValueError):
    """The text is not a Kubernetes quantity."""


def parse(text: str | int | float) -> tuple[Decimal, QuantityFormat]:
    """The value of a quantity and the format it was written in."""
    match = _PATTERN.match(str(text).strip())
    if match is None:
        raise QuantityError(f"{text!r} is not a quantity such as 50m, 0.5, 2, 64Mi or 1G")
    number = Decimal(match["number"])
    if match["exponent"]:
        return number.scaleb(int(match["exponent"][1:])), QuantityFormat.DECIMAL_EXPONENT
    suffix = match["suffix"] or ""
    if suffix in _BINARY:
        return number * (2 ** _BINARY[suffix]), QuantityFormat.BINARY_SI
    return number.scaleb(_DECIMAL[suffix]), QuantityFormat.DECIMAL_SI


def value(text: str | int | float) -> Decimal:
    """The numeric value of a quantity (cores for cpu, bytes for memory)."""
    return parse(text)[0]


def canonical(text: str | int | float) -> str:
    """The form an API server stores and returns for ``text``."""
    amount, form = parse(text)
    amount = _round_up_to_nano(amount)
    if form is QuantityFormat.BINARY_SI and amount == amount.to_integral_value() and amount >= 1024:
        return _binary(int(amount))
    if form is QuantityFormat.DECIMAL_EXPONENT:
        return _exponent(amount)
    return _decimal(amount)


def _round_up_to_nano(amount: Decimal) -> Decimal:
    scaled = amount.scaleb(9)
    whole = scaled.to_integral_value(rounding="ROUND_CEILING")
    return whole.scaleb(-9)


def _binary(amount: int) -> str:
    for suffix, shift in sorted(_BINARY.items(), key=lambda item: -item[1]):
        if amount % (1 << shift) == 0:
            return f"{amount >> shift}{suffix}"
    return str(amount)


def _mantissa_exponent(amount: Decimal) -> tuple[int, int]:
    """``amount`` as ``mantissa * 10**exponent`` with the exponent a multiple of 3, maximal."""
    if amount == 0:
        return 0, 0
    exponent = -9
    mantissa = int(amount.scaleb(9))
    while mantissa % 1000 == 0 and exponent < 18:
        mantissa //= 1000
        exponent += 3
    return mantissa, exponent


def _decimal(amount: Decimal) -> str:
    mantissa, exponent = _mantissa_exponent(amount)
    suffix = {power: name for name, power in _DECIMAL.items()}[exponent]
    return f"{mantissa}{suffix}"


def _exponent(amount: Decimal) -> str:
    mantissa, exponent = _mantissa_exponent(amount)
    return f"{mantissa}e{exponent}" if exponent else str(mantissa)
