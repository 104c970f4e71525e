"""A zone unrolled flat: a near-isometric 2D map of the skin of one zone, and back.

A frontal picture foreshortens the temples and the lateral cheeks by a third or more, and even a
zone's own best-fit plane shortens its curved edges. So each zone's triangles are unrolled with
stress majorisation (SMACOF): 2D positions whose distances match the 3D lengths of the mesh
edges and of the two-edge paths. A lattice laid in that (u, v) map and lifted back through the
triangles has, on the skin, the spacing it had on paper, to within the unrolling's stress
(reported by :attr:`ZonePatch.max_stretch`), which the planner then corrects for.

(u, v) is in millimetres; u follows the face's x axis (towards the patient's left) and v its
y axis (up), so lattice rows stay parallel to the brows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from shapely import Polygon, contains_xy, intersects, polygons

from dosemap.domain.atlas.mesh import BoolArray, FaceMesh, FloatArray, IntArray
from dosemap.domain.atlas.surface import best_fit_frame, triangle_normals
from dosemap.domain.atlas.zones import Zone

_SMACOF_ITERATIONS = 80
_MAX_REACH_MM = 70.0  # triangles farther than this from the zone belong to another part of the face


@dataclass(frozen=True, eq=False)
class Lifted:
    """Points lifted from (u, v) onto the mesh: 3D position, triangle, barycentric weights."""

    uv: FloatArray  # K×2
    positions_mm: FloatArray  # K×3
    vertices: IntArray  # K×3 landmark indices of the containing triangle
    weights: FloatArray  # K×3
    index: IntArray  # K: row of each lifted point in the input


@dataclass(frozen=True, eq=False)
class ZonePatch:
    """One zone's triangles unrolled into the (u, v) plane."""

    zone: Zone
    triangles: IntArray  # T×3 mesh vertex indices
    uv_by_vertex: dict[int, tuple[float, float]]
    uv_triangles: FloatArray  # T×3×2
    xyz_triangles: FloatArray  # T×3×3
    polygon: Polygon  # the zone outline in (u, v)
    max_stretch: float  # largest |2D length / 3D length - 1| over the unrolled edges
    #: Re-anchors lifted points on real landmarks (vertices, weights) -> (vertices, weights,
    #: positions); set for a mesh with virtual vertices (the forehead above the mesh).
    to_real: Callable[[IntArray, FloatArray], tuple[IntArray, FloatArray, FloatArray]] | None = None

    @property
    def area_mm2(self) -> float:
        """Skin area of the zone (the unrolled outline's area)."""
        return float(self.polygon.area)

    def lift(self, uv: FloatArray) -> Lifted:
        """Map (u, v) points (K×2) onto the face; points outside every triangle are dropped."""
        if len(uv) == 0:
            empty = np.zeros((0, 3))
            none = np.zeros(0, dtype=np.int64)
            return Lifted(np.zeros((0, 2)), empty, np.zeros((0, 3), dtype=np.int64), empty, none)
        a = self.uv_triangles[:, 0, :]
        e0 = self.uv_triangles[:, 1, :] - a
        e1 = self.uv_triangles[:, 2, :] - a
        det = e0[:, 0] * e1[:, 1] - e0[:, 1] * e1[:, 0]
        det = np.where(np.abs(det) > 1e-12, det, 1e-12)
        rel = uv[:, None, :] - a[None, :, :]  # K×T×2
        w1 = (rel[..., 0] * e1[None, :, 1] - rel[..., 1] * e1[None, :, 0]) / det
        w2 = (e0[None, :, 0] * rel[..., 1] - e0[None, :, 1] * rel[..., 0]) / det
        w0 = 1.0 - w1 - w2
        weights = np.stack([w0, w1, w2], axis=-1)
        inside = (weights >= -1e-9).all(axis=-1)
        found = inside.any(axis=1)
        tri = inside.argmax(axis=1)[found]
        rows = np.nonzero(found)[0]
        w = np.clip(weights[rows, tri], 0.0, None)
        w = w / w.sum(axis=1, keepdims=True)
        xyz = np.einsum("kj,kjd->kd", w, self.xyz_triangles[tri])
        vertices = self.triangles[tri]
        if self.to_real is not None:
            vertices, w, xyz = self.to_real(vertices, w)
        return Lifted(uv[rows], xyz, vertices, w, rows.astype(np.int64))


def _pairs(triangles: IntArray) -> tuple[IntArray, IntArray]:
    """Vertex pairs joined by one mesh edge or by a path of two edges (sorted, unique)."""
    edges = np.vstack([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [2, 0]]])
    edges = np.unique(np.sort(edges, axis=1), axis=0)
    neighbours: dict[int, set[int]] = {}
    for i, j in edges.tolist():
        neighbours.setdefault(i, set()).add(j)
        neighbours.setdefault(j, set()).add(i)
    pairs = {(int(i), int(j)) for i, j in edges.tolist()}
    for centre in sorted(neighbours):
        ring = sorted(neighbours[centre])
        for x in range(len(ring)):
            for y in range(x + 1, len(ring)):
                pairs.add((ring[x], ring[y]))
    ordered = np.asarray(sorted(pairs), dtype=np.int64)
    return ordered[:, 0], ordered[:, 1]


def _smacof(start: FloatArray, i: IntArray, j: IntArray, target: FloatArray) -> FloatArray:
    """Stress majorisation of 2D positions towards the pair distances ``target``."""
    n = len(start)
    weight = 1.0 / np.square(target)
    laplacian = np.zeros((n, n))
    np.add.at(laplacian, (i, j), -weight)
    np.add.at(laplacian, (j, i), -weight)
    laplacian[np.diag_indices(n)] = -laplacian.sum(axis=1)
    inverse = np.linalg.pinv(laplacian)
    x = start.copy()
    for _ in range(_SMACOF_ITERATIONS):
        dist = np.linalg.norm(x[i] - x[j], axis=1)
        ratio = np.where(dist > 1e-12, weight * target / np.where(dist > 1e-12, dist, 1.0), 0.0)
        b = np.zeros((n, n))
        np.add.at(b, (i, j), -ratio)
        np.add.at(b, (j, i), -ratio)
        b[np.diag_indices(n)] = -b.sum(axis=1)
        x = inverse @ (b @ x)
    return x


def _align(moving: FloatArray, reference: FloatArray) -> FloatArray:
    """Rotate and translate ``moving`` onto ``reference`` (least squares, no reflection)."""
    mc, rc = moving.mean(axis=0), reference.mean(axis=0)
    u, _, vt = np.linalg.svd((moving - mc).T @ (reference - rc))
    d = np.sign(np.linalg.det(u @ vt))
    rotation = u @ np.diag([1.0, d]) @ vt
    aligned: FloatArray = (moving - mc) @ rotation + rc
    return aligned


def zone_patch(
    mesh: FaceMesh,
    zone: Zone,
    to_real: Callable[[IntArray, FloatArray], tuple[IntArray, FloatArray, FloatArray]]
    | None = None,
) -> ZonePatch:
    """Unroll ``zone`` of ``mesh`` into a (u, v) map.

    The patch holds every front-facing triangle that meets the zone's outline in the zone's
    best-fit plane, so the whole outline can be lifted back onto the skin. ``to_real`` (see
    :attr:`ZonePatch.to_real`) re-anchors lifted points when ``mesh`` has virtual vertices.
    """
    verts = mesh.vertices_mm
    ring = list(zone.ring)
    corners = verts[ring]
    normals = triangle_normals(mesh)
    frame = best_fit_frame(corners, normals.mean(axis=0))
    outline_plane = Polygon(frame.to_local(corners)[:, :2])
    if not outline_plane.is_valid:
        outline_plane = outline_plane.buffer(0)

    centroids = verts[mesh.triangles].mean(axis=1)
    near = np.linalg.norm(centroids - corners.mean(axis=0), axis=1) < _MAX_REACH_MM
    facing = normals @ frame.axes[2] > 0.05
    candidates = np.nonzero(near & facing)[0]
    local_tris = frame.to_local(verts[mesh.triangles[candidates].reshape(-1)])[:, :2]
    shapes = polygons(local_tris.reshape(-1, 3, 2))
    triangles = mesh.triangles[candidates[intersects(shapes, outline_plane)]]

    ids = np.unique(triangles)
    index = {int(v): k for k, v in enumerate(ids.tolist())}
    start = frame.to_local(verts[ids])[:, :2]
    a, b = _pairs(np.vectorize(index.__getitem__)(triangles))
    target = np.linalg.norm(verts[ids][a] - verts[ids][b], axis=1)
    uv = _align(_smacof(start, a, b, target), start)

    edges = np.unique(
        np.sort(np.vstack([triangles[:, [0, 1]], triangles[:, [1, 2]]]), axis=1), axis=0
    )
    e_uv = np.array([[index[int(p)], index[int(q)]] for p, q in edges.tolist()])
    length_2d = np.linalg.norm(uv[e_uv[:, 0]] - uv[e_uv[:, 1]], axis=1)
    length_3d = np.linalg.norm(verts[edges[:, 0]] - verts[edges[:, 1]], axis=1)
    max_stretch = float(np.abs(length_2d / length_3d - 1.0).max())

    uv_by_vertex = {int(v): (float(uv[k, 0]), float(uv[k, 1])) for k, v in enumerate(ids.tolist())}
    polygon = Polygon([uv_by_vertex[v] for v in ring])
    if not polygon.is_valid:
        polygon = polygon.buffer(0)
    return ZonePatch(
        zone=zone,
        triangles=triangles,
        uv_by_vertex=uv_by_vertex,
        uv_triangles=uv[np.vectorize(index.__getitem__)(triangles)],
        xyz_triangles=verts[triangles],
        polygon=polygon,
        max_stretch=max_stretch,
        to_real=to_real,
    )


def inside(polygon: Polygon, uv: FloatArray) -> BoolArray:
    """Boolean mask of the (u, v) points (K×2) inside ``polygon``."""
    mask: BoolArray = contains_xy(polygon, uv[:, 0], uv[:, 1])
    return mask
