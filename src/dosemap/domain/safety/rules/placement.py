"""Where the points are: toxin danger zones and, for HA mixes, vascular high-risk areas."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal

from dosemap.domain.atlas.danger import DANGER_ZONES, DangerHit, danger_zone_hits
from dosemap.domain.atlas.extension import zone_corners
from dosemap.domain.atlas.mesh import resolve_anchors
from dosemap.domain.atlas.surface import Outline
from dosemap.domain.atlas.zones import UNSUPPORTED_ZONES
from dosemap.domain.evidence import EvidenceTag
from dosemap.domain.library.models import AdjunctKind, MarginGrade
from dosemap.domain.library.zones import KNOWN_ZONES, ZONE_ORDER
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
        yield inputs.finding(
            codes.HA_FLAG_MISMATCH,
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
    cited = inputs.library.danger_margin(danger_id).margin_mm
    nearest = min(hits, key=lambda h: h.distance_mm)
    first = hits[0]
    depth = Decimal(str(nearest.distance_mm))
    margin = num(first.margin_mm)
    tolerance = inputs.figure("margin_tolerance_mm")
    if depth < 0:
        where = f"inside the {danger.name}, up to {num(-depth)} mm inside (margin {margin} mm)"
    else:
        where = (
            f"within the {margin} mm margin of the {danger.name}, nearest {num(depth)} mm away "
            f"(tolerance {num(tolerance)} mm)"
        )
    return inputs.finding(
        code,
        f"{zone}: {len(hits)} point(s) {where} ({inputs.cite(cited.source)})",
        rationale=danger.rule,
        source=cited.source,
        tag=cited.tag,
        values={
            "nearest_distance_mm": Decimal(str(nearest.distance_mm)),
            "margin_mm": first.margin_mm,
            "tolerance_mm": tolerance,
        },
        zone=zone,
        point_numbers=tuple(h.point for h in hits),
    )


def danger_zones(inputs: Inputs) -> Iterator[Finding]:
    """DM201 (inside a toxin danger zone), DM202 (within a hard margin), DM203 (within a graded
    margin band), DM601/DM602 (HA in vascular high-risk areas).

    Distances are measured as the planner measures them (chords on the face surface from the
    danger outline's edge) and compared with the library's margin less its ``margin_tolerance_mm``.
    """
    hits = danger_zone_hits(
        _checked_plan(inputs),
        inputs.mesh,
        inputs.library.margins_mm(),
        tolerance_mm=inputs.figure("margin_tolerance_mm"),
    )
    toxin = [h for h in hits if not h.because_of_ha]
    inside = [h for h in toxin if h.distance_mm < 0]
    near = [h for h in toxin if h.distance_mm >= 0]

    def graded(hit: DangerHit) -> bool:
        return inputs.library.danger_margin(hit.danger_zone).grade is MarginGrade.BAND

    hard = [h for h in near if not graded(h)]
    band = [h for h in near if graded(h)]
    chosen_codes = (
        (codes.DANGER_ZONE, inside),
        (codes.DANGER_MARGIN, hard),
        (codes.DANGER_BAND, band),
    )
    for code, chosen in chosen_codes:
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


def zone_labels(inputs: Inputs) -> Iterator[Finding]:
    """DM406 (unknown zone id), DM407 (a point farther outside its labelled zone than the
    library's ``zone_label_tolerance_mm``): a mislabelled point would escape its zone's caps.

    The zone's outline is taken as planned (the forehead extended above the mesh when the plan
    asked for it); the distance is measured like the danger margins (chords from the outline).
    """
    plan = inputs.plan
    unknown: defaultdict[str, list[int]] = defaultdict(list)
    by_zone: defaultdict[str, list[int]] = defaultdict(list)
    for index, point in enumerate(plan.points):
        if point.zone not in KNOWN_ZONES:
            unknown[point.zone].append(point.number)
        elif point.zone not in UNSUPPORTED_ZONES:
            by_zone[point.zone].append(index)
    for name, numbers in sorted(unknown.items()):
        yield inputs.finding(
            codes.ZONE_UNKNOWN,
            f"{len(numbers)} point(s) labelled {name!r}, not a zone id (known: "
            f"{', '.join(ZONE_ORDER)})",
            rationale="Per-zone and per-side caps are summed by zone id: a point with an "
            "unknown zone escapes them.",
            source=None,
            tag=None,
            zone=name,
            point_numbers=tuple(numbers),
        )
    if not by_zone:
        return
    tolerance = inputs.figure("zone_label_tolerance_mm")
    positions = resolve_anchors([p.anchor for p in plan.points], inputs.mesh.vertices_mm)
    height = plan.request.forehead_height_mm
    for zone_id, indices in sorted(by_zone.items()):
        corners = zone_corners(inputs.mesh, zone_id, height)
        # Only points outside the outline can be beyond the tolerance: only they are measured.
        distances = Outline.from_corners(corners).signed_distances_above(
            positions[indices], float(tolerance)
        )
        outside = [
            (plan.points[i].number, d)
            for i, d in zip(indices, distances.tolist(), strict=True)
            if d > float(tolerance)
        ]
        if not outside:
            continue
        farthest = max(d for _, d in outside)
        yield inputs.finding(
            codes.ZONE_MISMATCH,
            f"{zone_id}: {len(outside)} point(s) lie outside the zone they are labelled with, "
            f"up to {num(Decimal(str(round(farthest, 2))))} mm (tolerance {num(tolerance)} mm)",
            rationale="A point counted in a zone it is not in escapes the caps and margins of "
            "the zone it is really in.",
            source=None,
            tag=None,
            values={
                "farthest_outside_mm": Decimal(str(round(farthest, 2))),
                "tolerance_mm": tolerance,
            },
            zone=zone_id,
            point_numbers=tuple(n for n, _ in outside),
        )
