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


@pytest.mark.parametrize("text", ["", "50x", "-1", "1.2.3", "Mi", "1 Gi"])
def test_rejects(text: str) -> None:
    with pytest.raises(quantities.QuantityError):
        quantities.parse(text)
