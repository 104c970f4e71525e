"""Number formatting for finding messages (display only; the arithmetic stays exact).

The precisions are :mod:`dosemap.domain.display`'s (0.01 U, 0.1 µL).
"""

from __future__ import annotations

from decimal import Decimal

from dosemap.domain.display import UNITS_PLACES, number


def num(value: Decimal, places: int = UNITS_PLACES) -> str:
    """A Decimal rounded half-up to ``places`` and without trailing zeros.

    Examples
    --------
    >>> num(Decimal("16.6666")), num(Decimal("20.00")), num(Decimal("0.125"), 3)
    ('16.67', '20', '0.125')
    """
    return number(value, places)


def units(value: Decimal, places: int = UNITS_PLACES) -> str:
    """``"24 U"``."""
    return f"{num(value, places)} U"


def span(low: Decimal, high: Decimal, unit: str = "U", places: int = UNITS_PLACES) -> str:
    """``"15–22.5 U"``, or ``"20 U"`` when both ends round alike."""
    lo, hi = num(low, places), num(high, places)
    return f"{lo} {unit}" if lo == hi else f"{lo}–{hi} {unit}"
