"""Doses for people: the precision every display (CLI tables, pictures, messages) rounds to.

Stored and computed values stay exact ``Decimal``; only what people read is rounded:

================  ==========  =========================================================
quantity          precision   why
================  ==========  =========================================================
units (U)         0.01 U      micro-dose points are 0.1-0.6 U; a hundredth is below any
                              syringe's resolution yet keeps per-point doses distinct
volume (µL)       0.1 µL      the planner's own volume step
volume (mL)       0.001 mL    1 µL: what a 1 mL syringe can be read to, and finer
concentration     0.01 U/mL   as units
================  ==========  =========================================================

A value that rounding changed is marked ``≈`` where the caller asks (tables), so a rounded
total is never mistaken for an exact one.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

UNITS_PLACES = 2
VOLUME_UL_PLACES = 1
VOLUME_ML_PLACES = 3
CONCENTRATION_PLACES = 2


def number(value: Decimal, places: int = UNITS_PLACES, *, mark_rounded: bool = False) -> str:
    """``value`` rounded half-up to ``places``, without trailing zeros.

    Examples
    --------
    >>> number(Decimal("16.6666")), number(Decimal("20.00")), number(Decimal("0.125"), 3)
    ('16.67', '20', '0.125')
    >>> number(Decimal("10.000000000000000000")), number(Decimal(1) / 7, mark_rounded=True)
    ('10', '≈0.14')
    """
    rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if rounded == rounded.to_integral_value():
        text = str(rounded.quantize(Decimal(1)))
    else:
        text = format(rounded.normalize(), "f")
    return f"≈{text}" if mark_rounded and rounded != value else text


def units(value: Decimal, *, mark_rounded: bool = False) -> str:
    """``"7.14 U"``: units at 0.01 U."""
    return f"{number(value, UNITS_PLACES, mark_rounded=mark_rounded)} U"


def volume_ul(value: Decimal, *, mark_rounded: bool = False) -> str:
    """``"10.5 µL"``: microlitres at 0.1 µL."""
    return f"{number(value, VOLUME_UL_PLACES, mark_rounded=mark_rounded)} µL"


def volume_ml(value: Decimal, *, mark_rounded: bool = False) -> str:
    """``"3.65 mL"``: millilitres at 0.001 mL."""
    return f"{number(value, VOLUME_ML_PLACES, mark_rounded=mark_rounded)} mL"


def concentration(value: Decimal, *, mark_rounded: bool = False) -> str:
    """``"14.29 U/mL"``."""
    return f"{number(value, CONCENTRATION_PLACES, mark_rounded=mark_rounded)} U/mL"
