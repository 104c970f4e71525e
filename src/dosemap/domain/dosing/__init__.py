"""Exact dose arithmetic (see :mod:`dosemap.domain.dosing.core`), syringe marks and cost."""

from __future__ import annotations

from dosemap.domain.concentration import Concentration, reconstitute
from dosemap.domain.dosing.core import (
    BOTOX,
    SALINE,
    STOCK_PREFIX,
    UnitConversionResult,
    beyond_use_at,
    botox_equivalent_units,
    convert_units,
    draw_up,
    units_for_volume,
    vials_needed,
    volume_for_units,
    working_mix,
)
from dosemap.domain.dosing.cost import ClinicPrices, CostEstimate, estimate_cost
from dosemap.domain.dosing.syringes import SYRINGES, Syringe, SyringeReading, syringe, syringe_marks

__all__ = [
    "BOTOX",
    "SALINE",
    "STOCK_PREFIX",
    "SYRINGES",
    "ClinicPrices",
    "Concentration",
    "CostEstimate",
    "Syringe",
    "SyringeReading",
    "UnitConversionResult",
    "beyond_use_at",
    "botox_equivalent_units",
    "convert_units",
    "draw_up",
    "estimate_cost",
    "reconstitute",
    "syringe",
    "syringe_marks",
    "units_for_volume",
    "vials_needed",
    "volume_for_units",
    "working_mix",
]
