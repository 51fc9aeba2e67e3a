"""Quantities: parsing and the canonical form an API server returns."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gitops_agent.core import quantities

CANONICAL = [
    ("0.5", "500m"),
    ("1024Mi", "1Gi"),
    ("1000m", "1"),
    ("1.5Gi", "1536Mi"),
    ("100Ki", "100Ki"),
    ("2000", "2k"),
    ("1G", "1G"),
    ("64Mi", "64Mi"),
    ("50m", "50m"),
    ("1e3", "1e3"),
    ("0.1Ki", "102400m"),
    ("512", "512"),
    (2, "2"),
    (0.25, "250m"),
]


@pytest.mark.parametrize(("text", "expected"), CANONICAL)
def test_canonical(text: str, expected: str) -> None:
    assert quantities.canonical(text) == expected


def test_values() -> None:
    assert quantities.value("64Mi") == 64 * 2**20
    assert quantities.value("1G") == 10**9
    assert quantities.value("50m") == Decimal("0.05")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "50x",
        "-1",
        "1.2.3",
        "Mi",
        "1 Gi",
        -1,
        -0.5,
        float("nan"),
        float("inf"),
        float("-inf"),
        "1e999999999",
        "1e-999999999",
        "1e31",
        "9" * 5000,
        10**4000,
        1e300,
        "8Ei",
        "1e19",
        "50m\n",
        " 50m",
        "\u0665",
        True,
    ],
)
def test_rejects(text: str | float) -> None:
    with pytest.raises(quantities.QuantityError):
        quantities.parse(text)
    assert quantities.problem(text) is not None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7Ei", "7Ei"),
        ("1e18", "1e18"),
        (0, "0"),
        ("1e-30", "1e-9"),
        (2**63 - 1, "9223372036854775807"),
    ],
)
def test_bounds_that_are_quantities(text: str | int, expected: str) -> None:
    assert quantities.problem(text) is None
    assert quantities.canonical(text) == expected


def test_messages_say_what_to_write_and_quote_long_text_short() -> None:
    assert "cannot be negative" in str(quantities.problem(-1))
    assert "finite number" in str(quantities.problem(float("nan")))
    assert "exponent must be between -30 and 30" in str(quantities.problem("1e999999999"))
    assert len(str(quantities.problem("9" * 5000))) < 200
