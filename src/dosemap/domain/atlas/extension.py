"""The forehead above the face mesh: an extrapolated band up to a height the injector sets.

MediaPipe's canonical mesh stops at landmark 10, some 30-36 mm above the brows, below the
hairline. :func:`forehead_extension` continues the forehead upwards from the mesh's top edge
(landmarks 103, 67, 109, 10, 338, 297, 332): each top landmark gets a column of virtual vertices
along the local vertical (world "up" laid into the planes of its top triangles), so the slope and
the side-to-side curve of the top of the forehead carry on. It is a first-order guess at skin the
mesh does not see: the real forehead curves back more, and the hairline must be checked on the
patient.

A point placed above the mesh is still anchored to three REAL landmarks: it is written in the
plane of the mesh triangle on the top edge below it, with barycentric weights that extrapolate
(one is negative) and still sum to 1, so :func:`~dosemap.domain.atlas.mesh.resolve_anchors` maps
it onto any photo's landmarks like every other point. Its 3D position is that affine combination,
so spacing and danger margins are checked on the position the anchor really gives.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise

import numpy as np

from dosemap.domain.atlas.danger import DANGER_ZONES, signed_distances
from dosemap.domain.atlas.mesh import (
    TEMPLATE_VERTEX_COUNT,
    FaceMesh,
    FloatArray,
    IntArray,
    resolve_anchors,
)
from dosemap.domain.atlas.patch import ZonePatch, zone_patch
from dosemap.domain.atlas.surface import make_anchor
from dosemap.domain.atlas.zones import Zone, zone
from dosemap.domain.errors import InvalidInputError
from dosemap.domain.plan import MeshAnchor

#: The mesh's top edge over the forehead, from the patient's right (x < 0) to the left.
TOP_EDGE: tuple[int, ...] = (103, 67, 109, 10, 338, 297, 332)
MIDLINE_TOP = 10
_MID = TOP_EDGE.index(MIDLINE_TOP)
# The highest forehead the extrapolation may reach is library data (``max_forehead_height_mm``,
# a software bound tagged UNCONFIRMED). There is no default height: a plan without one stops
# where the mesh does, and the injector sets the patient's own.
_ROW_STEP_MM = 5.0  # virtual rows every 5 mm or less, so the unrolled map stays well shaped
_MIN_EXTRA_MM = 0.25  # never a sliver: flat triangles would break the unrolling
_SOLVE_STEPS = 4


def mesh_top_height_mm(mesh: FaceMesh) -> float:
    """How far landmark 10 (the mesh's top at the midline) is above the brows, in mm."""
    brow = DANGER_ZONES["brow"]
    vertices = mesh.vertices_mm[:TEMPLATE_VERTEX_COUNT]
    return float(signed_distances(brow, vertices, vertices[[MIDLINE_TOP]])[0])


@dataclass(frozen=True, eq=False)
class ForeheadExtension:
    """The face mesh with virtual vertices above the forehead, and the extended forehead zone.

    ``mesh`` holds the real vertices first (indices < 468 unchanged) and the virtual ones after;
    ``zone`` is the forehead outline through the virtual top row. Use :meth:`to_real` on any
    barycentric point of ``mesh`` to get an anchor on real landmarks only.
    """

    mesh: FaceMesh
    zone: Zone
    height_mm: float  # the top edge's height above the brow at the midline
    column: IntArray  # column (index into TOP_EDGE) of every vertex, -1 off the top edge
    strip_triangles: IntArray  # S×3: the real triangle below each top-edge segment

    def to_real(
        self, vertices: IntArray, weights: FloatArray
    ) -> tuple[IntArray, FloatArray, FloatArray]:
        """Re-anchor points (K×3 vertices, K×3 weights) of ``mesh`` on real landmarks only.

        A point on a virtual triangle is projected into the plane of the real top-edge triangle
        of its strip and written in that triangle's barycentric coordinates (extrapolated).

        Returns
        -------
        tuple
            Vertices (K×3, all < 468), weights (K×3, summing to 1) and positions (K×3, mm),
            the positions being exactly ``weights @ landmarks[vertices]``.
        """
        verts = self.mesh.vertices_mm
        vertices = vertices.copy()
        weights = weights.copy()
        virtual = (vertices >= TEMPLATE_VERTEX_COUNT).any(axis=1)
        if virtual.any():
            q = np.einsum("kj,kjd->kd", weights[virtual], verts[vertices[virtual]])
            # A virtual triangle spans columns k and k + 1: strip k (the last column alone
            # belongs to the last strip).
            strip = np.minimum(
                self.column[vertices[virtual]].min(axis=1), len(self.strip_triangles) - 1
            )
            tri = self.strip_triangles[strip]
            vertices[virtual] = tri
            weights[virtual] = _plane_weights(q, verts[tri])
        positions = np.einsum("kj,kjd->kd", weights, verts[vertices])
        return vertices, weights, positions


def _plane_weights(points: FloatArray, triangles: FloatArray) -> FloatArray:
    """Affine coordinates (K×3) of each point's foot in its triangle's plane (unclamped)."""
    a = triangles[:, 0]
    e0, e1 = triangles[:, 1] - a, triangles[:, 2] - a
    rel = points - a
    d00 = np.einsum("kd,kd->k", e0, e0)
    d01 = np.einsum("kd,kd->k", e0, e1)
    d11 = np.einsum("kd,kd->k", e1, e1)
    d20 = np.einsum("kd,kd->k", rel, e0)
    d21 = np.einsum("kd,kd->k", rel, e1)
    denom = d00 * d11 - d01 * d01
    w1 = (d11 * d20 - d01 * d21) / denom
    w2 = (d00 * d21 - d01 * d20) / denom
    weights: FloatArray = np.column_stack([1.0 - w1 - w2, w1, w2])
    return weights


def _strip_triangles(mesh: FaceMesh) -> IntArray:
    """For each top-edge segment (a, b): the mesh triangle (a, b, c) below it."""
    found = []
    for a, b in pairwise(TOP_EDGE):
        has = (mesh.triangles == a).any(axis=1) & (mesh.triangles == b).any(axis=1)
        third = [v for v in mesh.triangles[np.nonzero(has)[0][0]].tolist() if v not in (a, b)]
        found.append((a, b, third[0]))
    return np.asarray(found, dtype=np.int64)


def _wound(mesh: FaceMesh, strip: list[int]) -> tuple[int, int, int]:
    """The mesh's own row (its winding) of the triangle with the corners ``strip``."""
    rows = np.all(np.isin(mesh.triangles, strip), axis=1)
    a, b, c = mesh.triangles[np.nonzero(rows)[0][0]].tolist()
    return a, b, c


def _up_directions(verts: FloatArray, strips: IntArray) -> FloatArray:
    """Unit "local vertical" at each top-edge landmark: world up laid into its strips' planes."""
    world_up = np.array([0.0, 1.0, 0.0])
    in_plane = []
    for a, b, c in strips.tolist():
        normal = np.cross(verts[b] - verts[a], verts[c] - verts[a])
        normal /= np.linalg.norm(normal)
        up = world_up - (world_up @ normal) * normal
        in_plane.append(up / np.linalg.norm(up))
    ups = []
    for k in range(len(TOP_EDGE)):
        near = [in_plane[s] for s in (k - 1, k) if 0 <= s < len(in_plane)]
        mean = np.mean(near, axis=0)
        ups.append(mean / np.linalg.norm(mean))
    return np.asarray(ups)


def _build(mesh: FaceMesh, extra_mm: float, strips: IntArray, ups: FloatArray) -> ForeheadExtension:
    """The mesh with ``extra_mm`` of columns above its top edge, rows at most 5 mm apart."""
    real = mesh.vertices_mm[:TEMPLATE_VERTEX_COUNT]
    extra_mm = max(extra_mm, _MIN_EXTRA_MM)
    rows = max(1, math.ceil(extra_mm / _ROW_STEP_MM))
    columns = len(TOP_EDGE)
    top = real[list(TOP_EDGE)]
    # index[r][k]: vertex of row r (0 = the real top edge) in column k
    index = [list(TOP_EDGE)]
    virtual = []
    for r in range(1, rows + 1):
        start = TEMPLATE_VERTEX_COUNT + (r - 1) * columns
        index.append(list(range(start, start + columns)))
        virtual.append(top + ups * (extra_mm * r / rows))
    vertices = np.vstack([real, *virtual])

    # The real triangles' normals as the mesh winds them (the strips list a, b, c in edge order).
    wound = [_wound(mesh, strip) for strip in strips.tolist()]
    real_normals = np.asarray([np.cross(real[b] - real[a], real[c] - real[a]) for a, b, c in wound])
    added = []
    for r in range(rows):
        for k in range(columns - 1):
            lo_a, lo_b = index[r][k], index[r][k + 1]
            hi_a, hi_b = index[r + 1][k], index[r + 1][k + 1]
            for tri in ((lo_a, lo_b, hi_a), (lo_b, hi_b, hi_a)):
                p = vertices[list(tri)]
                # Same winding as the real triangle below, so the normals agree.
                if float(np.cross(p[1] - p[0], p[2] - p[0]) @ real_normals[k]) < 0:
                    tri = (tri[0], tri[2], tri[1])
                added.append(tri)
    triangles = np.vstack([mesh.triangles, np.asarray(added, dtype=np.int64)])

    column = np.full(len(vertices), -1, dtype=np.int64)
    for row in index:
        column[row] = np.arange(columns)

    # The forehead ring with its top edge lifted: across to the left end, down its column, round
    # the brows to the right end (the ring's own corners), up that column, back to the midline.
    base = zone("forehead").ring
    at = base.index(MIDLINE_TOP)
    rotated = base[at:] + base[:at]
    below = rotated[rotated.index(TOP_EDGE[-1]) : rotated.index(TOP_EDGE[0]) + 1]
    ring = (
        tuple(index[rows][_MID:])
        + tuple(index[r][-1] for r in range(rows - 1, 0, -1))
        + below
        + tuple(index[r][0] for r in range(1, rows))
        + tuple(index[rows][:_MID])
    )
    extended = FaceMesh(vertices_mm=vertices, triangles=triangles)
    height = float(signed_distances(DANGER_ZONES["brow"], real, vertices[[index[rows][_MID]]])[0])
    return ForeheadExtension(
        mesh=extended,
        zone=Zone("forehead", "forehead", ring),
        height_mm=height,
        column=column,
        strip_triangles=strips,
    )


def forehead_extension(mesh: FaceMesh, height_mm: float) -> ForeheadExtension:
    """The forehead continued above the mesh to ``height_mm`` above the brow at the midline.

    Parameters
    ----------
    mesh
        A face of MediaPipe topology in mm (the template, normally).
    height_mm
        Wanted height of the forehead's top edge above the brow at the midline, measured like
        the brow margin (straight from the brow outline). Must be above the mesh's own top
        (:func:`mesh_top_height_mm`); the planner validates the range.
    """
    strips = _strip_triangles(mesh)
    ups = _up_directions(mesh.vertices_mm, strips)
    top = mesh_top_height_mm(mesh)
    extra = max(height_mm - top, 0.0)
    # Height from the brow grows a little slower than the length up the column: solve for it.
    built = _build(mesh, extra, strips, ups)
    for _ in range(_SOLVE_STEPS):
        extra = max(extra + (height_mm - built.height_mm), 0.0)
        built = _build(mesh, extra, strips, ups)
    return built


def check_forehead_height(mesh: FaceMesh, height_mm: Decimal, max_height_mm: Decimal) -> None:
    """Raise unless ``height_mm`` is a forehead top the planner can extend to on ``mesh``.

    Raises
    ------
    InvalidInputError
        Not above the mesh's own top at the midline (rounded up) or above ``max_height_mm``
        (the library's ``max_forehead_height_mm``).
    """
    low = math.ceil(mesh_top_height_mm(mesh))
    allowed = f"{low}-{max_height_mm} mm above the brow at the midline"
    if not low <= height_mm <= max_height_mm:
        raise InvalidInputError("forehead_height_mm", f"{height_mm} mm is out of range", allowed)


def planning_patch(mesh: FaceMesh, zone_id: str, forehead_height_mm: Decimal | None) -> ZonePatch:
    """The unrolled zone the planner lays points in: the forehead extended when asked for."""
    if zone_id == "forehead" and forehead_height_mm is not None:
        extension = forehead_extension(mesh, float(forehead_height_mm))
        return zone_patch(extension.mesh, extension.zone, extension.to_real)
    return zone_patch(mesh, zone(zone_id))


def zone_outline(
    mesh: FaceMesh, zone_id: str, forehead_height_mm: Decimal | None
) -> tuple[MeshAnchor, ...]:
    """The zone's outline as anchors on real landmarks, the extended forehead's included."""
    if zone_id != "forehead" or forehead_height_mm is None:
        return tuple(
            MeshAnchor(vertices=(v, v, v), weights=(1.0, 0.0, 0.0)) for v in zone(zone_id).ring
        )
    extension = forehead_extension(mesh, float(forehead_height_mm))
    ring = np.asarray(extension.zone.ring, dtype=np.int64)
    corners = np.column_stack([ring, ring, ring])
    weights = np.tile(np.array([1.0, 0.0, 0.0]), (len(ring), 1))
    vertices, weights, _ = extension.to_real(corners, weights)
    return tuple(make_anchor(v, w) for v, w in zip(vertices, weights, strict=True))


#: Zone corners by (face, zone, forehead height): the face's vertex array is kept with them,
#: so its id is not reused while the entry lives (and the array is read-only).
_CORNERS: dict[tuple[int, str, Decimal | None], tuple[FloatArray, FloatArray]] = {}
_CORNERS_KEPT = 512


def zone_corners(mesh: FaceMesh, zone_id: str, forehead_height_mm: Decimal | None) -> FloatArray:
    """The zone's outline corners on the face (mm, R×3, read-only): :func:`zone_outline`'s
    anchors resolved, made once per face, zone and forehead height (the safety check asks for
    every zone's on every edit)."""
    key = (id(mesh.vertices_mm), zone_id, forehead_height_mm)
    found = _CORNERS.get(key)
    if found is not None and found[0] is mesh.vertices_mm:
        return found[1]
    corners = resolve_anchors(list(zone_outline(mesh, zone_id, forehead_height_mm)),
                              mesh.vertices_mm)  # fmt: skip
    corners.setflags(write=False)
    if len(_CORNERS) >= _CORNERS_KEPT:
        _CORNERS.clear()
    _CORNERS[key] = (mesh.vertices_mm, corners)
    return corners
