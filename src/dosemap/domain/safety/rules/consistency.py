"""Is the plan internally consistent, and do its numbers fit the product it names?"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from dosemap.domain.dosing import STOCK_PREFIX, botox_equivalent_units, units_for_volume
from dosemap.domain.errors import UnknownNameError
from dosemap.domain.safety import finding as codes
from dosemap.domain.safety._fmt import span, units
from dosemap.domain.safety.finding import Finding
from dosemap.domain.safety.inputs import Inputs


def preset_botox_range(inputs: Inputs) -> tuple[Decimal, Decimal] | None:
    """Lowest and highest per-point dose of the library's presets, in Botox-equivalent units
    at the default ratio. Presets whose ratio is not a potency ratio are left out."""
    library = inputs.library
    per_point: list[Decimal] = []
    for protocol in library.protocols.values():
        try:
            conversion = library.conversion(protocol.stock.product)
            if not conversion.is_potency_ratio:
                continue
            dose = units_for_volume(
                protocol.volume_per_point_ul.value, protocol.working_units_per_ml.value
            )
            botox = botox_equivalent_units(dose, protocol.stock.product, library).default
        except UnknownNameError:
            continue
        per_point.append(botox)
    if not per_point:
        return None
    return min(per_point), max(per_point)


def _at_published_total(inputs: Inputs) -> bool:
    """The plan follows its preset's published total (same product, not above it): its doses
    are the published protocol's own, however many points they are spread over."""
    protocol = inputs.protocol
    return (
        protocol is not None
        and protocol.published_total_units is not None
        and protocol.stock.product == inputs.product.id
        and inputs.total_units <= protocol.published_total_units.value
    )


def units_look_like_other_product(inputs: Inputs) -> Iterator[Finding]:
    """DM401: a per-point dose implausible for the plan's product, typical as another's."""
    library = inputs.library
    product = inputs.product
    preset = preset_botox_range(inputs)
    if preset is None or not inputs.plan.points or _at_published_total(inputs):
        return
    low, high = preset
    try:
        if not library.conversion(product.id).is_potency_ratio:
            return
    except UnknownNameError:
        return
    doses = sorted({p.units for p in inputs.plan.points})
    implausible: list[Decimal] = []
    for dose in doses:
        botox = botox_equivalent_units(dose, product.id, library)
        if botox.high < low or botox.low > high:
            implausible.append(dose)
    if not implausible:
        return
    own_ratio = library.conversion(product.id).units_per_botox_unit.value
    by_ratio: dict[Decimal, list[str]] = {}
    for other_id in sorted(library.conversions):
        other = library.conversions[other_id]
        ratio = other.units_per_botox_unit.value
        if other.is_potency_ratio and other_id in library.products and ratio != own_ratio:
            by_ratio.setdefault(ratio, []).append(other_id)
    for ratio, others in sorted(by_ratio.items()):
        fits = [
            d
            for d in implausible
            if low <= botox_equivalent_units(d, others[0], library).default <= high
        ]
        if not fits:
            continue
        numbers = tuple(p.number for p in inputs.plan.points if p.units in fits)
        names = " / ".join(library.product(o).name for o in others)
        as_plan = botox_equivalent_units(min(fits), product.id, library)
        cited = library.conversion(product.id if own_ratio != 1 else others[0])
        yield inputs.finding(
            codes.UNITS_LOOK_LIKE_OTHER,
            f"{span(min(fits), max(fits), places=3)} per point of {product.name} ≈ "
            f"{units(as_plan.default, 3)} Botox-eq, outside the library presets' "
            f"{span(low, high, places=3)} Botox-eq per point; as {names} units it would be "
            f"typical. Check the product and the dilution ({len(numbers)} point(s))",
            rationale="Units differ between products (Botox : Dysport about 1 : 2.5); numbers "
            "copied from another product's protocol under- or over-dose several-fold.",
            source=cited.units_per_botox_unit.source,
            tag=cited.units_per_botox_unit.tag,
            values={
                "point_units_low": min(fits),
                "point_units_high": max(fits),
                "preset_botox_equivalent_low_units": low,
                "preset_botox_equivalent_high_units": high,
                "other_units_per_botox_unit": ratio,
            },
            point_numbers=numbers,
        )


def point_units(inputs: Inputs) -> Iterator[Finding]:
    """DM405: every point's units must be its volume times the mix concentration."""
    concentration = inputs.plan.mix.units_per_ml
    wrong: dict[str, list[tuple[int, Decimal, Decimal]]] = {}
    share = inputs.figure("point_units_tolerance_fraction")
    floor = inputs.figure("point_units_tolerance_units")
    for point in inputs.plan.points:
        expected = point.volume_ul * concentration / 1000
        allowed = max(expected * share, floor)
        if abs(point.units - expected) > allowed:
            wrong.setdefault(point.zone, []).append((point.number, point.units, expected))
    for zone, rows in sorted(wrong.items()):
        number, stated, expected = rows[0]
        yield inputs.finding(
            codes.POINT_UNITS_MISMATCH,
            f"{zone}: {len(rows)} point(s) whose units do not match volume × "
            f"{units(concentration)}/mL; e.g. point {number}: {units(stated, 3)} stated, "
            f"{units(expected, 3)} from its volume",
            rationale="What is injected is the volume; units that do not follow from it mean "
            "the totals and ceilings were checked on the wrong numbers.",
            source=None,
            tag=None,
            values={"stated_units": stated, "expected_units": expected},
            zone=zone,
            point_numbers=tuple(r[0] for r in rows),
        )


def vial_size(inputs: Inputs) -> Iterator[Finding]:
    """DM402: the stock vial is not a size the product is sold in."""
    sizes = inputs.product.vial_sizes_units
    vial = inputs.plan.mix.stock_vial_units
    if vial in sizes.value:
        return
    listed = ", ".join(units(s) for s in sizes.value)
    yield inputs.finding(
        codes.VIAL_SIZE_NOT_LABELLED,
        f"stock vial {units(vial)} is not a {inputs.product.name} vial size ({listed}); "
        "the dilution may be another product's",
        rationale="A vial size the product is not sold in usually means the dilution was "
        "copied from another product (e.g. a 100 U Botox dilution applied to Dysport).",
        source=sizes.source,
        tag=sizes.tag,
        values={"stock_vial_units": vial},
    )


def mix_product(inputs: Inputs) -> Iterator[Finding]:
    """DM403: the plan, its mix and the mix's stock ingredient must name one product."""
    plan = inputs.plan
    named = {plan.mix.product} | {
        c.ingredient.removeprefix(STOCK_PREFIX)
        for c in plan.mix.components
        if c.ingredient.startswith(STOCK_PREFIX)
    }
    if named != {plan.product}:
        yield inputs.finding(
            codes.MIX_PRODUCT_MISMATCH,
            f"plan product {plan.product!r} but the mix names {', '.join(sorted(named))}; "
            f"units per point were computed for {plan.mix.product!r}",
            rationale="Units of one product are not units of another; the doses are wrong for "
            "one of them.",
            source=None,
            tag=None,
        )
