"""Number formatting for finding messages (display only; the arithmetic stays exact)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def num(value: Decimal, places: int = 2) -> str:
    """A Decimal rounded half-up to ``places`` and without trailing zeros.

    Examples
    --------
    >>> num(Decimal("16.6666")), num(Decimal("20.00")), num(Decimal("0.125"), 3)
    ('16.67', '20', '0.125')
    """
    rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if rounded == rounded.to_integral_value():
        return str(rounded.quantize(Decimal(1)))
    return format(rounded.normalize(), "f")


def units(value: Decimal, places: int = 2) -> str:
    """``"24 U"``."""
    return f"{num(value, places)} U"


def span(low: Decimal, high: Decimal, unit: str = "U", places: int = 2) -> str:
    """``"15–22.5 U"``, or ``"20 U"`` when both ends round alike."""
    lo, hi = num(low, places), num(high, places)
    return f"{lo} {unit}" if lo == hi else f"{lo}–{hi} {unit}"
