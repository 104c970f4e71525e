"""The microdroplet planner: a :class:`~dosemap.domain.plan.PlanRequest` in, a full plan out.

Pure and deterministic: the same request, library and mesh give the same plan, byte for byte
(zones in a fixed order, positions rounded to 0.01 mm, anchor weights to 1e-6, no set order).
All dose arithmetic is :mod:`dosemap.domain.dosing`'s; the plan's totals are sums of the points'
``Decimal`` units and volumes, so they equal the sum of the points exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

import numpy as np

from dosemap.domain import dosing
from dosemap.domain.atlas.extension import (
    check_forehead_height,
)
from dosemap.domain.atlas.mesh import FaceMesh
from dosemap.domain.atlas.surface import make_anchor
from dosemap.domain.atlas.zones import UNSUPPORTED_ZONES, ZONE_ORDER, zone
from dosemap.domain.errors import InvalidInputError, UnknownNameError
from dosemap.domain.library import Library
from dosemap.domain.library.models import (
    AdjunctKind,
    LatticeKind,
    Protocol,
    Technique,
    TechniqueKind,
)
from dosemap.domain.plan import (
    Plan,
    PlannedPoint,
    PlanRequest,
    PlanSummary,
    WorkingMix,
    ZoneSummary,
)
from dosemap.domain.planning.face_cache import FaceCache, face_cache
from dosemap.domain.planning.layout import (
    ZoneLayout,
    clearances_for,
    layout_zone,
    mirror_layout,
    mirror_points,
)

_VOLUME_STEP_UL = Decimal("0.1")  # the finest per-point volume a target can set
_POSITION_DECIMALS = 2


def volume_bounds_ul(library: Library, kind: TechniqueKind) -> tuple[Decimal, Decimal]:
    """Per-droplet volume a zone target may set, by technique kind (µL, inclusive): the
    library's ``needle_volume_*_ul`` / ``stamp_volume_*_ul`` figures."""
    prefix = "stamp" if kind is TechniqueKind.STAMP else "needle"
    return (
        library.figure(f"{prefix}_volume_min_ul").value,
        library.figure(f"{prefix}_volume_max_ul").value,
    )


@dataclass(frozen=True)
class PlanSettings:
    """Everything the request and the protocol preset resolve to."""

    protocol: Protocol | None
    product: str
    vial_units: Decimal
    diluent_ml: Decimal
    technique: Technique
    volume_per_point_ul: Decimal
    spacing_mm: Decimal
    mix: WorkingMix


def _need(value: Decimal | str | None, field: str, what: str) -> Decimal | str:
    if value is None:
        raise InvalidInputError(field, "is required without a protocol preset", what)
    return value


def resolve_settings(request: PlanRequest, library: Library) -> PlanSettings:
    """Fill the request's blanks from its protocol preset; build the working mix."""
    protocol = library.protocol(request.protocol) if request.protocol else None
    product = str(
        _need(request.product or (protocol.stock.product if protocol else None), "product", "id")
    )
    library.product(product)
    vial_units = Decimal(
        _need(
            request.vial_units or (protocol.stock.vial_units if protocol else None),
            "vial_units",
            "> 0 U",
        )
    )
    diluent_ml = Decimal(
        _need(
            request.diluent_ml or (protocol.stock.diluent_ml if protocol else None),
            "diluent_ml",
            "> 0 mL",
        )
    )
    technique_id = str(
        _need(request.technique or (protocol.technique if protocol else None), "technique", "id")
    )
    technique = library.technique(technique_id)
    stamp = technique.kind is TechniqueKind.STAMP

    # The preset's droplet and spacing belong to its own technique; another technique
    # (a stamp instead of a needle) brings its own defaults.
    preset = protocol if protocol is not None and protocol.technique == technique.id else None
    volume = request.volume_per_point_ul
    if volume is None and preset is not None:
        volume = preset.volume_per_point_ul.value
    if volume is None and stamp and technique.volume_per_stamp_ul is not None:
        volume = technique.volume_per_stamp_ul.value
    if volume is None:
        volume = technique.typical_volume_per_point_ul.value

    spacing = request.spacing_mm
    if spacing is None and stamp and technique.stamp_pitch_mm is not None:
        spacing = technique.stamp_pitch_mm
    if spacing is None and protocol is not None:
        spacing = protocol.spacing_mm.value  # a lattice spacing carries over between needles
    low_mm = library.figure("spacing_min_mm").value
    high_mm = library.figure("spacing_max_mm").value
    spacing = Decimal(_need(spacing, "spacing_mm", f"{low_mm}-{high_mm} mm"))
    if not low_mm <= spacing <= high_mm:
        raise InvalidInputError(
            "spacing_mm", f"{spacing} mm is out of range", f"{low_mm}-{high_mm} mm"
        )

    if request.adjuncts:
        adjuncts = dict(request.adjuncts)
    elif protocol is not None:
        adjuncts = {p.adjunct: p.volume_ml for p in protocol.working_mix if p.adjunct != "stock"}
    else:
        adjuncts = {}
    adjuncts.pop(dosing.SALINE, None)  # saline is the top-up the mix computes itself
    is_ha = {a: library.adjunct(a).kind is AdjunctKind.HYALURONIC_ACID for a in adjuncts}
    target = request.working_units_per_ml
    if target is None and protocol is not None:
        target = protocol.working_units_per_ml.value
    mix = dosing.working_mix(
        product,
        vial_units,
        diluent_ml,
        target_units_per_ml=target,
        adjunct_ml_per_ml=adjuncts,
        adjunct_is_ha=is_ha,
    )
    return PlanSettings(protocol, product, vial_units, diluent_ml, technique, volume, spacing, mix)


def lattice_for(settings: PlanSettings) -> LatticeKind:
    """The point pattern: the preset's cited lattice when the plan uses the preset's own
    technique, else the technique's kind (needle entries hexagonal, a stamp at its pitch)."""
    protocol = settings.protocol
    if (
        protocol is not None
        and protocol.lattice is not None
        and protocol.technique == settings.technique.id
    ):
        return protocol.lattice.value
    return LatticeKind.STAMP if settings.technique.kind is TechniqueKind.STAMP else LatticeKind.HEX


def resolve_zones(
    request: PlanRequest, library: Library, protocol: Protocol | None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The zones to plan, in plan order, and notes on zones left out.

    Explicit ``zones`` win; else the goals' suggested zones; else the protocol's zones. A zone
    the atlas cannot hold (``neck``) is an error when asked for by name and a note otherwise.
    """
    notes: list[str] = []
    wanted: list[str] = []
    if request.zones:
        for index, zone_id in enumerate(request.zones):
            zone(zone_id, field=f"zones[{index}]")
            wanted.append(zone_id)
    else:
        suggested: Iterable[str]
        if request.goals:
            for index, goal_id in enumerate(request.goals):
                if goal_id not in library.goals:
                    raise UnknownNameError(f"goals[{index}]", goal_id, library.goals)
            suggested = [z for g in request.goals for z in library.goal(g).zones]
        elif protocol is not None:
            suggested = protocol.zones
        else:
            raise InvalidInputError("zones", "no zones, goals or protocol given", "zone ids")
        for zone_id in suggested:
            if zone_id in UNSUPPORTED_ZONES:
                note = f"{zone_id} left out: {UNSUPPORTED_ZONES[zone_id]}"
                if note not in notes:
                    notes.append(note)
                continue
            zone(zone_id)
            wanted.append(zone_id)
    ordered = tuple(z for z in ZONE_ORDER if z in wanted)
    if not ordered:
        raise InvalidInputError("zones", "none of the zones is in the face atlas", "zone ids")
    for zone_id in request.zone_target_units:
        if zone_id not in ordered:
            raise InvalidInputError(
                f"zone_target_units[{zone_id}]", "zone is not in the plan", ", ".join(ordered)
            )
    return ordered, tuple(notes)


def _target_volume(
    zone_id: str, target_units: Decimal, points: int, settings: PlanSettings, library: Library
) -> Decimal:
    """Per-point volume (µL, 0.1 µL steps) that gives ``zone_id`` its target units."""
    field = f"zone_target_units[{zone_id}]"
    low, high = volume_bounds_ul(library, settings.technique.kind)
    if target_units <= 0:
        raise InvalidInputError(field, f"{target_units} U", "> 0 U")
    if points == 0:
        raise InvalidInputError(field, "no point fits in the zone after the danger margins")
    per_point = target_units / points
    volume = dosing.volume_for_units(per_point, settings.mix.units_per_ml).quantize(
        _VOLUME_STEP_UL,
        rounding=ROUND_DOWN,  # never above the target (a ceiling may equal it)
    )
    if not low <= volume <= high:
        reach_low = dosing.units_for_volume(low * points, settings.mix.units_per_ml)
        reach_high = dosing.units_for_volume(high * points, settings.mix.units_per_ml)
        raise InvalidInputError(
            field,
            f"{target_units} U over {points} points needs {volume} µL per point",
            f"{reach_low}-{reach_high} U at {low}-{high} µL per point",
        )
    return volume


def _forehead_note(
    cache: FaceCache, height_mm: Decimal | None, points: list[PlannedPoint], brow_margin_mm: Decimal
) -> str:
    """How high the forehead plan reaches, where the mesh ends, and the hairline caveat."""
    top = cache.mesh_top_height_mm()
    forehead = np.array([p.position_mm for p in points if p.zone == "forehead"]).reshape(-1, 3)
    reach = (
        np.min(
            [o.signed_distances(forehead) for o in cache.danger_outlines()["brow"]], axis=0
        ).max()
        if len(forehead)
        else 0.0
    )
    check = (
        "The hairline is not in the face mesh: check it on the patient and leave out any point "
        "that falls in hair."
    )
    if height_mm is None:
        band = top - float(brow_margin_mm)
        return (
            f"forehead: planned only as far as the face mesh goes, {top:.0f} mm above the brows at "
            f"the midline (landmark 10); after the {brow_margin_mm} mm brow margin that is a "
            f"{max(band, 0.0):.0f} mm band, the highest point {reach:.0f} mm above the brows. "
            f"{check} To plan higher, set forehead_height_mm (--forehead-height-mm) to the "
            "patient's brow-to-hairline height."
        )
    return (
        f"forehead: planned up to {height_mm} mm above the brows at the midline, the highest "
        f"point {reach:.0f} mm above them; the face mesh ends at {top:.0f} mm (landmark 10) and "
        "the forehead above it is extrapolated along the slope of the mesh's top edge, so points "
        f"there are less certain. {check}"
    )


def build_plan(request: PlanRequest, library: Library, mesh: FaceMesh) -> Plan:
    """Plan micro-dose injection points for ``request`` on ``mesh``.

    Parameters
    ----------
    request
        Zones or goals, a protocol preset and/or explicit parameters, optional zone targets.
    library
        The reference library (protocols, products, techniques, adjuncts, goals).
    mesh
        The face to plan on, in mm (normally ``dosemap.resources.template_mesh()``).

    Returns
    -------
    Plan
        Points (zone, position in mm and as a mesh anchor, technique, µL, units) and the
        summary (entries, units and µL per zone and in total, areas, draw-up, vials, cost).

    Raises
    ------
    InvalidInputError
        A missing or out-of-range parameter, an unknown id, a zone target the technique's
        droplet bounds cannot meet, or a plan without a single point.
    """
    settings = resolve_settings(request, library)
    zone_ids, notes = resolve_zones(request, library, settings.protocol)
    if request.forehead_height_mm is not None:
        if "forehead" not in zone_ids:
            raise InvalidInputError(
                "forehead_height_mm", "the plan has no forehead zone", "a plan with the forehead"
            )
        check_forehead_height(
            mesh, request.forehead_height_mm, library.figure("max_forehead_height_mm").value
        )
    spacing = float(settings.spacing_mm)
    lattice = lattice_for(settings)
    hexagonal = lattice is LatticeKind.HEX
    has_ha = settings.mix.contains_hyaluronic_acid

    cache = face_cache(mesh)
    by_danger = cache.danger_outlines()
    margins = library.margins_mm()
    dead_space = (
        request.dead_space_ul
        if request.dead_space_ul is not None
        else library.figure("dead_space_ul").value
    )
    points: list[PlannedPoint] = []
    summaries: list[ZoneSummary] = []
    placed = np.zeros((0, 3))
    placed_vertices = np.zeros((0, 3), dtype=np.int64)
    placed_weights = np.zeros((0, 3))
    layouts: dict[str, ZoneLayout] = {}
    for zone_id in zone_ids:
        the_zone = zone(zone_id)
        patch = cache.patch(zone_id, request.forehead_height_mm)
        clearances = clearances_for(zone_id, has_ha, by_danger, margins)
        if the_zone.side == "right":
            # Both sides alike: the right side is the left side's layout, mirrored.
            twin = zone_id.removesuffix("_right") + "_left"
            twin_clearances = clearances_for(twin, has_ha, by_danger, margins)
            source = layouts.get(twin) or layout_zone(
                cache.patch(twin, None),
                spacing,
                hexagonal=hexagonal,
                clearances=twin_clearances,
                placed=mirror_points(placed_vertices, placed_weights, mesh.vertices_mm),
                candidates=cache.candidate_source(
                    twin, None, hexagonal=hexagonal, clearances=twin_clearances
                ),
            )
            layout = mirror_layout(
                source,
                mesh.vertices_mm,
                clearances=clearances,
                placed=placed,
                spacing_mm=spacing,
            )
        else:
            layout = layout_zone(
                patch,
                spacing,
                hexagonal=hexagonal,
                clearances=clearances,
                placed=placed,
                symmetric=the_zone.side is None,
                candidates=cache.candidate_source(
                    zone_id,
                    request.forehead_height_mm,
                    hexagonal=hexagonal,
                    clearances=clearances,
                ),
            )
        layouts[zone_id] = layout
        placed = np.vstack([placed, layout.positions_mm])
        placed_vertices = np.vstack([placed_vertices, layout.vertices])
        placed_weights = np.vstack([placed_weights, layout.weights])
        count = len(layout.positions_mm)
        target = request.zone_target_units.get(zone_id)
        volume = (
            settings.volume_per_point_ul
            if target is None
            else _target_volume(zone_id, target, count, settings, library)
        )
        units = dosing.units_for_volume(volume, settings.mix.units_per_ml)
        for k in range(count):
            x, y, z = (round(float(c), _POSITION_DECIMALS) for c in layout.positions_mm[k])
            points.append(
                PlannedPoint(
                    number=len(points) + 1,
                    zone=zone_id,
                    position_mm=(x, y, z),
                    anchor=make_anchor(layout.vertices[k], layout.weights[k]),
                    technique=settings.technique.id,
                    depth=settings.technique.depth.value,
                    volume_ul=volume,
                    units=units,
                )
            )
        zone_points = points[len(points) - count :]
        summaries.append(
            ZoneSummary(
                zone=zone_id,
                area_mm2=round(patch.area_mm2, 1),
                treatable_area_mm2=round(
                    cache.treatable_area_mm2(zone_id, request.forehead_height_mm, clearances), 1
                ),
                points=count,
                volume_ul=sum((p.volume_ul for p in zone_points), Decimal(0)),
                units=sum((p.units for p in zone_points), Decimal(0)),
            )
        )
        if count == 0:
            notes += (f"{zone_id}: no point fits once the danger margins are kept",)

    if "forehead" in zone_ids:
        notes += (_forehead_note(cache, request.forehead_height_mm, points, margins["brow"]),)
    if not points:
        raise InvalidInputError(
            "zones", "no point fits in any zone once the danger margins are kept"
        )
    return Plan(
        request=request,
        protocol=settings.protocol.id if settings.protocol else None,
        protocol_citation=(
            library.source(settings.protocol.source).citation if settings.protocol else None
        ),
        product=settings.product,
        technique=settings.technique.id,
        spacing_mm=settings.spacing_mm,
        mix=settings.mix,
        points=tuple(points),
        summary=summarise(
            request, settings.mix, tuple(points), tuple(summaries), dead_space_ul=dead_space
        ),
        notes=notes,
        danger_margins_mm=dict(sorted(margins.items())),
        dead_space_ul=dead_space,
        lattice=lattice.value,
    )


def summarise(
    request: PlanRequest,
    mix: WorkingMix,
    points: tuple[PlannedPoint, ...],
    zones: tuple[ZoneSummary, ...],
    *,
    dead_space_ul: Decimal,
) -> PlanSummary:
    """The plan's totals from its points: what the planner writes and every edit recomputes.

    ``dead_space_ul`` is the allowance drawn up beyond the injected volume (the request's, else
    the library's ``dead_space_ul`` figure: :func:`plan_dead_space_ul` for an existing plan)."""
    total_units = sum((p.units for p in points), Decimal(0))
    total_volume = sum((p.volume_ul for p in points), Decimal(0))
    dead_space = dead_space_ul
    draw = dosing.draw_up(mix, total_volume, dead_space)
    # Vials are opened for what goes into the syringe, dead space included.
    units_drawn = dosing.units_for_volume(total_volume + dead_space, mix.units_per_ml)
    vials, left = dosing.vials_needed(units_drawn, mix.stock_vial_units)
    cost = None if request.vial_price is None else request.vial_price * vials
    return PlanSummary(
        needle_entries=len(points),
        total_units=total_units,
        total_volume_ul=total_volume,
        zones=zones,
        draw_up=draw,
        vials_needed=vials,
        units_left_in_vials=left,
        estimated_cost=cost,
        currency=request.currency if cost is not None else None,
    )


def as_charted(plan: Plan, points: tuple[PlannedPoint, ...]) -> Plan:
    """``plan`` holding the charted ``points`` instead of its planned ones, with the per-zone and
    plan totals recomputed from them: a chart that left points out is checked, signed and printed
    as charted, never against the planned summary (which DM109 would find contradicts it)."""
    zones = tuple(
        z.model_copy(
            update={
                "points": sum(1 for p in points if p.zone == z.zone),
                "volume_ul": sum((p.volume_ul for p in points if p.zone == z.zone), Decimal(0)),
                "units": sum((p.units for p in points if p.zone == z.zone), Decimal(0)),
            }
        )
        for z in plan.summary.zones
    )
    summary = summarise(
        plan.request, plan.mix, points, zones, dead_space_ul=plan_dead_space_ul(plan)
    )
    return plan.model_copy(update={"points": points, "summary": summary})


def plan_dead_space_ul(plan: Plan) -> Decimal:
    """The dead space ``plan`` was drawn up with: as recorded, as requested, or (a plan file
    written before plans recorded it) what its draw-up holds beyond the injected volume."""
    if plan.dead_space_ul is not None:
        return plan.dead_space_ul
    if plan.request.dead_space_ul is not None:
        return plan.request.dead_space_ul
    drawn_ml = sum((line.volume_ml for line in plan.summary.draw_up), Decimal(0))
    return max(drawn_ml * 1000 - plan.summary.total_volume_ul, Decimal(0))
