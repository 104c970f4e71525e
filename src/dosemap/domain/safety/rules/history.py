"""Treatment history: retreatment interval, boosters, rolling 90-day cumulative dose."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from dosemap.domain.dosing import botox_equivalent_units
from dosemap.domain.errors import UnknownNameError
from dosemap.domain.evidence import Cited, EvidenceTag
from dosemap.domain.intake import PriorTreatment
from dosemap.domain.safety import finding as codes
from dosemap.domain.safety._fmt import span, units
from dosemap.domain.safety.finding import Finding
from dosemap.domain.safety.inputs import Inputs

BOOSTER_DAYS = Cited[int](
    value=21,
    source="kroumpouzos_2025",
    tag=EvidenceTag.VARIES,
    note="Booster injections within 3 weeks are a trigger of secondary non-response.",
)
CUMULATIVE_WINDOW_DAYS = 90
CUMULATIVE_THRESHOLD_UNITS = Cited[Decimal](
    value=Decimal(400),
    source="botox_cosmetic_label",
    tag=EvidenceTag.LABEL,
    note="Older Botox label: cumulative BOTOX + BOTOX Cosmetic generally not above 400 U in a "
    "3-month interval. That limit covers intramuscular (mostly therapeutic) use; no "
    "micro-dose-specific cumulative limit has been published.",
)


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
    if inputs.intake is None or inputs.reference_date is None:
        return
    own = inputs.product.min_retreatment_days
    for treatment in sorted(inputs.intake.prior_treatments, key=lambda t: t.treated_on):
        days = _days_before(treatment, inputs)
        if days < 0:
            continue  # recorded after this treatment date: not history for this plan
        minimum = own
        prior_product = inputs.library.products.get(treatment.product)
        if prior_product is not None and prior_product.min_retreatment_days.value > own.value:
            minimum = prior_product.min_retreatment_days
        zones = ", ".join(treatment.zones) or "zones not recorded"
        if days < minimum.value:
            yield codes.RETREATMENT_INTERVAL.finding(
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
        if days < BOOSTER_DAYS.value:
            yield codes.BOOSTER_21_DAYS.finding(
                f"{_label(treatment)} ({zones}) was {days} days ago, within "
                f"{BOOSTER_DAYS.value} days: a booster ({inputs.cite(BOOSTER_DAYS.source)})",
                rationale=BOOSTER_DAYS.note or "",
                source=BOOSTER_DAYS.source,
                tag=BOOSTER_DAYS.tag,
                values={
                    "days_since": Decimal(days),
                    "booster_days": Decimal(BOOSTER_DAYS.value),
                },
            )


def cumulative(inputs: Inputs) -> Iterator[Finding]:
    """DM503/DM504: rolling 90-day Botox-equivalent total including this plan."""
    if inputs.intake is None or inputs.reference_date is None:
        return
    recent = [
        t
        for t in inputs.intake.prior_treatments
        if 0 <= _days_before(t, inputs) < CUMULATIVE_WINDOW_DAYS
    ]
    for treatment in sorted(
        inputs.intake.prior_treatments, key=lambda t: (t.treated_on, t.product)
    ):
        if treatment.product not in inputs.library.products:
            yield codes.PRIOR_PRODUCT_UNKNOWN.finding(
                f"prior treatment {_label(treatment)}: product not in the library; its units "
                "are counted 1:1 as Botox units in the 90-day total",
                rationale="A product the library cannot convert is still toxin; counting it "
                "1:1 keeps it in the total instead of dropping it.",
                source=None,
                tag=None,
                values={"prior_units": treatment.units},
            )
    plan = _botox(inputs.total_units, inputs.product.id, inputs)
    parts = [plan] + [_botox(t.units, t.product, inputs) for t in recent]
    default = sum((p.default for p in parts), Decimal(0))
    low = sum((p.low for p in parts), Decimal(0))
    high = sum((p.high for p in parts), Decimal(0))
    threshold = CUMULATIVE_THRESHOLD_UNITS
    if high <= threshold.value:
        return
    yield codes.CUMULATIVE_90_DAYS.finding(
        f"{CUMULATIVE_WINDOW_DAYS}-day total {units(default)} Botox-eq (range "
        f"{span(low, high)}: this plan {units(plan.default)} + {len(recent)} prior "
        f"treatment(s)) > {units(threshold.value)} ({inputs.cite(threshold.source)}; an "
        "intramuscular limit, not a micro-dose one)",
        rationale=threshold.note or "",
        source=threshold.source,
        tag=threshold.tag,
        values={
            "cumulative_botox_equivalent_units": default,
            "cumulative_botox_equivalent_low_units": low,
            "cumulative_botox_equivalent_high_units": high,
            "plan_botox_equivalent_units": plan.default,
            "threshold_units": threshold.value,
        },
    )
