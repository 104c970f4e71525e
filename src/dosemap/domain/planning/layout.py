"""Lay out injection points in one zone: lattice, lift to the skin, clip, keep the spacing.

Pure geometry: no doses here. The lattice is laid in the zone's unrolled map
(:mod:`dosemap.domain.atlas.patch`), lifted onto the skin, and every point that falls inside a
governing danger zone or its margin, or nearer than the spacing to a point already placed in
another zone, is dropped. Of 16 lattice placements the one keeping the most points wins (the
first in a fixed order on ties), so coverage is even and the result deterministic.

If the unrolling's residual stretch brings two lifted neighbours closer than the spacing, the
lattice pitch is widened by the measured shortfall and the layout redone, so that the spacing is
a floor on the skin, not an average.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dosemap.domain.atlas._mirror import MIRROR
from dosemap.domain.atlas.danger import DANGER_ZONES, Margins, margin_of, outlines
from dosemap.domain.atlas.mesh import BoolArray, FaceMesh, FloatArray, IntArray
from dosemap.domain.atlas.patch import ZonePatch
from dosemap.domain.atlas.surface import Outline
from dosemap.domain.planning.lattice import lattice_in, offsets, symmetric_offsets

_MAX_WIDENINGS = 4


@dataclass(frozen=True)
class Clearance:
    """Outlines a point must stay ``margin_mm`` outside of (one governing danger zone)."""

    danger_zone: str
    outlines: tuple[Outline, ...]
    margin_mm: float

    def allows(self, points: FloatArray) -> BoolArray:
        """Boolean mask: points at least ``margin_mm`` outside every outline."""
        ok = np.ones(len(points), dtype=bool)
        for outline in self.outlines:
            near = ~outline.farther_than(points, self.margin_mm)
            if near.any():
                ok[near] &= outline.signed_distances(points[near]) >= self.margin_mm
        return ok


def danger_outlines(mesh: FaceMesh) -> dict[str, tuple[Outline, ...]]:
    """Every danger zone's outlines on ``mesh``, by danger-zone id."""
    return {d.id: outlines(d, mesh.vertices_mm) for d in DANGER_ZONES.values()}


def clearances_for(
    zone_id: str,
    mix_contains_ha: bool,
    by_danger: dict[str, tuple[Outline, ...]],
    margins: Margins,
) -> tuple[Clearance, ...]:
    """The clearances (danger outlines + the library's margins) that govern points in
    ``zone_id``. Distances are measured as the checker measures them (chords from the outline's
    edge, :func:`dosemap.domain.atlas.danger.danger_zone_hits`), with no tolerance: the planner
    keeps the whole margin."""
    return tuple(
        Clearance(d.id, by_danger[d.id], float(margin_of(d, margins)))
        for d in sorted(DANGER_ZONES.values(), key=lambda d: d.id)
        if d.governs(zone_id, mix_contains_ha)
    )


@dataclass(frozen=True, eq=False)
class ZoneLayout:
    """Points placed in one zone, in injection order (top row first, viewer's left to right)."""

    positions_mm: FloatArray  # K×3
    vertices: IntArray  # K×3
    weights: FloatArray  # K×3
    rows: IntArray  # K: lattice row (higher = further up the face)
    pitch_mm: float  # lattice pitch used in the unrolled map


def min_pair_distance(points: FloatArray) -> float:
    """Smallest distance between two of the points (inf for fewer than two)."""
    if len(points) < 2:
        return float("inf")
    diff = points[:, None, :] - points[None, :, :]
    dist = np.linalg.norm(diff, axis=2)
    dist[np.diag_indices(len(points))] = np.inf
    return float(dist.min())


def _far_from(points: FloatArray, placed: FloatArray, spacing_mm: float) -> BoolArray:
    if len(placed) == 0 or len(points) == 0:
        return np.ones(len(points), dtype=bool)
    dist = np.linalg.norm(points[:, None, :] - placed[None, :, :], axis=2)
    mask: BoolArray = dist.min(axis=1) >= spacing_mm
    return mask


def allowed_mask(
    points: FloatArray, clearances: tuple[Clearance, ...], placed: FloatArray, spacing_mm: float
) -> BoolArray:
    """Points clear of every danger margin and at least ``spacing_mm`` from ``placed``."""
    ok = _far_from(points, placed, spacing_mm)
    for clearance in clearances:
        ok &= clearance.allows(points)
    return ok


def _thin(points: FloatArray, spacing_mm: float) -> BoolArray:
    """Greedy guard in injection order: drop a point nearer than the spacing to a kept one."""
    keep = np.zeros(len(points), dtype=bool)
    for k in range(len(points)):
        kept = points[keep]
        if len(kept) == 0 or float(np.linalg.norm(kept - points[k], axis=1).min()) >= spacing_mm:
            keep[k] = True
    return keep


@dataclass(frozen=True, eq=False)
class Candidates:
    """One lattice placement lifted onto the skin, only the points clear of every danger margin.

    Depends on the face, the zone, the pitch, the lattice kind, the offset and the clearances,
    never on the rest of the plan: :mod:`dosemap.domain.planning.face_cache` keeps them.
    """

    uv: FloatArray  # K×2
    positions_mm: FloatArray  # K×3
    vertices: IntArray  # K×3
    weights: FloatArray  # K×3
    rows: IntArray  # K


#: (pitch_mm, offset) -> the clear candidates of that placement, for one zone and lattice kind.
CandidateSource = Callable[[float, tuple[float, float]], Candidates]


def clear_candidates(
    patch: ZonePatch,
    pitch_mm: float,
    *,
    hexagonal: bool,
    offset: tuple[float, float],
    clearances: tuple[Clearance, ...],
) -> Candidates:
    """The lattice at ``pitch_mm`` and ``offset`` lifted onto ``patch``, danger margins kept."""
    lattice = lattice_in(patch.polygon, pitch_mm, hexagonal=hexagonal, offset=offset)
    lifted = patch.lift(lattice.uv)
    ok = allowed_mask(lifted.positions_mm, clearances, np.zeros((0, 3)), 0.0)
    return Candidates(
        uv=lifted.uv[ok],
        positions_mm=lifted.positions_mm[ok],
        vertices=lifted.vertices[ok],
        weights=lifted.weights[ok],
        rows=lattice.rows[lifted.index][ok],
    )


def layout_zone(
    patch: ZonePatch,
    spacing_mm: float,
    *,
    hexagonal: bool,
    clearances: tuple[Clearance, ...],
    placed: FloatArray,
    symmetric: bool = False,
    candidates: CandidateSource | None = None,
) -> ZoneLayout:
    """Place points in ``patch`` at ``spacing_mm`` on the skin.

    Parameters
    ----------
    patch
        The zone, unrolled.
    spacing_mm
        Wanted distance between neighbouring points on the skin.
    hexagonal
        Hexagonal lattice (needle entries) or square (stamps edge to edge).
    clearances
        The danger zones that govern this zone, with their margins.
    placed
        Points (K×3) already placed in other zones of the plan.
    symmetric
        Only try lattice placements that are mirror-symmetric (zones on the midline).
    candidates
        Where the clear lattice points of a placement come from (a cache of
        :func:`clear_candidates` for this patch, lattice kind and clearances); computed here
        when not given.
    """

    def computed(pitch_mm: float, offset: tuple[float, float]) -> Candidates:
        return clear_candidates(
            patch, pitch_mm, hexagonal=hexagonal, offset=offset, clearances=clearances
        )

    source = candidates or computed
    # Only points placed near this zone can be too near its points: test those alone.
    low = patch.xyz_triangles.reshape(-1, 3).min(axis=0) - spacing_mm
    high = patch.xyz_triangles.reshape(-1, 3).max(axis=0) + spacing_mm
    placed = placed[((placed >= low) & (placed <= high)).all(axis=1)]
    pitch = spacing_mm
    for _ in range(_MAX_WIDENINGS + 1):
        best: tuple[int, FloatArray, IntArray, IntArray, FloatArray] | None = None
        for offset in symmetric_offsets(hexagonal) if symmetric else offsets():
            found = source(pitch, offset)
            ok = _far_from(found.positions_mm, placed, spacing_mm)
            count = int(ok.sum())
            if best is None or count > best[0]:
                rows = found.rows[ok]
                uv = found.uv[ok]
                order = np.lexsort((uv[:, 0], -rows))
                best = (
                    count,
                    found.positions_mm[ok][order],
                    rows[order],
                    found.vertices[ok][order],
                    found.weights[ok][order],
                )
        assert best is not None
        _, positions, rows, vertices, weights = best
        shortest = min_pair_distance(positions)
        if shortest >= spacing_mm:
            break
        pitch *= spacing_mm / shortest * 1.001
    keep = _thin(positions, spacing_mm)
    return ZoneLayout(positions[keep], vertices[keep], weights[keep], rows[keep], pitch)


def mirror_layout(
    layout: ZoneLayout,
    landmarks_mm: FloatArray,
    *,
    clearances: tuple[Clearance, ...],
    placed: FloatArray,
    spacing_mm: float,
) -> ZoneLayout:
    """The other side's layout: every anchor mirrored through the mesh topology.

    On the symmetric template this is the exact mirror image; on any other face the mirrored
    anchors are re-checked (danger margins, spacing to ``placed``, spacing among themselves)
    and a point that fails is dropped.
    """
    vertices = np.asarray(MIRROR, dtype=np.int64)[layout.vertices]
    positions = np.einsum("kj,kjd->kd", layout.weights, landmarks_mm[vertices])
    # Injection order: top row first, then the viewer's left to right (x ascending).
    order = np.lexsort((positions[:, 0], -layout.rows))
    positions, vertices = positions[order], vertices[order]
    weights, rows = layout.weights[order], layout.rows[order]
    ok = allowed_mask(positions, clearances, placed, spacing_mm)
    ok[ok] = _thin(positions[ok], spacing_mm)
    return ZoneLayout(positions[ok], vertices[ok], weights[ok], rows[ok], layout.pitch_mm)


def mirror_points(vertices: IntArray, weights: FloatArray, landmarks_mm: FloatArray) -> FloatArray:
    """Positions (K×3) of the mirror images of anchored points."""
    mirrored = np.asarray(MIRROR, dtype=np.int64)[vertices]
    result: FloatArray = np.einsum("kj,kjd->kd", weights, landmarks_mm[mirrored])
    return result


def treatable_area_mm2(
    patch: ZonePatch, clearances: tuple[Clearance, ...], *, step_mm: float = 1.0
) -> float:
    """Skin area of the zone left once every governing danger margin is taken out.

    Estimated on a ``step_mm`` grid in the unrolled map (each grid point stands for
    ``step_mm``² of skin).
    """
    lattice = lattice_in(patch.polygon, step_mm, hexagonal=False, offset=(0.5, 0.5))
    lifted = patch.lift(lattice.uv)
    if len(lifted.positions_mm) == 0:
        return 0.0
    ok = allowed_mask(lifted.positions_mm, clearances, np.zeros((0, 3)), 0.0)
    share = float(ok.sum()) / len(lattice.uv)
    return patch.area_mm2 * share
