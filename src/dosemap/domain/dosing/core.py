"""Exact dose arithmetic: reconstitution, working mixes, draw-up, vials, unit conversion.

Every dose and volume is a :class:`~decimal.Decimal` and every name carries its unit. The
arithmetic is exact wherever the result terminates (``100 U / 2.5 mL`` is exactly ``40``);
a non-terminating quotient (``100 U / 3 mL``) is given to 28 significant digits. Nothing is
rounded here: rounding is for display only.

Floats are refused: ``Decimal(0.1)`` is not one tenth, and a dose error harms a face.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

from dosemap.domain.concentration import (
    MAX_UNITS_PER_ML,
    MAX_VIAL_UNITS,
    reconstitute,
)
from dosemap.domain.errors import InvalidInputError
from dosemap.domain.exact import UL_PER_ML as _UL_PER_ML
from dosemap.domain.exact import check_range as _check
from dosemap.domain.exact import tidy as _tidy
from dosemap.domain.exact import to_decimal as _to_decimal
from dosemap.domain.library.models import BeyondUsePolicy
from dosemap.domain.plan import DrawUpLine, MixComponentAmount, WorkingMix

if TYPE_CHECKING:
    from dosemap.domain.library import Library

_ROUNDING_SLACK = Fraction(1, 10**24)

#: Ingredient id the saline top-up of a working mix is recorded under.
SALINE = "saline"
#: Prefix of the ingredient id of the reconstituted toxin in a working mix.
STOCK_PREFIX = "stock:"

# Plausibility limits (see dosemap.domain.concentration for the vial and concentration ones).
MAX_VOLUME_UL = Decimal("20000")
MAX_UNITS = Decimal("2000")
MAX_DEAD_SPACE_UL = Decimal("1000")


def units_for_volume(volume_ul: Decimal, units_per_ml: Decimal) -> Decimal:
    """Toxin units in ``volume_ul`` µL of a solution of ``units_per_ml``. Always exact.

    Examples
    --------
    >>> units_for_volume(Decimal(10), Decimal(20))
    Decimal('0.2')
    """
    volume = _check(
        "volume_ul", volume_ul, low=Decimal(0), high=MAX_VOLUME_UL, unit="µL", low_inclusive=True
    )
    concentration = _check(
        "units_per_ml", units_per_ml, low=Decimal(0), high=MAX_UNITS_PER_ML, unit="U/mL"
    )
    return _to_decimal(volume * concentration / _UL_PER_ML)


def volume_for_units(units: Decimal, units_per_ml: Decimal) -> Decimal:
    """Microlitres of a ``units_per_ml`` solution that hold ``units`` toxin units.

    Examples
    --------
    >>> volume_for_units(Decimal("0.2"), Decimal(20))
    Decimal('10')
    """
    amount = _check("units", units, low=Decimal(0), high=MAX_UNITS, unit="U", low_inclusive=True)
    concentration = _check(
        "units_per_ml", units_per_ml, low=Decimal(0), high=MAX_UNITS_PER_ML, unit="U/mL"
    )
    return _to_decimal(amount * _UL_PER_ML / concentration)


# --------------------------------------------------------------------------- working mix


def working_mix(
    product: str,
    stock_vial_units: Decimal,
    stock_diluent_ml: Decimal,
    *,
    target_units_per_ml: Decimal | None = None,
    adjunct_ml_per_ml: Mapping[str, Decimal] = {},
    adjunct_is_ha: Mapping[str, bool] = {},
) -> WorkingMix:
    """The solution in the syringe: reconstituted stock plus adjuncts.

    Parameters
    ----------
    product
        Product id of the toxin.
    stock_vial_units, stock_diluent_ml
        How the vial was reconstituted (the stock).
    target_units_per_ml
        Wanted final concentration. The stock is then ``target / stock`` of every droplet, the
        adjuncts take the mL per mL given, and saline tops up the rest. Without it the stock is
        whatever the adjuncts leave (``1 - sum(adjuncts)``) and there is no top-up.
    adjunct_ml_per_ml
        Adjunct id -> mL of that adjunct per mL of finished mix (``{"lidocaine": 0.1}``).
    adjunct_is_ha
        Adjunct id -> whether it is hyaluronic acid (flags the mix for vascular-occlusion rules).

    Returns
    -------
    WorkingMix
        ``units_per_ml`` of the mix and each ingredient's fraction of every droplet; the
        fractions sum to exactly 1 (saline, or else the stock, absorbs any 28-digit rounding).

    Raises
    ------
    InvalidInputError
        Target above the stock concentration, adjuncts that do not fit, bad numbers.
    """
    if not product:
        raise InvalidInputError("product", "is empty", "a product id")
    stock = reconstitute(stock_vial_units, stock_diluent_ml)
    # Exact vial/diluent ratio, not the 28-digit Decimal of a non-terminating concentration.
    stock_upm = Fraction(Decimal(stock_vial_units)) / Fraction(Decimal(stock_diluent_ml))
    adjuncts: dict[str, Fraction] = {}
    for name, ml in adjunct_ml_per_ml.items():
        if not name or name.startswith(STOCK_PREFIX):
            raise InvalidInputError("adjunct", f"{name!r} is not an adjunct id", "an adjunct id")
        adjuncts[name] = _check(
            f"adjunct_ml_per_ml[{name}]",
            ml,
            low=Decimal(0),
            high=Decimal(1),
            unit="mL per mL of mix",
            low_inclusive=True,
        )
    adjunct_total = sum(adjuncts.values(), Fraction(0))

    if target_units_per_ml is None:
        stock_fraction = 1 - adjunct_total
        if stock_fraction <= 0:
            raise InvalidInputError(
                "adjunct_ml_per_ml",
                f"adjuncts add up to {_to_decimal(adjunct_total)} mL per mL, leaving no toxin",
                "a sum < 1 mL per mL of mix",
            )
        units_per_ml = _to_decimal(stock_upm * stock_fraction)
        top_up = Fraction(0)
    else:
        target = _check(
            "target_units_per_ml",
            target_units_per_ml,
            low=Decimal(0),
            high=stock.units_per_ml,
            unit="U/mL (the stock concentration)",
        )
        stock_fraction = target / stock_upm
        room = 1 - stock_fraction
        # A target typed from a rounded (28-digit) stock concentration may overshoot the room
        # by far less than any syringe can measure; that is not an error.
        if room < adjunct_total <= room + _ROUNDING_SLACK:
            room = adjunct_total
        if adjunct_total > room:
            raise InvalidInputError(
                "adjunct_ml_per_ml",
                f"adjuncts add up to {_to_decimal(adjunct_total)} mL per mL but only "
                f"{_to_decimal(room)} mL per mL is left beside the stock",
                f"a sum <= {_to_decimal(room)} mL per mL of mix",
            )
        units_per_ml = Decimal(target_units_per_ml)
        top_up = room - adjunct_total

    amounts: dict[str, Decimal] = {f"{STOCK_PREFIX}{product}": _to_decimal(stock_fraction)}
    for name, fraction in adjuncts.items():
        amounts[name] = _to_decimal(fraction)
    if top_up > 0:
        amounts[SALINE] = _to_decimal(adjuncts.get(SALINE, Fraction(0)) + top_up)
    # Rounding of a non-terminating stock fraction goes to the saline (or the stock) so the
    # recorded fractions sum to exactly 1.
    absorber = SALINE if SALINE in amounts and top_up > 0 else f"{STOCK_PREFIX}{product}"
    others = sum((v for k, v in amounts.items() if k != absorber), Decimal(0))
    amounts[absorber] = _tidy(Decimal(1) - others)

    return WorkingMix(
        product=product,
        stock_vial_units=Decimal(stock_vial_units),
        stock_diluent_ml=Decimal(stock_diluent_ml),
        units_per_ml=_tidy(units_per_ml),
        components=tuple(
            MixComponentAmount(ingredient=name, fraction=fraction)
            for name, fraction in amounts.items()
        ),
        contains_hyaluronic_acid=any(
            adjunct_is_ha.get(name, False) and fraction > 0 for name, fraction in adjuncts.items()
        ),
    )


def draw_up(
    mix: WorkingMix, total_volume_ul: Decimal, dead_space_ul: Decimal
) -> tuple[DrawUpLine, ...]:
    """Millilitres of each ingredient to draw up for ``total_volume_ul`` of injections.

    ``dead_space_ul`` (hub and needle; the library's ``dead_space_ul`` figure by default in
    the planner and ``dosemap dilute``) is added to the total before splitting.

    Examples
    --------
    >>> mix = working_mix("botox_cosmetic", Decimal(100), Decimal("2.5"),
    ...                   target_units_per_ml=Decimal(20))
    >>> [(line.ingredient, line.volume_ml) for line in draw_up(mix, Decimal(950), Decimal(50))]
    [('stock:botox_cosmetic', Decimal('0.5')), ('saline', Decimal('0.5'))]
    """
    total = _check(
        "total_volume_ul",
        total_volume_ul,
        low=Decimal(0),
        high=MAX_VOLUME_UL,
        unit="µL",
        low_inclusive=True,
    )
    dead = _check(
        "dead_space_ul",
        dead_space_ul,
        low=Decimal(0),
        high=MAX_DEAD_SPACE_UL,
        unit="µL",
        low_inclusive=True,
    )
    total_ml = (total + dead) / _UL_PER_ML
    return tuple(
        DrawUpLine(
            ingredient=component.ingredient,
            volume_ml=_to_decimal(total_ml * Fraction(component.fraction)),
        )
        for component in mix.components
    )


def vials_needed(total_units: Decimal, vial_units: Decimal) -> tuple[int, Decimal]:
    """Whole vials to open for ``total_units`` and the units left over in them.

    Examples
    --------
    >>> vials_needed(Decimal(120), Decimal(100))
    (2, Decimal('80'))
    """
    total = _check(
        "total_units", total_units, low=Decimal(0), high=MAX_UNITS, unit="U", low_inclusive=True
    )
    vial = _check("vial_units", vial_units, low=Decimal(0), high=MAX_VIAL_UNITS, unit="U")
    quotient = total / vial
    vials = int(-(-quotient.numerator // quotient.denominator))  # ceiling
    return vials, _to_decimal(vials * vial - total)


def beyond_use_at(reconstituted_at: datetime, policy: BeyondUsePolicy) -> datetime:
    """When a vial reconstituted at ``reconstituted_at`` must be discarded under ``policy``.

    ``reconstituted_at`` must be timezone-aware: a clinic's wall clock is ambiguous across
    daylight-saving changes.
    """
    if reconstituted_at.tzinfo is None or reconstituted_at.utcoffset() is None:
        raise InvalidInputError(
            "reconstituted_at", "has no time zone", "a timezone-aware date and time"
        )
    return reconstituted_at + timedelta(hours=policy.hours.value)


# --------------------------------------------------------------------------- unit conversion


@dataclass(frozen=True)
class UnitConversionResult:
    """Units of one product expressed in another's units, with the published range.

    Labels state that units are not interchangeable: this is a clinical convention, shown with
    its range, caveat and sources, never applied silently. ``is_potency_ratio`` is false when
    either ratio compares label doses rather than potency (Daxxify); such a result must not be
    presented as an equivalence.
    """

    units: Decimal
    from_product: str
    to_product: str
    default: Decimal
    low: Decimal
    high: Decimal
    is_potency_ratio: bool
    caveat: str
    sources: tuple[str, ...]
    tags: tuple[str, ...]


def convert_units(
    units: Decimal, from_product: str, to_product: str, library: Library
) -> UnitConversionResult:
    """Convert ``units`` of ``from_product`` into ``to_product`` units via Botox units.

    ``low``/``high`` combine the extremes of both published ranges (widest honest interval).
    """
    amount = _check("units", units, low=Decimal(0), high=MAX_UNITS, unit="U", low_inclusive=True)
    library.product(from_product)
    library.product(to_product)
    if from_product == to_product:
        exact = Decimal(units)
        return UnitConversionResult(
            units=exact,
            from_product=from_product,
            to_product=to_product,
            default=exact,
            low=exact,
            high=exact,
            is_potency_ratio=True,
            caveat="Same product: no conversion.",
            sources=(),
            tags=(),
        )
    src = library.conversion(from_product)
    dst = library.conversion(to_product)
    src_default = Fraction(src.units_per_botox_unit.value)
    dst_default = Fraction(dst.units_per_botox_unit.value)
    caveats = [src.caveat] + ([dst.caveat] if dst.caveat != src.caveat else [])
    return UnitConversionResult(
        units=Decimal(units),
        from_product=from_product,
        to_product=to_product,
        default=_to_decimal(amount / src_default * dst_default),
        low=_to_decimal(amount / Fraction(src.high) * Fraction(dst.low)),
        high=_to_decimal(amount / Fraction(src.low) * Fraction(dst.high)),
        is_potency_ratio=src.is_potency_ratio and dst.is_potency_ratio,
        caveat=" ".join(caveats),
        sources=tuple(
            dict.fromkeys((src.units_per_botox_unit.source, dst.units_per_botox_unit.source))
        ),
        tags=tuple(
            dict.fromkeys((src.units_per_botox_unit.tag.value, dst.units_per_botox_unit.tag.value))
        ),
    )


#: Product id whose units the conversion table is expressed in.
BOTOX = "botox_cosmetic"


def botox_equivalent_units(units: Decimal, product: str, library: Library) -> UnitConversionResult:
    """``units`` of ``product`` expressed in onabotulinumtoxinA (Botox Cosmetic) units."""
    return convert_units(units, product, BOTOX, library)
