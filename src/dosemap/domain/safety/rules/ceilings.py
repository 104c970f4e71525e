"""Dose ceilings: the preset's, the label's, and the published per-cheek / jawline / neck caps."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

from dosemap.domain.dosing import BOTOX, botox_equivalent_units, convert_units
from dosemap.domain.errors import UnknownNameError
from dosemap.domain.evidence import Cited
from dosemap.domain.safety import finding as codes
from dosemap.domain.safety._fmt import span, units
from dosemap.domain.safety.finding import CATALOGUE, Code, Finding
from dosemap.domain.safety.inputs import Inputs


class Outcome(Enum):
    """How a total compares with a ceiling."""

    WITHIN = "within"
    EXCEEDS = "exceeds"  # above the ceiling (at the default conversion ratio)
    IN_RANGE = "in_range"  # within at the default ratio, above at the range's high end
    NOT_COMPARABLE = "not_comparable"


@dataclass(frozen=True)
class Comparison:
    """A total (in the plan product's units) against a ceiling in ``ceiling_product`` units."""

    outcome: Outcome
    text: str
    values: dict[str, Decimal]


def compare_parts(
    inputs: Inputs,
    parts: list[tuple[Decimal, str]],
    ceiling: Decimal,
    ceiling_product: str,
) -> Comparison:
    """Several products' totals ``(units, product)`` against one ceiling: each converted to the
    ceiling's product with the conversion's range, then added (one product: as :func:`compare`)."""
    parts = [(total, product) for total, product in parts if total]
    products = {product for _, product in parts}
    if len(products) <= 1:
        total = sum((t for t, _ in parts), Decimal(0))
        product = parts[0][1] if parts else inputs.product.id
        return _compare_one(inputs, total, product, ceiling, ceiling_product)
    library = inputs.library
    ceiling_name = library.products.get(ceiling_product)
    other = ceiling_name.name if ceiling_name else ceiling_product
    listed = " + ".join(f"{units(t)} {library.product(p).name}" for t, p in parts)
    values = {"ceiling_units": ceiling}
    try:
        converted = [convert_units(t, p, ceiling_product, library) for t, p in parts]
        botox = [botox_equivalent_units(t, p, library) for t, p in parts]
    except UnknownNameError:
        return Comparison(
            Outcome.NOT_COMPARABLE,
            f"{listed}; ceiling {units(ceiling)} {other} (no unit conversion in the library for "
            "one of the products)",
            values,
        )
    default = sum((c.default for c in converted), Decimal(0))
    low = sum((c.low for c in converted), Decimal(0))
    high = sum((c.high for c in converted), Decimal(0))
    values |= {
        "total_units": default,
        "converted_units": default,
        "converted_low_units": low,
        "converted_high_units": high,
        "botox_equivalent_units": sum((b.default for b in botox), Decimal(0)),
        "botox_equivalent_low_units": sum((b.low for b in botox), Decimal(0)),
        "botox_equivalent_high_units": sum((b.high for b in botox), Decimal(0)),
    }
    if default > ceiling:
        outcome, verdict = Outcome.EXCEEDS, "above it"
    elif high > ceiling:
        outcome = Outcome.IN_RANGE
        verdict = "within it at the default ratio, above it at the range's high end"
    else:
        outcome, verdict = Outcome.WITHIN, "within it"
    text = (
        f"{listed} ≈ {units(default)} {other} (range {span(low, high)}) vs ceiling "
        f"{units(ceiling)} {other}: {verdict}"
    )
    return Comparison(outcome, text, values)


def compare(inputs: Inputs, total: Decimal, ceiling: Decimal, ceiling_product: str) -> Comparison:
    """This plan's ``total`` (in its product's units) against a ceiling."""
    return _compare_one(inputs, total, inputs.product.id, ceiling, ceiling_product)


def _compare_one(
    inputs: Inputs, total: Decimal, product_id: str, ceiling: Decimal, ceiling_product: str
) -> Comparison:
    """Compare in the product's own units, or via the conversion range when the ceiling is
    stated in another product's units (the comparison then also shows Botox-equivalent units)."""
    product = inputs.library.product(product_id)
    values = {"total_units": total, "ceiling_units": ceiling}
    if ceiling_product == product.id:
        outcome = Outcome.EXCEEDS if total > ceiling else Outcome.WITHIN
        sign = ">" if total > ceiling else "≤"
        return Comparison(outcome, f"{units(total)} {sign} ceiling {units(ceiling)}", values)
    ceiling_name = inputs.library.products.get(ceiling_product)
    other = ceiling_name.name if ceiling_name else ceiling_product
    try:
        converted = convert_units(total, product.id, ceiling_product, inputs.library)
        botox = botox_equivalent_units(total, product.id, inputs.library)
        ceiling_botox = botox_equivalent_units(ceiling, ceiling_product, inputs.library)
    except UnknownNameError:
        return Comparison(
            Outcome.NOT_COMPARABLE,
            f"{units(total)} {product.name}; ceiling {units(ceiling)} {other} "
            "(no unit conversion in the library for one of the two products)",
            values,
        )
    values |= {
        "converted_units": converted.default,
        "converted_low_units": converted.low,
        "converted_high_units": converted.high,
        "botox_equivalent_units": botox.default,
        "botox_equivalent_low_units": botox.low,
        "botox_equivalent_high_units": botox.high,
        "ceiling_botox_equivalent_units": ceiling_botox.default,
    }
    if converted.default > ceiling:
        outcome, verdict = Outcome.EXCEEDS, "above it"
    elif converted.high > ceiling:
        outcome = Outcome.IN_RANGE
        verdict = "within it at the default ratio, above it at the range's high end"
    else:
        outcome, verdict = Outcome.WITHIN, "within it"
    notes = []
    if converted.low != converted.high:
        notes.append(f"range {span(converted.low, converted.high)}")
    if BOTOX not in (product.id, ceiling_product) and botox.default != converted.default:
        notes.append(f"Botox-eq {span(botox.low, botox.high)}")
    if not converted.is_potency_ratio:
        notes.append("a label-dose ratio, not a potency ratio")
    detail = f" ({'; '.join(notes)})" if notes else ""
    ceiling_detail = (
        f" (Botox-eq {units(ceiling_botox.default)})"
        if ceiling_product != BOTOX and ceiling_botox.default != ceiling
        else ""
    )
    text = (
        f"{units(total)} {product.name} ≈ {units(converted.default)} {other}{detail} "
        f"vs ceiling {units(ceiling)} {other}{ceiling_detail}: {verdict}"
    )
    return Comparison(outcome, text, values)


def _findings(
    inputs: Inputs,
    code: Code,
    label: str,
    zones: frozenset[str] | None,
    total: Decimal,
    ceiling: Cited[Decimal],
    ceiling_product: str,
    rationale: str,
    parts: list[tuple[Decimal, str]] | None = None,
) -> Iterator[Finding]:
    if parts is None:
        result = compare(inputs, total, ceiling.value, ceiling_product)
    else:
        result = compare_parts(inputs, parts, ceiling.value, ceiling_product)
    chosen = {
        Outcome.EXCEEDS: code,
        Outcome.IN_RANGE: codes.CAP_CONVERSION_RANGE,
        Outcome.NOT_COMPARABLE: codes.CEILING_NOT_COMPARABLE,
    }.get(result.outcome)
    if chosen is None:
        return
    if zones is None:
        points: tuple[int, ...] = ()
    elif parts is None:
        points = inputs.points_in(zones)
    else:
        points = inputs.session_points_in(zones)
    note = _cap_note(inputs, chosen)
    if note is not None:
        published = inputs.protocol.published_total_units if inputs.protocol else None
        assert published is not None
        yield inputs.finding(
            codes.PRESET_EXCEEDS_CAP,
            f"{label}: {result.text} ({inputs.cite(ceiling.source)}); the preset says its "
            f"published protocol exceeds this cap: {note.value} ({inputs.cite(note.source)}); "
            f"plan total {units(inputs.total_units)} ≤ published {units(published.value)}",
            rationale=f"{rationale} Acknowledge it to follow the published protocol; above its "
            "published total the cap blocks.",
            source=note.source,
            tag=note.tag,
            values=result.values | {"published_total_units": published.value},
            zone=label,
            point_numbers=points,
        )
        return
    yield inputs.finding(
        chosen,
        f"{label}: {result.text} ({inputs.cite(ceiling.source)})",
        rationale=rationale,
        source=ceiling.source,
        tag=ceiling.tag,
        values=result.values,
        zone=label,
        point_numbers=points,
    )


def _cap_note(inputs: Inputs, code: Code) -> Cited[str] | None:
    """The preset's cited note when its published protocol exceeds this cap and the plan is
    within the published total; else ``None`` (the cap's own finding applies)."""
    protocol = inputs.protocol
    if protocol is None or protocol.published_total_units is None or len(inputs.plans) > 1:
        return None  # a session combining plans departs from the published protocol
    if inputs.product.id != protocol.stock.product:
        return None
    if inputs.total_units > protocol.published_total_units.value:
        return None
    for cap_note in protocol.cap_notes:
        if cap_note.finding == code.key:
            return cap_note.note
    return None


def _zone_label(zones: frozenset[str], inputs: Inputs) -> str:
    present = sorted(z for z in zones if z in inputs.zone_units)
    return " + ".join(present)


def protocol_ceilings(inputs: Inputs) -> Iterator[Finding]:
    """DM101/DM102: the selected preset's zone and session ceilings."""
    protocol = inputs.protocol
    if protocol is None:
        return
    unit_product = protocol.stock.product
    why = f"Ceiling of the selected preset {protocol.name!r}."
    for zone, ceiling in sorted(protocol.zone_ceiling_units.items()):
        if zone in inputs.zone_units:
            yield from _findings(
                inputs,
                codes.ZONE_CEILING,
                zone,
                frozenset({zone}),
                inputs.zone_units[zone],
                ceiling,
                unit_product,
                why,
            )
    if protocol.session_ceiling_units is not None:
        yield from _findings(
            inputs,
            codes.SESSION_CEILING,
            "session",
            None,
            inputs.total_units,
            protocol.session_ceiling_units,
            unit_product,
            why,
        )


def label_ceiling(inputs: Inputs) -> Iterator[Finding]:
    """DM103: each product's labelled maximum per session (intramuscular indications), its
    units added over the session's plans of that product."""
    for product_id in inputs.products:
        product = inputs.library.product(product_id)
        ceiling = product.session_ceiling_units
        if ceiling is None:
            continue
        mine = [part for part in inputs.plans if part.product.id == product_id]
        total = sum((part.total_units for part in mine), Decimal(0))
        yield from _findings(
            mine[0],
            codes.LABEL_SESSION_CEILING,
            "session",
            None,
            total,
            ceiling,
            product_id,
            f"{product.name} label maximum per session (set for intramuscular indications; "
            "no label covers intradermal use).",
        )


def literature_caps(inputs: Inputs) -> Iterator[Finding]:
    """DM104-DM106: published per-cheek, per-side jawline and neck + jawline session caps
    (the library's ``zone_caps``)."""
    by_key = {code.key: code for code in CATALOGUE}
    for cap_id in sorted(inputs.library.zone_caps):
        cap = inputs.library.zone_caps[cap_id]
        zones = frozenset(cap.zones)
        label = " + ".join(
            sorted({z for part in inputs.plans for z in zones if z in part.zone_units})
        )
        if not label:
            continue
        parts = [
            (sum((p.zone_units[z] for z in zones if z in p.zone_units), Decimal(0)), p.product.id)
            for p in inputs.plans
        ]
        total = sum((t for t, _ in parts), Decimal(0))
        yield from _findings(
            inputs,
            by_key[cap.finding],
            label,
            zones,
            total,
            cap.ceiling_units,
            cap.product,
            cap.rationale,
            parts=parts if len(inputs.plans) > 1 else None,
        )


def summary_consistency(inputs: Inputs) -> Iterator[Finding]:
    """DM109: the plan's summary must agree with its points."""
    summary = inputs.plan.summary
    problems: list[str] = []
    values: dict[str, Decimal] = {}
    if summary.total_units != inputs.total_units:
        problems.append(
            f"summary total {units(summary.total_units)} ≠ {units(inputs.total_units)} "
            "summed over the points"
        )
        values |= {
            "summary_total_units": summary.total_units,
            "points_total_units": inputs.total_units,
        }
    for zone in summary.zones:
        actual = inputs.zone_units.get(zone.zone, Decimal(0))
        if zone.units != actual:
            problems.append(f"{zone.zone}: summary {units(zone.units)} ≠ points {units(actual)}")
    if summary.needle_entries != len(inputs.plan.points):
        problems.append(
            f"summary needle entries {summary.needle_entries} ≠ {len(inputs.plan.points)} points"
        )
    if problems:
        yield inputs.finding(
            codes.SUMMARY_MISMATCH,
            "; ".join(problems),
            rationale="Totals the injector reads must be the totals that are injected.",
            source=None,
            tag=None,
            values=values,
        )
