"""Where the points are: toxin danger zones and, for HA mixes, vascular high-risk areas."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal

from dosemap.domain.atlas.danger import DANGER_ZONES, DangerHit, danger_zone_hits
from dosemap.domain.evidence import EvidenceTag
from dosemap.domain.library.models import AdjunctKind
from dosemap.domain.plan import Plan
from dosemap.domain.safety import finding as codes
from dosemap.domain.safety._fmt import num
from dosemap.domain.safety.finding import Code, Finding
from dosemap.domain.safety.inputs import Inputs


def ha_ingredients(inputs: Inputs) -> list[str]:
    """Ingredients of the mix that the library knows as hyaluronic acid."""
    found = []
    for component in inputs.plan.mix.components:
        adjunct = inputs.library.adjuncts.get(component.ingredient)
        if adjunct and adjunct.kind is AdjunctKind.HYALURONIC_ACID and component.fraction > 0:
            found.append(component.ingredient)
    return found


def _checked_plan(inputs: Inputs) -> Plan:
    """The plan with its HA flag corrected, so that an unflagged HA mix is still checked."""
    plan = inputs.plan
    if ha_ingredients(inputs) and not plan.mix.contains_hyaluronic_acid:
        mix = plan.mix.model_copy(update={"contains_hyaluronic_acid": True})
        return plan.model_copy(update={"mix": mix})
    return plan


def ha_flag(inputs: Inputs) -> Iterator[Finding]:
    """DM404: an HA adjunct in a mix not flagged as containing HA."""
    found = ha_ingredients(inputs)
    if found and not inputs.plan.mix.contains_hyaluronic_acid:
        yield codes.HA_FLAG_MISMATCH.finding(
            f"mix contains {', '.join(found)} (hyaluronic acid) but contains_hyaluronic_acid "
            "is false; HA danger zones were checked anyway",
            rationale="The flag decides whether vascular high-risk areas are checked.",
            source=None,
            tag=None,
        )


def _group(hits: list[DangerHit], inputs: Inputs) -> dict[tuple[str, str], list[DangerHit]]:
    zone_of = {p.number: p.zone for p in inputs.plan.points}
    groups: defaultdict[tuple[str, str], list[DangerHit]] = defaultdict(list)
    for hit in hits:
        groups[(hit.danger_zone, zone_of[hit.point])].append(hit)
    return dict(sorted(groups.items()))


def _finding(
    code: Code, danger_id: str, zone: str, hits: list[DangerHit], inputs: Inputs
) -> Finding:
    danger = DANGER_ZONES[danger_id]
    nearest = min(hits, key=lambda h: h.distance_mm)
    first = hits[0]
    depth = Decimal(str(nearest.distance_mm))
    margin = num(first.margin_mm)
    if depth < 0:
        where = f"inside the {danger.name}, up to {num(-depth)} mm inside (margin {margin} mm)"
    else:
        where = f"within the {margin} mm margin of the {danger.name}, nearest {num(depth)} mm away"
    return code.finding(
        f"{zone}: {len(hits)} point(s) {where} ({inputs.cite(first.source)})",
        rationale=danger.rule,
        source=first.source,
        tag=first.tag,
        values={
            "nearest_distance_mm": Decimal(str(nearest.distance_mm)),
            "margin_mm": first.margin_mm,
        },
        zone=zone,
        point_numbers=tuple(h.point for h in hits),
    )


def danger_zones(inputs: Inputs) -> Iterator[Finding]:
    """DM201/DM202 (toxin danger zones), DM601/DM602 (HA in vascular high-risk areas)."""
    hits = danger_zone_hits(_checked_plan(inputs), inputs.mesh)
    toxin = [h for h in hits if not h.because_of_ha]
    inside = [h for h in toxin if h.distance_mm < 0]
    margin = [h for h in toxin if h.distance_mm >= 0]
    for code, chosen in ((codes.DANGER_ZONE, inside), (codes.DANGER_MARGIN, margin)):
        for (danger_id, zone), group in _group(chosen, inputs).items():
            yield _finding(code, danger_id, zone, group, inputs)
    vascular = [h for h in hits if h.because_of_ha]
    no_hyaluronidase = inputs.context is not None and inputs.context.hyaluronidase_on_hand is False
    ha_code = codes.HA_NO_HYALURONIDASE if no_hyaluronidase else codes.HA_VASCULAR_ZONE
    for (danger_id, zone), group in _group(vascular, inputs).items():
        finding = _finding(ha_code, danger_id, zone, group, inputs)
        if inputs.context is None or inputs.context.hyaluronidase_on_hand is None:
            note = " Hyaluronidase on hand: not recorded."
        elif no_hyaluronidase:
            note = " The session records NO hyaluronidase on hand."
        else:
            note = " Hyaluronidase is on hand."
        update: dict[str, object] = {
            "rationale": finding.rationale
            + ". HA can occlude an artery (blindness, necrosis); the emergency treatment is "
            "high-dose hyaluronidase, which must be on hand (CMAC, ACE guidance)." + note
        }
        if no_hyaluronidase:
            # The block rests on the emergency guidance, not on the zone's anatomy source.
            update |= {"source": "cmac_vascular_occlusion_2021", "tag": EvidenceTag.ESTABLISHED}
        yield finding.model_copy(update=update)
