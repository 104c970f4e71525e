"""Shared helpers of ``dosemap catalog`` and ``dosemap dilute``: display rounding, loading."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from pathlib import Path

from dosemap.domain.errors import InvalidInputError
from dosemap.domain.library import Library
from dosemap.resources import load_library


def show(value: Decimal, places: int = 4) -> str:
    """A Decimal for people: exact if short, else rounded to ``places`` and marked with ``≈``."""
    rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    text = _plain(rounded)
    return text if rounded == value else f"≈{text}"


def _plain(value: Decimal) -> str:
    if value == value.to_integral_value():
        return str(value.quantize(Decimal(1)))
    return format(value.normalize(), "f")


def parse_decimal(field: str, text: str) -> Decimal:
    """Parse a command-line number exactly (``"2.5"`` is exactly 2.5, never a float)."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise InvalidInputError(field, f"{text!r} is not a number", "a decimal number") from None
    if not value.is_finite():
        raise InvalidInputError(field, f"{text!r} is not a finite number", "a decimal number")
    return value


def library_from(clinic_files: list[Path] | None) -> Library:
    """The embedded library plus any ``--clinic-file`` given."""
    return load_library(tuple(clinic_files or ()))
