"""Editing a plan by hand: add, move, delete points; re-space a zone; change volumes.

Each edit is a pydantic model (the editor's API sends them as JSON, ``op`` telling which) and
:func:`apply_edit` turns a plan and one edit into a new plan. Pure: nothing is changed in place.
After every edit the points are renumbered in injection order (zones in atlas order, each
zone's points in the order they had, an added point last in its zone), every point's units are
recomputed from its µL and the mix, and the summary (totals, draw-up, vials, units left, cost)
is recomputed from the points by the planner's own :func:`summarise`, so the totals always
equal the sum of the points. Positions come from the anchor on the mesh, as the planner's do.

An edit never hides a danger: a point may be moved into a danger margin (the check then blocks,
and the editor shows it until it is resolved); only input that cannot make a plan at all is
refused, with :class:`~dosemap.domain.errors.InvalidInputError` naming the field.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from decimal import Decimal
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from dosemap.domain import dosing
from dosemap.domain.atlas.locate import choose_zone, distances_at, nearest_zone
from dosemap.domain.atlas.mesh import TEMPLATE_VERTEX_COUNT, FaceMesh, resolve_anchor
from dosemap.domain.atlas.surface import make_anchor
from dosemap.domain.atlas.zones import ZONE_ORDER, zone
from dosemap.domain.errors import InvalidInputError
from dosemap.domain.exact import tidy
from dosemap.domain.library import Library
from dosemap.domain.plan import (
    MeshAnchor,
    Plan,
    PlannedPoint,
    SessionPlan,
    ZoneSummary,
    combine_plans,
)
from dosemap.domain.planning.face_cache import face_cache
from dosemap.domain.planning.layout import clearances_for, layout_zone
from dosemap.domain.planning.planner import (
    plan_dead_space_ul,
    resolve_settings,
    summarise,
    volume_bounds_ul,
)

_POSITION_DECIMALS = 2
_VOLUME_STEP_UL = Decimal("0.1")
_WEIGHT_SLACK = 1e-4


class _Edit(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AddPoint(_Edit):
    """A new point at ``anchor``: like a moved point it takes the zone it lies in
    (:mod:`~dosemap.domain.atlas.locate`), or ``zone`` when one is given. A point added outside
    every zone is labelled with the nearest zone, and the check blocks it (DM407) until it is
    moved into one. ``volume_ul`` defaults to :func:`usual_volume_ul` of its zone."""

    op: Literal["add"] = "add"
    anchor: MeshAnchor
    zone: str | None = None
    volume_ul: Decimal | None = None


class MovePoint(_Edit):
    """Point ``number`` moved to ``anchor``: it takes the zone it now lies in
    (:mod:`~dosemap.domain.atlas.locate`), or ``zone`` when one is given. A point moved outside
    every zone keeps its zone, and the check blocks it (DM407) until it is moved into one."""

    op: Literal["move"] = "move"
    number: int = Field(ge=1)
    anchor: MeshAnchor
    zone: str | None = None


class DeletePoint(_Edit):
    """Point ``number`` taken out of the plan."""

    op: Literal["delete"] = "delete"
    number: int = Field(ge=1)


class SetPointVolume(_Edit):
    """Point ``number`` gets ``volume_ul`` per injection."""

    op: Literal["set_volume"] = "set_volume"
    number: int = Field(ge=1)
    volume_ul: Decimal


class SetZoneVolume(_Edit):
    """Every point of ``zone`` gets ``volume_ul``."""

    op: Literal["set_zone_volume"] = "set_zone_volume"
    zone: str
    volume_ul: Decimal


class RespaceZone(_Edit):
    """``zone``'s points laid out again at ``spacing_mm``: wider thins it, narrower densifies.

    The zone's points are replaced by a fresh lattice (danger margins kept, at least the
    spacing from every other zone's points) at the zone's usual µL.
    """

    op: Literal["respace_zone"] = "respace_zone"
    zone: str
    spacing_mm: Decimal


PlanEdit = Annotated[
    AddPoint | MovePoint | DeletePoint | SetPointVolume | SetZoneVolume | RespaceZone,
    Field(discriminator="op"),
]


def _check_anchor(anchor: MeshAnchor, field: str) -> MeshAnchor:
    """The anchor, rounded as the planner rounds; refused if it names no point of the face."""
    if min(anchor.vertices) < 0 or max(anchor.vertices) >= TEMPLATE_VERTEX_COUNT:
        raise InvalidInputError(
            f"{field}.vertices",
            f"{anchor.vertices}",
            f"landmark indices 0-{TEMPLATE_VERTEX_COUNT - 1}",
        )
    weights = anchor.weights
    if min(weights) < -_WEIGHT_SLACK or abs(sum(weights) - 1.0) > _WEIGHT_SLACK:
        raise InvalidInputError(
            f"{field}.weights", f"{weights}", "barycentric weights >= 0 that sum to 1"
        )
    clipped = np.clip(np.asarray(weights, dtype=np.float64), 0.0, None)
    return make_anchor(np.asarray(anchor.vertices, dtype=np.int64), clipped / clipped.sum())


def _position(anchor: MeshAnchor, mesh: FaceMesh) -> tuple[float, float, float]:
    x, y, z = (
        round(float(c), _POSITION_DECIMALS) for c in resolve_anchor(anchor, mesh.vertices_mm)
    )
    return (x, y, z)


def _check_volume(plan: Plan, library: Library, volume_ul: Decimal, field: str) -> Decimal:
    low, high = volume_bounds_ul(library, library.technique(plan.technique).kind)
    allowed = f"{low}-{high} µL in {_VOLUME_STEP_UL} µL steps"
    if not volume_ul.is_finite() or not low <= volume_ul <= high:
        raise InvalidInputError(field, f"{volume_ul} µL", allowed)
    if volume_ul != volume_ul.quantize(_VOLUME_STEP_UL):
        raise InvalidInputError(
            field, f"{volume_ul} µL is finer than {_VOLUME_STEP_UL} µL", allowed
        )
    return tidy(volume_ul)  # 20, not 2E+1 (normalize's exponent reached the screen)


def _point_index(plan: Plan, number: int, field: str) -> int:
    for index, point in enumerate(plan.points):
        if point.number == number:
            return index
    raise InvalidInputError(field, f"no point {number}", f"1-{len(plan.points)}")


def usual_volume_ul(
    plan: Plan, zone_id: str | None = None, library: Library | None = None
) -> Decimal:
    """The µL a new point of ``zone_id`` gets (an added point, a re-laid zone).

    1. The µL most of the zone's points have (a tie: the one met first), so a zone whose
       volume was changed by hand keeps its own.
    2. A zone with no point: the µL the planner gives every point of this plan (the request's,
       else its preset's, else its technique's: :func:`resolve_settings`), when ``library``
       is given and still resolves the plan's request.
    3. Else the µL most of the plan's points have; a plan with none: the request's.
    """
    chosen = [p.volume_ul for p in plan.points if zone_id is None or p.zone == zone_id]
    if not chosen and zone_id is not None:
        if library is not None:
            try:
                return resolve_settings(plan.request, library).volume_per_point_ul
            except InvalidInputError:  # e.g. a preset the library no longer holds
                pass
        return usual_volume_ul(plan)
    if not chosen:
        if plan.request.volume_per_point_ul is None:
            raise InvalidInputError("volume_ul", "the plan has no point to take it from", "µL")
        return plan.request.volume_per_point_ul
    counts = Counter(chosen)
    return max(counts, key=lambda v: (counts[v], -chosen.index(v)))


def _new_point(
    plan: Plan, library: Library, zone_id: str, anchor: MeshAnchor, volume: Decimal, mesh: FaceMesh
) -> PlannedPoint:
    depth = plan.points[0].depth if plan.points else library.technique(plan.technique).depth.value
    return PlannedPoint(
        number=1,  # renumbered with the rest
        zone=zone_id,
        position_mm=_position(anchor, mesh),
        anchor=anchor,
        technique=plan.technique,
        depth=depth,
        volume_ul=volume,
        units=dosing.units_for_volume(volume, plan.mix.units_per_ml),
    )


def _margins(plan: Plan, library: Library | None) -> dict[str, Decimal]:
    """The danger margins ``plan`` was made with; the library's for an older plan file."""
    if plan.danger_margins_mm:
        return dict(plan.danger_margins_mm)
    if library is None:
        raise InvalidInputError(
            "danger_margins_mm", "the plan records no danger margins", "a library to take them from"
        )
    return library.margins_mm()


def _zone_summary(
    plan: Plan, zone_id: str, mesh: FaceMesh, library: Library | None = None
) -> ZoneSummary:
    """A zone's summary row before its points are counted (areas from the plan or the face)."""
    for existing in plan.summary.zones:
        if existing.zone == zone_id:
            return existing
    cache = face_cache(mesh)
    clearances = clearances_for(
        zone_id, plan.mix.contains_hyaluronic_acid, cache.danger_outlines(), _margins(plan, library)
    )
    height = plan.request.forehead_height_mm
    return ZoneSummary(
        zone=zone_id,
        area_mm2=round(cache.patch(zone_id, height).area_mm2, 1),
        treatable_area_mm2=round(cache.treatable_area_mm2(zone_id, height, clearances), 1),
        points=0,
        volume_ul=Decimal(0),
        units=Decimal(0),
    )


def rebuild(
    plan: Plan, points: Iterable[PlannedPoint], mesh: FaceMesh, library: Library | None = None
) -> Plan:
    """``plan`` with ``points``: renumbered in injection order, units and summary recomputed."""
    listed = list(points)
    rank = {z: k for k, z in enumerate(ZONE_ORDER)}

    def zone_rank(zone_id: str) -> tuple[int, str]:
        return (rank.get(zone_id, len(rank)), zone_id)  # a zone of a hand-made file goes last

    ordered = sorted(enumerate(listed), key=lambda item: (zone_rank(item[1].zone), item[0]))
    units_of: dict[Decimal, Decimal] = {}  # exact arithmetic once per distinct µL, not per point

    def units(volume_ul: Decimal) -> Decimal:
        if volume_ul not in units_of:
            units_of[volume_ul] = dosing.units_for_volume(volume_ul, plan.mix.units_per_ml)
        return units_of[volume_ul]

    renumbered = tuple(
        point
        if point.number == number and point.units == units(point.volume_ul)
        else point.model_copy(update={"number": number, "units": units(point.volume_ul)})
        for number, (_, point) in enumerate(ordered, start=1)
    )
    zone_ids = {z.zone for z in plan.summary.zones} | {p.zone for p in renumbered}
    zones = []
    for zone_id in sorted(zone_ids, key=zone_rank):
        mine = [p for p in renumbered if p.zone == zone_id]
        zones.append(
            _zone_summary(plan, zone_id, mesh, library).model_copy(
                update={
                    "points": len(mine),
                    "volume_ul": sum((p.volume_ul for p in mine), Decimal(0)),
                    "units": sum((p.units for p in mine), Decimal(0)),
                }
            )
        )
    summary = summarise(
        plan.request, plan.mix, renumbered, tuple(zones), dead_space_ul=plan_dead_space_ul(plan)
    )
    return plan.model_copy(update={"points": renumbered, "summary": summary})


def _respace(plan: Plan, library: Library, edit: RespaceZone, mesh: FaceMesh) -> list[PlannedPoint]:
    # The spacing a zone can be re-laid at: the planner's bounds (library figures).
    low, high = library.figure("spacing_min_mm").value, library.figure("spacing_max_mm").value
    if not edit.spacing_mm.is_finite() or not low <= edit.spacing_mm <= high:
        raise InvalidInputError("spacing_mm", f"{edit.spacing_mm} mm", f"{low}-{high} mm")
    the_zone = zone(edit.zone, field="zone")
    volume = usual_volume_ul(plan, edit.zone, library)
    others = [p for p in plan.points if p.zone != edit.zone]
    cache = face_cache(mesh)
    clearances = clearances_for(
        edit.zone,
        plan.mix.contains_hyaluronic_acid,
        cache.danger_outlines(),
        _margins(plan, library),
    )
    height = plan.request.forehead_height_mm
    # The plan's own lattice (a square grid stays square); older files: the technique's kind.
    if plan.lattice is not None:
        hexagonal = plan.lattice == "hex"
    else:
        hexagonal = library.technique(plan.technique).kind.value == "needle"
    placed = np.array([_position(p.anchor, mesh) for p in others], dtype=np.float64)
    layout = layout_zone(
        cache.patch(edit.zone, height),
        float(edit.spacing_mm),
        hexagonal=hexagonal,
        clearances=clearances,
        placed=placed.reshape(-1, 3),
        symmetric=the_zone.side is None,
        candidates=cache.candidate_source(
            edit.zone, height, hexagonal=hexagonal, clearances=clearances
        ),
    )
    fresh = [
        _new_point(plan, library, edit.zone, make_anchor(v, w), volume, mesh)
        for v, w in zip(layout.vertices, layout.weights, strict=True)
    ]
    # The zone's points take the place of its old ones; the others keep theirs.
    return others + fresh


def zone_at(
    plan: Plan, library: Library, anchor: MeshAnchor, current: str | None, mesh: FaceMesh
) -> str:
    """The zone a point at ``anchor`` (labelled ``current``; ``None``: being added) lies in.

    Outside every zone the point keeps ``current``, or (being added) is labelled with the
    nearest zone: it stays in the plan, and the zone-label rule (DM407) blocks it."""
    distances = distances_at(mesh, anchor, plan.request.forehead_height_mm)
    tolerance = float(library.figure("zone_label_tolerance_mm").value)
    found = choose_zone(distances, current, tolerance)
    if found is not None:
        return found
    return current if current is not None else nearest_zone(distances)


def placed_point(plan: Plan, edit: PlanEdit, before: Plan | None = None) -> PlannedPoint | None:
    """The point an add or move edit put down, as numbered in ``plan`` (the plan after it).

    Another point may already lie at that anchor, so, given the plan ``before`` the edit, the
    point is found where :func:`apply_edit` puts it (:func:`rebuild` numbers by zone, then by
    place in the list): a point moved within its zone keeps its place, hence its number; an
    added point, or one moved into another zone, is appended, hence the last of its zone (the
    zone that gained a point). Without ``before``: the last point at the anchor."""
    if not isinstance(edit, AddPoint | MovePoint):
        return None
    anchor = _check_anchor(edit.anchor, "anchor")
    here = [p for p in plan.points if p.anchor == anchor]
    if before is not None and here:
        gained = Counter(p.zone for p in plan.points)
        gained.subtract(p.zone for p in before.points)
        into = [z for z, n in gained.items() if n > 0]
        found: PlannedPoint | None = None
        if isinstance(edit, MovePoint) and not into:
            found = next((p for p in here if p.number == edit.number), None)
        elif len(into) == 1:
            found = [p for p in plan.points if p.zone == into[0]][-1]
        if found is not None and found.anchor == anchor:
            return found
    return here[-1] if here else None


def apply_edit(plan: Plan, edit: PlanEdit, library: Library, mesh: FaceMesh) -> Plan:
    """The plan after ``edit`` (see the module docstring)."""
    points = list(plan.points)
    if isinstance(edit, AddPoint):
        named = None if edit.zone is None else zone(edit.zone, field="zone").id
        anchor = _check_anchor(edit.anchor, "anchor")
        target = named if named is not None else zone_at(plan, library, anchor, None, mesh)
        volume = (
            usual_volume_ul(plan, target, library)
            if edit.volume_ul is None
            else _check_volume(plan, library, edit.volume_ul, "volume_ul")
        )
        points.append(_new_point(plan, library, target, anchor, volume, mesh))
    elif isinstance(edit, MovePoint):
        index = _point_index(plan, edit.number, "number")
        anchor = _check_anchor(edit.anchor, "anchor")
        update: dict[str, object] = {"anchor": anchor, "position_mm": _position(anchor, mesh)}
        target = (
            zone(edit.zone, field="zone").id
            if edit.zone is not None
            else zone_at(plan, library, anchor, points[index].zone, mesh)
        )
        if target != points[index].zone:
            update["zone"] = target
            # A point moved into another zone goes last in that zone's injection order.
            moved = points.pop(index).model_copy(update=update)
            points.append(moved)
        else:
            points[index] = points[index].model_copy(update=update)
    elif isinstance(edit, DeletePoint):
        del points[_point_index(plan, edit.number, "number")]
    elif isinstance(edit, SetPointVolume):
        index = _point_index(plan, edit.number, "number")
        volume = _check_volume(plan, library, edit.volume_ul, "volume_ul")
        points[index] = points[index].model_copy(update={"volume_ul": volume})
    elif isinstance(edit, SetZoneVolume):
        zone(edit.zone, field="zone")
        volume = _check_volume(plan, library, edit.volume_ul, "volume_ul")
        if not any(p.zone == edit.zone for p in points):
            raise InvalidInputError("zone", f"{edit.zone} has no point", "a zone with points")
        points = [p.model_copy(update={"volume_ul": volume}) if p.zone == edit.zone else p
                  for p in points]  # fmt: skip
    else:
        points = _respace(plan, library, edit, mesh)
    return rebuild(plan, points, mesh, library)


def apply_edits(
    plan: Plan, edits: Iterable[PlanEdit], library: Library, mesh: FaceMesh, *, first_index: int = 0
) -> Plan:
    """The plan after every edit in turn; the first bad edit raises, naming its index (counted
    from ``first_index``: the rest of a request's edits)."""
    for index, edit in enumerate(edits, first_index):
        try:
            plan = apply_edit(plan, edit, library, mesh)
        except InvalidInputError as exc:
            raise InvalidInputError(
                f"edits[{index}].{exc.field}", exc.message, exc.allowed
            ) from None
    return plan


def _numbered(edit: PlanEdit) -> int | None:
    """The point an edit names, if it names one."""
    return edit.number if isinstance(edit, MovePoint | DeletePoint | SetPointVolume) else None


def apply_session_edit(
    session: SessionPlan, plan_index: int, edit: PlanEdit, library: Library, mesh: FaceMesh
) -> SessionPlan:
    """A session of several products after ``edit`` to its plan ``plan_index`` (the chosen
    product's): the other plans are untouched, then the point numbers run on across the plans
    again. An edit naming a point of another product's plan is refused: choose that product."""
    if not 0 <= plan_index < len(session.plans):
        raise InvalidInputError("plan", f"{plan_index}", f"0-{len(session.plans) - 1}")
    plan = session.plans[plan_index]
    number = _numbered(edit)
    if number is not None and not any(p.number == number for p in plan.points):
        other = session.plan_of(number)
        if other is None:
            raise InvalidInputError("number", f"no point {number}", "a point of the session")
        raise InvalidInputError(
            "number", f"point {number} is of the {other.product} plan", f"a {plan.product} point"
        )
    plans = list(session.plans)
    plans[plan_index] = apply_edit(plan, edit, library, mesh)
    return session.model_copy(update={"plans": combine_plans(plans).plans})


def apply_edits_to(
    document: Plan | SessionPlan,
    edits: Iterable[PlanEdit],
    library: Library,
    mesh: FaceMesh,
    *,
    plan_index: int = 0,
    first_index: int = 0,
) -> Plan | SessionPlan:
    """A plan file of either format after every edit in turn (format kept); for a session of
    several products the edits act on plan ``plan_index``. The first bad edit raises, naming
    its index (counted from ``first_index``)."""
    if isinstance(document, Plan):
        if plan_index != 0:
            raise InvalidInputError("plan", f"{plan_index}", "0 (the file has one plan)")
        return apply_edits(document, edits, library, mesh, first_index=first_index)
    if not 0 <= plan_index < len(document.plans):
        raise InvalidInputError("plan", f"{plan_index}", f"0-{len(document.plans) - 1}")
    for index, edit in enumerate(edits, first_index):
        try:
            document = apply_session_edit(document, plan_index, edit, library, mesh)
        except InvalidInputError as exc:
            raise InvalidInputError(
                f"edits[{index}].{exc.field}", exc.message, exc.allowed
            ) from None
    return document
