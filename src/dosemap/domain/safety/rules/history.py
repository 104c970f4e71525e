"""Treatment history: retreatment interval, boosters, rolling 90-day cumulative dose."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from dosemap.domain.dosing import botox_equivalent_units
from dosemap.domain.errors import UnknownNameError
from dosemap.domain.intake import PriorTreatment
from dosemap.domain.safety import finding as codes
from dosemap.domain.safety._fmt import num, span, units
from dosemap.domain.safety.finding import Finding
from dosemap.domain.safety.inputs import Inputs


@dataclass(frozen=True)
class _Converted:
    default: Decimal
    low: Decimal
    high: Decimal
    known: bool


def _botox(units_: Decimal, product: str, inputs: Inputs) -> _Converted:
    try:
        result = botox_equivalent_units(units_, product, inputs.library)
    except UnknownNameError:
        return _Converted(units_, units_, units_, known=False)
    return _Converted(result.default, result.low, result.high, known=True)


def _days_before(treatment: PriorTreatment, inputs: Inputs) -> int:
    assert inputs.reference_date is not None
    return (inputs.reference_date - treatment.treated_on).days


def _label(treatment: PriorTreatment) -> str:
    return f"{units(treatment.units)} {treatment.product} on {treatment.treated_on.isoformat()}"


def retreatment(inputs: Inputs) -> Iterator[Finding]:
    """DM501/DM502: prior treatments closer than the minimum interval, or within 21 days."""
    if inputs.reference_date is None or (inputs.intake is None and not inputs.prior_treatments):
        return
    # The session's most conservative interval (its products' longest minimum).
    own = max((part.product.min_retreatment_days for part in inputs.plans), key=lambda c: c.value)
    booster = inputs.library.figure("booster_days")
    for treatment in sorted(inputs.prior_treatments, key=lambda t: t.treated_on):
        days = _days_before(treatment, inputs)
        if days < 0:
            continue  # recorded after this treatment date: not history for this plan
        minimum = own
        prior_product = inputs.library.products.get(treatment.product)
        if prior_product is not None and prior_product.min_retreatment_days.value > own.value:
            minimum = prior_product.min_retreatment_days
        zones = ", ".join(treatment.zones) or "zones not recorded"
        if days < minimum.value:
            yield inputs.finding(
                codes.RETREATMENT_INTERVAL,
                f"{_label(treatment)} ({zones}) was {days} days ago; minimum interval "
                f"{minimum.value} days ({inputs.cite(minimum.source)})",
                rationale="Labels: lowest effective dose at the longest feasible interval; "
                "injections under 3 months apart raise the risk of neutralising antibodies "
                "and of additive weakness.",
                source=minimum.source,
                tag=minimum.tag,
                values={
                    "days_since": Decimal(days),
                    "minimum_days": Decimal(minimum.value),
                    "prior_units": treatment.units,
                },
            )
        if days < booster.value:
            yield inputs.finding(
                codes.BOOSTER_21_DAYS,
                f"{_label(treatment)} ({zones}) was {days} days ago, within "
                f"{num(booster.value)} days: a booster ({inputs.cite(booster.source)})",
                rationale=booster.note or "",
                source=booster.source,
                tag=booster.tag,
                values={"days_since": Decimal(days), "booster_days": booster.value},
            )


def _window(inputs: Inputs) -> tuple[int, list[PriorTreatment]]:
    days = int(inputs.figure("cumulative_window_days"))
    recent = [t for t in inputs.prior_treatments if 0 <= _days_before(t, inputs) < days]
    return days, recent


def cumulative(inputs: Inputs) -> Iterator[Finding]:
    """DM503-DM506: the rolling Botox-equivalent total including this plan, against the old
    label limit and the clinic's own threshold; the totals themselves, by area."""
    if inputs.reference_date is None or (inputs.intake is None and not inputs.prior_treatments):
        return
    for treatment in sorted(inputs.prior_treatments, key=lambda t: (t.treated_on, t.product)):
        if treatment.product not in inputs.library.products:
            yield inputs.finding(
                codes.PRIOR_PRODUCT_UNKNOWN,
                f"prior treatment {_label(treatment)}: product not in the library; its units "
                "are counted 1:1 as Botox units in the rolling total",
                rationale="A product the library cannot convert is still toxin; counting it "
                "1:1 keeps it in the total instead of dropping it.",
                source=None,
                tag=None,
                values={"prior_units": treatment.units},
            )
    window, recent = _window(inputs)
    planned = [_botox(part.total_units, part.product.id, inputs) for part in inputs.plans]
    plan = _Converted(
        sum((p.default for p in planned), Decimal(0)),
        sum((p.low for p in planned), Decimal(0)),
        sum((p.high for p in planned), Decimal(0)),
        known=all(p.known for p in planned),
    )
    parts = [plan] + [_botox(t.units, t.product, inputs) for t in recent]
    default = sum((p.default for p in parts), Decimal(0))
    low = sum((p.low for p in parts), Decimal(0))
    high = sum((p.high for p in parts), Decimal(0))
    values = {
        "cumulative_botox_equivalent_units": default,
        "cumulative_botox_equivalent_low_units": low,
        "cumulative_botox_equivalent_high_units": high,
        "plan_botox_equivalent_units": plan.default,
        "window_days": Decimal(window),
    }
    total = (
        f"{window}-day total {units(default)} Botox-eq (range {span(low, high)}: this plan "
        f"{units(plan.default)} + {len(recent)} prior treatment(s))"
    )
    thresholds = (
        (
            codes.CUMULATIVE_90_DAYS,
            inputs.library.figure("cumulative_label_threshold_units"),
            "an intramuscular limit, not a micro-dose one",
        ),
        (
            codes.CUMULATIVE_CLINIC,
            inputs.library.figure("cumulative_clinic_threshold_units"),
            "the clinic's cumulative threshold",
        ),
    )
    for code, threshold, what in thresholds:
        if high <= threshold.value:
            continue
        yield inputs.finding(
            code,
            f"{total} > {units(threshold.value)} ({inputs.cite(threshold.source)}; {what})",
            rationale=threshold.note or "",
            source=threshold.source,
            tag=threshold.tag,
            values=values | {"threshold_units": threshold.value},
        )
    yield from _rolling_totals(inputs, total, values, recent)


def _rolling_totals(
    inputs: Inputs, total: str, values: dict[str, Decimal], recent: list[PriorTreatment]
) -> Iterator[Finding]:
    """DM506: the rolling totals by area (zones of this plan and of the prior treatments)."""
    areas: dict[str, Decimal] = {}
    for part in inputs.plans:
        for zone, zone_units in part.zone_units.items():
            botox = _botox(zone_units, part.product.id, inputs).default
            areas[zone] = areas.get(zone, Decimal(0)) + botox
    unplaced = Decimal(0)
    for treatment in recent:
        botox = _botox(treatment.units, treatment.product, inputs).default
        if not treatment.zones:
            unplaced += botox
            continue
        share = botox / len(treatment.zones)  # spread evenly: the record gives no split
        for zone in treatment.zones:
            areas[zone] = areas.get(zone, Decimal(0)) + share
    by_area = ", ".join(f"{zone} {units(areas[zone])}" for zone in sorted(areas))
    if unplaced:
        by_area += f"; zones not recorded {units(unplaced)}"
    threshold = inputs.library.figure("cumulative_clinic_threshold_units")
    yield inputs.finding(
        codes.ROLLING_TOTALS,
        f"{total}; by area (Botox-eq): {by_area}; clinic threshold "
        f"{units(threshold.value)} [{threshold.tag.value}]",
        rationale="Cumulative exposure across sessions and products, in Botox-equivalent units "
        "(labels: units are not interchangeable; the range shows the conversion's spread). A "
        "prior treatment's units are spread evenly over its recorded zones.",
        source=threshold.source,
        tag=threshold.tag,
        values=values | {f"area_{zone}_botox_equivalent_units": areas[zone] for zone in areas},
    )
