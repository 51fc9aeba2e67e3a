"""Kubernetes resource quantities: parsing and the API server's canonical form.

Called by ``core.validation`` (``problem``: every quantity of a manifest; requests not above
limits, memory written in millibytes) and by the renderer and differ, which must write and
compare quantities the way an API server returns them: ``0.5`` -> ``500m``, ``1024Mi`` ->
``1Gi``, ``1000m`` -> ``1``. Only non-negative quantities of the Kubernetes grammar are
read, at most ``MAX_TEXT`` characters long, with an exponent of at most ``MAX_EXPONENT`` and a
value of at most ``MAX_VALUE``: a huge exponent or number never reaches decimal arithmetic.
"""

from __future__ import annotations

import enum
import functools
import re
from decimal import Decimal

from gitops_agent.core.violations import quoted

_PATTERN = re.compile(
    r"\+?(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
    r"(?:(?P<exponent>[eE][+-]?[0-9]+)|(?P<suffix>[KMGTPE]i|[numkMGTPE]))?"
)
#: The longest quantity text read (``0.000000001`` and ``9223372036854775807`` fit).
MAX_TEXT = 64
#: The largest decimal exponent (``1e18``) read; larger ones are refused before any arithmetic.
MAX_EXPONENT = 30
#: The largest value Kubernetes stores in a quantity's 64-bit integer (cores, bytes).
MAX_VALUE = Decimal(2**63 - 1)
_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


class QuantityFormat(enum.Enum):
    """How a quantity was written, which decides how it is written back."""

    BINARY_SI = "BinarySI"
    DECIMAL_SI = "DecimalSI"
    DECIMAL_EXPONENT = "DecimalExponent"


class QuantityError(ValueError):
    """The text is not a Kubernetes quantity."""


def problem(text: str | int | float) -> str | None:
    """Why ``text`` is not a quantity this agent accepts, or None."""
    try:
        parse(text)
    except QuantityError as err:
        return str(err)
    return None


@functools.lru_cache(maxsize=4096, typed=True)
def parse(text: str | int | float) -> tuple[Decimal, QuantityFormat]:
    """The value of a quantity and the format it was written in; QuantityError otherwise
    (remembered per text and type: validation and rendering read the same few quantities
    thousands of times)."""
    written = _text(text)
    match = _PATTERN.fullmatch(written)
    if match is None:
        raise QuantityError(f"{written!r} is not a quantity{_why_not(written)}")
    number = Decimal(match["number"])
    if match["exponent"]:
        exponent = int(match["exponent"][1:])
        if abs(exponent) > MAX_EXPONENT:
            raise QuantityError(
                f"{written!r}: the exponent must be between -{MAX_EXPONENT} and "
                f"{MAX_EXPONENT}; write the value with a suffix such as 64Mi or 2G"
            )
        amount, form = number.scaleb(exponent), QuantityFormat.DECIMAL_EXPONENT
    else:
        suffix = match["suffix"] or ""
        if suffix in _BINARY:
            amount, form = number * (2 ** _BINARY[suffix]), QuantityFormat.BINARY_SI
        else:
            amount, form = number.scaleb(_DECIMAL[suffix]), QuantityFormat.DECIMAL_SI
    if amount > MAX_VALUE:
        raise QuantityError(f"{written!r} is larger than a quantity can be ({MAX_VALUE})")
    return amount, form


def _text(text: str | int | float) -> str:
    """The quantity as written; a YAML number becomes its text (``0.5``, ``nan``, ``-1``)."""
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        raise QuantityError(f"a quantity is a string or a number, not {type(text).__name__}")
    if isinstance(text, int) and text.bit_length() > 4 * MAX_TEXT:
        raise QuantityError(f"an integer this long is not a quantity{_TOO_LONG}")
    written = str(text)
    if len(written) > MAX_TEXT:
        raise QuantityError(f"{quoted(written, 24)} is not a quantity{_TOO_LONG}")
    return written


_TOO_LONG = f": at most {MAX_TEXT} characters; write it with a suffix such as 64Mi or 2G"
_EXAMPLES = "such as 50m, 0.5, 2, 64Mi or 1G"


def _why_not(written: str) -> str:
    lowered = written.strip().lower()
    if lowered.startswith("-"):
        return f": a quantity cannot be negative; write one {_EXAMPLES}"
    if lowered.lstrip("+") in ("nan", "inf", "infinity", ".nan", ".inf"):
        return f": a quantity is a finite number; write one {_EXAMPLES}"
    if written != written.strip():
        return f": remove the surrounding spaces or line breaks ({_EXAMPLES})"
    return f" {_EXAMPLES}"


def value(text: str | int | float) -> Decimal:
    """The numeric value of a quantity (cores for cpu, bytes for memory)."""
    return parse(text)[0]


@functools.lru_cache(maxsize=4096, typed=True)
def canonical(text: str | int | float) -> str:
    """The form an API server stores and returns for ``text`` (remembered: a plan or a
    drift check asks for the same few quantities on every object)."""
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
