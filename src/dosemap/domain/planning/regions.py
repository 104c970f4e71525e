"""Where in each zone droplets may go: the zone minus its danger margins, as anchored outlines.

For drawing: the outlines are mesh anchors, so they land on the template or on a photo alike.
"""

from __future__ import annotations

import numpy as np
from shapely import MultiPolygon, Polygon, box, union_all

from dosemap.domain.atlas.danger import Margins
from dosemap.domain.atlas.extension import planning_patch, zone_outline
from dosemap.domain.atlas.mesh import FaceMesh, FloatArray, IntArray
from dosemap.domain.atlas.surface import make_anchor
from dosemap.domain.plan import MeshAnchor, Plan
from dosemap.domain.planning.lattice import lattice_in
from dosemap.domain.planning.layout import allowed_mask, clearances_for, danger_outlines

Ring = tuple[MeshAnchor, ...]


def _rings(shape: Polygon) -> list[FloatArray]:
    """Exterior and interior rings of a polygon, each K×2 without the closing repeat."""
    rings = [shape.exterior, *shape.interiors]
    return [np.asarray(ring.coords, dtype=np.float64)[:-1] for ring in rings]


def _row_runs(uv: FloatArray, rows: IntArray, step_mm: float, grow: float) -> list[Polygon]:
    """One box per run of neighbouring allowed cells along a grid row.

    The union of a few hundred runs is the same area as the union of thousands of unit cells,
    and about ten times cheaper (the square grid is row-major, u ascending in each row).
    """
    if len(uv) == 0:
        return []
    breaks = np.flatnonzero((np.diff(rows) != 0) | (np.diff(uv[:, 0]) > 1.5 * step_mm)) + 1
    starts = np.concatenate([[0], breaks])
    ends = np.concatenate([breaks, [len(uv)]]) - 1
    return [
        box(uv[a, 0] - grow, uv[a, 1] - grow, uv[b, 0] + grow, uv[a, 1] + grow)
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True)
    ]


def treatable_outlines(
    plan: Plan, mesh: FaceMesh, margins: Margins, *, step_mm: float = 1.0
) -> dict[str, list[tuple[Ring, tuple[Ring, ...]]]]:
    """Zone id -> the treatable parts of the zone, each as (outline, holes) of mesh anchors.

    The part of a zone at least each governing danger margin away from its danger zone,
    estimated on a ``step_mm`` grid in the zone's unrolled map and smoothed by half a step.
    """
    by_danger = danger_outlines(mesh)
    has_ha = plan.mix.contains_hyaluronic_acid
    result: dict[str, list[tuple[Ring, tuple[Ring, ...]]]] = {}
    for summary in plan.summary.zones:
        patch = planning_patch(mesh, summary.zone, plan.request.forehead_height_mm)
        clearances = clearances_for(summary.zone, has_ha, by_danger, margins)
        grid = lattice_in(patch.polygon, step_mm, hexagonal=False, offset=(0.5, 0.5))
        lifted = patch.lift(grid.uv)
        ok = allowed_mask(lifted.positions_mm, clearances, np.zeros((0, 3)), 0.0)
        half = step_mm / 2
        grow = half * 1.02  # cells overlap a little so that the union has no hairline gaps
        cells = _row_runs(lifted.uv[ok], grid.rows[lifted.index[ok]], step_mm, grow)
        if not cells:
            result[summary.zone] = []
            continue
        area = union_all(cells).intersection(patch.polygon).simplify(half / 2)
        parts = list(area.geoms) if isinstance(area, MultiPolygon) else [area]
        regions: list[tuple[Ring, tuple[Ring, ...]]] = []
        for part in parts:
            if not isinstance(part, Polygon) or part.is_empty or part.area < step_mm**2:
                continue
            anchored: list[Ring] = []
            for ring in _rings(part):
                up = patch.lift(ring)
                anchored.append(
                    tuple(make_anchor(v, w) for v, w in zip(up.vertices, up.weights, strict=True))
                )
            if len(anchored[0]) >= 3:
                regions.append((anchored[0], tuple(r for r in anchored[1:] if len(r) >= 3)))
        result[summary.zone] = regions
    return result


def zone_outlines(plan: Plan, mesh: FaceMesh) -> dict[str, Ring]:
    """Zone id -> the zone's outline as mesh anchors, as planned (the forehead extended above
    the mesh when the plan asked for it), for drawing on the template or a photo."""
    return {
        z.zone: zone_outline(mesh, z.zone, plan.request.forehead_height_mm)
        for z in plan.summary.zones
    }
