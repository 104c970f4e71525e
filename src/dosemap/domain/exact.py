"""Exact Decimal helpers shared by the dose arithmetic and the library checks.

``to_decimal`` turns an exact :class:`~fractions.Fraction` into a Decimal: exact when the
decimal expansion terminates, else 28 significant digits. ``check_range`` validates an input
and names the field and the allowed range.
"""

from __future__ import annotations

from decimal import Context, Decimal
from fractions import Fraction

from dosemap.domain.errors import InvalidInputError

_INEXACT_CONTEXT = Context(prec=28)
UL_PER_ML = Fraction(1000)


# --------------------------------------------------------------------------- exact helpers


def to_decimal(value: Fraction) -> Decimal:
    """A fraction as a Decimal: exact if it terminates, else 28 significant digits."""
    den = value.denominator
    twos = fives = 0
    while den % 2 == 0:
        den //= 2
        twos += 1
    while den % 5 == 0:
        den //= 5
        fives += 1
    if den == 1:
        k = max(twos, fives)
        scaled = value.numerator * (10**k // value.denominator)
        result = Decimal(scaled).scaleb(-k)
    else:
        result = _INEXACT_CONTEXT.divide(Decimal(value.numerator), Decimal(value.denominator))
    return tidy(result)


def tidy(value: Decimal) -> Decimal:
    """Drop trailing zeros without switching to exponent notation (``40`` not ``4E+1``)."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def check_range(
    field: str,
    value: object,
    *,
    low: Decimal,
    high: Decimal,
    unit: str,
    low_inclusive: bool = False,
) -> Fraction:
    """Validate a Decimal input against ``(low, high]`` (or ``[low, high]``); return it exact."""
    op = ">=" if low_inclusive else ">"
    allowed = f"{op} {low} and <= {high} {unit}"
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise InvalidInputError(
            field, f"must be a Decimal or an integer, not {type(value).__name__}", allowed
        )
    number = Decimal(value)
    if not number.is_finite():
        raise InvalidInputError(field, f"{number} is not a finite number", allowed)
    too_low = number < low if low_inclusive else number <= low
    if too_low or number > high:
        raise InvalidInputError(field, f"{number} {unit} is out of range", allowed)
    return Fraction(number)
