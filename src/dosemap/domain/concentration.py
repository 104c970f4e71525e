"""Toxin concentration after reconstitution, exact.

Below both the dose arithmetic (:mod:`dosemap.domain.dosing`) and the reference library's
checks (:mod:`dosemap.domain.library.build`), so that neither imports the other's package.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from dosemap.domain.exact import UL_PER_ML as _UL_PER_ML
from dosemap.domain.exact import check_range as _check
from dosemap.domain.exact import to_decimal as _to_decimal

# Plausibility limits: far outside anything published, so they only catch typing errors
# (a misplaced decimal point, mL typed as µL), never a clinician's legitimate choice.
MAX_VIAL_UNITS = Decimal("1000")
MAX_DILUENT_ML = Decimal("20")
MAX_UNITS_PER_ML = Decimal("1000")


@dataclass(frozen=True)
class Concentration:
    """Toxin concentration of a solution, exact.

    Parameters
    ----------
    units_per_ml
        Toxin units per millilitre (> 0).

    Examples
    --------
    >>> Concentration(Decimal("40")).units_per_0_1_ml
    Decimal('4')
    """

    units_per_ml: Decimal

    def __post_init__(self) -> None:
        _check(
            "units_per_ml", self.units_per_ml, low=Decimal(0), high=MAX_UNITS_PER_ML, unit="U/mL"
        )

    @property
    def units_per_0_1_ml(self) -> Decimal:
        """Units in 0.1 mL, the figure labels and most injectors quote."""
        return _to_decimal(Fraction(self.units_per_ml) / 10)

    @property
    def units_per_ul(self) -> Decimal:
        """Units per microlitre (1 µL = 0.001 mL)."""
        return _to_decimal(Fraction(self.units_per_ml) / _UL_PER_ML)


def reconstitute(vial_units: Decimal, diluent_ml: Decimal) -> Concentration:
    """Concentration after adding ``diluent_ml`` of diluent to a vial of ``vial_units``.

    Examples
    --------
    >>> reconstitute(Decimal(100), Decimal("2.5")).units_per_0_1_ml
    Decimal('4')
    >>> reconstitute(Decimal(100), Decimal(8)).units_per_0_1_ml
    Decimal('1.25')
    """
    units = _check("vial_units", vial_units, low=Decimal(0), high=MAX_VIAL_UNITS, unit="U")
    ml = _check("diluent_ml", diluent_ml, low=Decimal(0), high=MAX_DILUENT_ML, unit="mL")
    return Concentration(_to_decimal(units / ml))
