"""Point lattices in a zone's unrolled (u, v) map.

Needle entries sit on a hexagonal lattice (every neighbour at the same distance, rows parallel to
the brows); a microinfusion stamp sits on a square lattice at the device pitch, edge to edge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from shapely import Polygon, contains_xy

from dosemap.domain.atlas.mesh import FloatArray, IntArray

#: Offsets tried per lattice axis, as fractions of a cell: 4 × 4 placements.
OFFSET_STEPS = 4


@dataclass(frozen=True, eq=False)
class LatticePoints:
    """Lattice points inside a polygon, with their row index (rows run along u)."""

    uv: FloatArray  # K×2
    rows: IntArray  # K


def basis(pitch: float, hexagonal: bool) -> tuple[tuple[float, float], tuple[float, float]]:
    """The two lattice vectors: hexagonal (60°) or square, first one along u.

    Examples
    --------
    >>> basis(10.0, hexagonal=False)
    ((10.0, 0.0), (0.0, 10.0))
    """
    if hexagonal:
        return (pitch, 0.0), (pitch / 2.0, pitch * math.sqrt(3.0) / 2.0)
    return (pitch, 0.0), (0.0, pitch)


def offsets() -> list[tuple[float, float]]:
    """Fractional lattice offsets to try, the centred one first (deterministic order)."""
    steps = [k / OFFSET_STEPS for k in range(OFFSET_STEPS)]
    return [(a, b) for a in steps for b in steps]


def symmetric_offsets(hexagonal: bool) -> list[tuple[float, float]]:
    """Offsets whose lattice is mirror-symmetric about the polygon centroid's u.

    Row j of the lattice sits at ``u = c + (i + a + b/2) p`` (hexagonal; ``a + 0·b`` square);
    it is symmetric about ``c`` when that shift is a multiple of p/2.

    Examples
    --------
    >>> symmetric_offsets(hexagonal=False)[:2]
    [(0.0, 0.0), (0.0, 0.25)]
    """
    chosen = []
    for a, b in offsets():
        shift = a + (b / 2 if hexagonal else 0.0)
        if abs(shift * 2 - round(shift * 2)) < 1e-9:
            chosen.append((a, b))
    return chosen


def lattice_in(
    polygon: Polygon, pitch: float, *, hexagonal: bool, offset: tuple[float, float]
) -> LatticePoints:
    """Lattice points inside ``polygon``, the lattice anchored at its centroid plus ``offset``.

    Parameters
    ----------
    polygon
        Outline in the (u, v) plane, mm.
    pitch
        Distance between neighbouring points, mm (> 0).
    hexagonal
        Hexagonal lattice if true, else square.
    offset
        Shift of the lattice in cell fractions along its two basis vectors.

    Examples
    --------
    >>> from shapely import box
    >>> pts = lattice_in(box(0, 0, 25, 25), 10.0, hexagonal=False, offset=(0.0, 0.0))
    >>> len(pts.uv)
    9
    """
    (ax, ay), (bx, by) = basis(pitch, hexagonal)
    centre = polygon.centroid
    origin_u = centre.x + offset[0] * ax + offset[1] * bx
    origin_v = centre.y + offset[0] * ay + offset[1] * by
    min_u, min_v, max_u, max_v = polygon.bounds
    span = max(max_u - min_u, max_v - min_v)
    reach = math.ceil(span / min(pitch, by)) + 2
    j = np.arange(-reach, reach + 1)
    i = np.arange(-2 * reach, 2 * reach + 1)
    jj, ii = np.meshgrid(j, i, indexing="ij")
    u = origin_u + ii * ax + jj * bx
    v = origin_v + ii * ay + jj * by
    mask = contains_xy(polygon, u, v)
    uv = np.column_stack([u[mask], v[mask]])
    return LatticePoints(uv=uv, rows=jj[mask].astype(np.int64))
