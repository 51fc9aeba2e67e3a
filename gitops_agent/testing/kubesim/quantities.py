"""Kubernetes resource quantities: parsing and the canonical form the server writes back.

``canonical("0.5") == "500m"``, ``canonical("1024Mi") == "1Gi"``, ``canonical("1.5Gi") ==
"1536Mi"``: the same rules as ``resource.Quantity`` (binary suffixes stay binary when the
value is a whole number of at least 1024; otherwise the largest decimal suffix that keeps the
mantissa whole; precision beyond nano is rounded up). Called by ``defaults.py`` for every
field whose schema is a Quantity.
"""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_BY_EXP = {exp: suffix for suffix, exp in _DECIMAL.items()}
_BINARY_BY_EXP = {exp: suffix for suffix, exp in _BINARY.items()}
_PATTERN = re.compile(r"^([+-]?)(\d+\.?\d*|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$")


class QuantityError(ValueError):
    """The text is not a quantity; the message is the server's."""


def parse(text: str | int | float) -> tuple[Fraction, str]:
    """Value and format (``BinarySI``, ``DecimalSI``, ``DecimalExponent``) of a quantity."""
    if isinstance(text, bool):
        raise QuantityError(
            "quantities must match the regular expression "
            "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        )
    if isinstance(text, int | float):
        text = format(Decimal(repr(text)), "f")
    match = _PATTERN.match(text.strip())
    if not match:
        raise QuantityError(
            "quantities must match the regular expression "
            "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        )
    sign, number, suffix = match.group(1), match.group(2), match.group(3) or ""
    value = Fraction(number)
    if suffix in _BINARY:
        value *= 1024 ** _BINARY[suffix]
        fmt = "BinarySI"
    elif suffix in _DECIMAL:
        value *= Fraction(10) ** _DECIMAL[suffix]
        fmt = "DecimalSI"
    else:
        value *= Fraction(10) ** int(suffix[1:])
        fmt = "DecimalExponent"
    value = _round_up_nano(-value if sign == "-" else value)
    return value, fmt


def _round_up_nano(value: Fraction) -> Fraction:
    scaled = value * 10**9
    if scaled.denominator == 1:
        return value
    whole = -((-scaled.numerator) // scaled.denominator) if value > 0 else int(scaled)
    return Fraction(whole, 10**9)


def canonical(text: str | int | float) -> str:
    """The string the API server stores and returns for this quantity."""
    value, fmt = parse(text)
    if value == 0:
        return "0"
    if fmt == "BinarySI" and (abs(value) < 1024 or value.denominator != 1):
        fmt = "DecimalSI"
    if fmt == "BinarySI":
        return _binary(int(value))
    return _decimal(value, exponent_form=fmt == "DecimalExponent")


def _binary(value: int) -> str:
    exp = 0
    while exp < 6 and value % 1024 == 0 and value != 0:
        value //= 1024
        exp += 1
    return f"{value}{_BINARY_BY_EXP.get(exp, '')}"


def _decimal(value: Fraction, *, exponent_form: bool) -> str:
    exp = -9
    while (value * Fraction(10) ** -exp).denominator != 1:
        exp += 3  # pragma: no cover - values are rounded to nano above
    mantissa = value * Fraction(10) ** -exp
    while exp < 18 and mantissa % 1000 == 0:
        mantissa /= 1000
        exp += 3
    # A mantissa that is whole at a larger exponent is preferred; otherwise keep the smallest.
    number = str(int(mantissa))
    if exponent_form:
        return number if exp == 0 else f"{number}e{exp}"
    return number + _DECIMAL_BY_EXP[exp]


def is_quantity(text: object) -> bool:
    """True when ``text`` parses as a quantity."""
    try:
        parse(text)  # type: ignore[arg-type]
    except (QuantityError, TypeError, ValueError):
        return False
    return True


def to_number(text: str | int | float) -> Fraction:
    """The exact value, for comparisons such as limits >= requests."""
    return parse(text)[0]
