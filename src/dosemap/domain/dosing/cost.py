"""Cost estimate of a session from a clinic's own prices.

Prices are the clinic's: dosemap ships none. A vial opened for one patient is paid in full
unless the clinic shares vials (see the beyond-use policies), so both figures are given.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from dosemap.domain.concentration import MAX_VIAL_UNITS
from dosemap.domain.dosing.core import MAX_UNITS, vials_needed
from dosemap.domain.errors import InvalidInputError
from dosemap.domain.exact import check_range, to_decimal

MAX_PRICE = Decimal("100000")


@dataclass(frozen=True)
class ClinicPrices:
    """A clinic's prices: per vial or per unit (exactly one), plus consumables per session."""

    currency: str
    price_per_vial: Decimal | None = None
    price_per_unit: Decimal | None = None
    consumables_per_session: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        if (self.price_per_vial is None) == (self.price_per_unit is None):
            raise InvalidInputError(
                "price", "give a price per vial or a price per unit", "exactly one of the two"
            )
        if not self.currency or len(self.currency) > 8:
            raise InvalidInputError("currency", "is empty or too long", "a code such as USD, EUR")
        for name in ("price_per_vial", "price_per_unit"):
            value = getattr(self, name)
            if value is not None:
                check_range(name, value, low=Decimal(0), high=MAX_PRICE, unit=self.currency)
        check_range(
            "consumables_per_session",
            self.consumables_per_session,
            low=Decimal(0),
            high=MAX_PRICE,
            unit=self.currency,
            low_inclusive=True,
        )


@dataclass(frozen=True)
class CostEstimate:
    """Toxin cost for whole vials opened and for the units used only, plus consumables.

    ``total`` is the conservative figure: whole vials plus consumables.
    """

    currency: str
    vials_opened: int
    toxin_cost_whole_vials: Decimal
    toxin_cost_units_used: Decimal
    consumables: Decimal
    total: Decimal


def estimate_cost(total_units: Decimal, vial_units: Decimal, prices: ClinicPrices) -> CostEstimate:
    """Estimate a session's cost.

    Examples
    --------
    A whole-face session from one 100 U vial at a clinic price of 5 per unit:

    >>> prices = ClinicPrices("USD", price_per_unit=Decimal(5))
    >>> estimate_cost(Decimal(100), Decimal(100), prices).total
    Decimal('500')
    """
    units = check_range(
        "total_units", total_units, low=Decimal(0), high=MAX_UNITS, unit="U", low_inclusive=True
    )
    vial = check_range("vial_units", vial_units, low=Decimal(0), high=MAX_VIAL_UNITS, unit="U")
    vials, _ = vials_needed(Decimal(total_units), Decimal(vial_units))
    if prices.price_per_vial is not None:
        per_unit = Fraction(prices.price_per_vial) / vial
    else:
        assert prices.price_per_unit is not None
        per_unit = Fraction(prices.price_per_unit)
    whole = per_unit * vial * vials
    consumables = Fraction(prices.consumables_per_session)
    return CostEstimate(
        currency=prices.currency,
        vials_opened=vials,
        toxin_cost_whole_vials=to_decimal(whole),
        toxin_cost_units_used=to_decimal(per_unit * units),
        consumables=to_decimal(consumables),
        total=to_decimal(whole + consumables),
    )
