"""Geometry on the face surface: local frames, signed distances to outlines, mesh anchors.

Coordinates are the mesh frame in millimetres (x towards the patient's left, y up, z out of the
face). A distance "on the skin" between two nearby surface points is taken as their straight
(chord) distance: over 20 mm on a face whose radius of curvature is 60 mm or more, the chord is
within 1 % of the geodesic and never longer, so a margin checked on chords is kept on the skin.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from shapely import Polygon, contains_xy

from dosemap.domain.atlas.mesh import BoolArray, FaceMesh, FloatArray, IntArray
from dosemap.domain.plan import MeshAnchor

ANCHOR_DECIMALS = 6
_INSIDE_SLACK_MM = 10.0  # how far the skin may bulge beyond an outline's corners
_BOUND_SLACK_MM = 1e-6  # rounding room for the centre-distance bound (values are ~1e-13 off)


@dataclass(frozen=True, eq=False)
class Frame:
    """An orthonormal local frame: ``origin`` (3,), ``axes`` 3×3 rows u, v, normal.

    ``u`` follows the face's x axis, ``v`` its y axis (up), ``normal`` points out of the face.
    """

    origin: FloatArray
    axes: FloatArray

    def to_local(self, points: FloatArray) -> FloatArray:
        """K×3 mesh points to K×3 local (u, v, height) coordinates."""
        local: FloatArray = (points - self.origin) @ self.axes.T
        return local


def best_fit_frame(points: FloatArray, outward: FloatArray) -> Frame:
    """The plane that best fits ``points`` (K×3), oriented by ``outward`` (3,), u along +x.

    Examples
    --------
    >>> pts = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]])
    >>> frame = best_fit_frame(pts, np.array([0.0, 0, 1]))
    >>> np.round(frame.axes, 6).tolist()
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    """
    origin = points.mean(axis=0)
    _, _, vt = np.linalg.svd(points - origin)
    normal = vt[2] if float(vt[2] @ outward) >= 0 else -vt[2]
    x_axis = np.array([1.0, 0.0, 0.0])
    u = x_axis - (x_axis @ normal) * normal
    if np.linalg.norm(u) < 1e-6:  # a plane facing sideways: keep "up" instead
        y_axis = np.array([0.0, 1.0, 0.0])
        v = y_axis - (y_axis @ normal) * normal
        v /= np.linalg.norm(v)
        u = np.cross(v, normal)
    else:
        u /= np.linalg.norm(u)
        v = np.cross(normal, u)
    return Frame(origin=origin, axes=np.vstack([u, v, normal]))


def triangle_normals(mesh: FaceMesh) -> FloatArray:
    """Unit normals (M×3) of the mesh triangles, pointing out of the face."""
    a, b, c = (mesh.vertices_mm[mesh.triangles[:, k]] for k in range(3))
    normals = np.cross(b - a, c - a)
    norms = np.linalg.norm(normals, axis=1, keepdims=True)
    unit: FloatArray = normals / np.where(norms > 0, norms, 1.0)
    # The OBJ's winding is consistent; orient so the face's front looks towards +z.
    if float(unit[:, 2].sum()) < 0:
        unit = -unit
    return unit


def segment_distances(points: FloatArray, starts: FloatArray, ends: FloatArray) -> FloatArray:
    """Distance from each of K points to the nearest of S segments: K values.

    Examples
    --------
    >>> d = segment_distances(np.array([[0.0, 1, 0]]), np.array([[-1.0, 0, 0]]),
    ...                       np.array([[1.0, 0, 0]]))
    >>> d.tolist()
    [1.0]
    """
    seg = ends - starts  # S×3
    length2 = np.einsum("sd,sd->s", seg, seg)
    rel = points[:, None, :] - starts[None, :, :]  # K×S×3
    t = np.einsum("ksd,sd->ks", rel, seg) / np.where(length2 > 0, length2, 1.0)
    t = np.clip(t, 0.0, 1.0)
    closest = starts[None, :, :] + t[..., None] * seg[None, :, :]
    dist: FloatArray = np.linalg.norm(points[:, None, :] - closest, axis=2).min(axis=1)
    return dist


@dataclass(frozen=True, eq=False)
class Outline:
    """A closed outline on the face (3D corners, R×3) with its own fitted frame."""

    corners: FloatArray
    frame: Frame
    polygon: Polygon  # the outline in its frame's (u, v) plane
    centre: FloatArray  # mean of the corners
    radius: float  # farthest corner from the centre

    @classmethod
    def from_corners(cls, corners: FloatArray) -> Outline:
        """Fit the frame; the outward direction is the one the face looks towards (+z).

        The same corners give the same outline: it is made once and kept (the safety rules
        and the planner ask for every danger zone's outlines on every check).
        """
        array = np.ascontiguousarray(corners, dtype=np.float64)
        return _outline_of(array.tobytes(), array.shape)

    @classmethod
    def _fit(cls, corners: FloatArray) -> Outline:
        frame = best_fit_frame(corners, np.array([0.0, 0.0, 1.0]))
        local = frame.to_local(corners)
        polygon = Polygon(local[:, :2])
        if not polygon.is_valid:
            polygon = polygon.buffer(0)
        centre = corners.mean(axis=0)
        radius = float(np.linalg.norm(corners - centre, axis=1).max())
        return cls(corners=corners, frame=frame, polygon=polygon, centre=centre, radius=radius)

    def farther_than(self, points: FloatArray, distance_mm: float) -> BoolArray:
        """Cheap test: points certainly more than ``distance_mm`` outside the outline."""
        far: BoolArray = np.linalg.norm(points - self.centre, axis=1) > self.radius + distance_mm
        return far

    def signed_distances(self, points: FloatArray) -> FloatArray:
        """Distance (mm) from each surface point to the outline's edge; negative inside."""
        if len(points) == 0:
            return np.zeros(0, dtype=np.float64)
        ends = np.roll(self.corners, -1, axis=0)
        dist = segment_distances(points, self.corners, ends)
        inside, _ = self._inside(points)
        signed: FloatArray = np.where(inside, -dist, dist)
        return signed

    def _inside(self, points: FloatArray) -> tuple[BoolArray, FloatArray]:
        """Which points are inside, and each one's distance from the centre."""
        local = self.frame.to_local(points)
        # Inside: over the outline in its plane AND near it; a point on another part of the
        # face can project into a small, tilted outline (a nostril) from far away.
        from_centre = np.linalg.norm(points - self.centre, axis=1)
        near = from_centre <= self.radius + _INSIDE_SLACK_MM
        inside: BoolArray = contains_xy(self.polygon, local[:, 0], local[:, 1]) & near
        return inside, from_centre

    def _signed_rows(self, points: FloatArray, rows: BoolArray, inside: BoolArray) -> FloatArray:
        """:meth:`signed_distances` of the chosen rows only: each row's arithmetic is its own
        (the segment distances are per point), so the values are the same bit for bit."""
        dist = segment_distances(
            np.ascontiguousarray(points[rows]), self.corners, np.roll(self.corners, -1, axis=0)
        )
        signed: FloatArray = np.where(inside[rows], -dist, dist)
        return signed

    def signed_distances_below(self, points: FloatArray, limit_mm: float) -> FloatArray:
        """:meth:`signed_distances` where it is below ``limit_mm``; ``+inf`` elsewhere.

        A point outside the outline is at least its distance from the centre less the radius
        from every edge (the edges lie in that ball), so points that bound puts beyond the
        limit are not measured: a check for points too near gives the same answer, cheaper.
        """
        result = np.full(len(points), np.inf, dtype=np.float64)
        if len(points) == 0:
            return result
        inside, from_centre = self._inside(points)
        rows = inside | (from_centre - self.radius <= limit_mm + _BOUND_SLACK_MM)
        if rows.any():
            result[rows] = self._signed_rows(points, rows, inside)
        return result

    def signed_distances_above(self, points: FloatArray, limit_mm: float) -> FloatArray:
        """:meth:`signed_distances` where it is above ``limit_mm``; ``-inf`` elsewhere.

        A point inside the outline is at a negative distance, never above a limit >= 0, so only
        the points outside are then measured: a check for points too far out gives the same answer.
        """
        if limit_mm < 0:  # inside points could be above it: measure every point
            full = self.signed_distances(points)
            return np.where(full > limit_mm, full, -np.inf)
        result = np.full(len(points), -np.inf, dtype=np.float64)
        if len(points) == 0:
            return result
        inside, _ = self._inside(points)
        rows = ~inside
        if rows.any():
            result[rows] = self._signed_rows(points, rows, inside)
        return result


@lru_cache(maxsize=1024)
def _outline_of(corner_bytes: bytes, shape: tuple[int, ...]) -> Outline:
    """The outline of these corners (kept: see :meth:`Outline.from_corners`), read-only."""
    corners = np.frombuffer(corner_bytes, dtype=np.float64).reshape(shape).copy()
    outline = Outline._fit(corners)
    for array in (outline.corners, outline.centre, outline.frame.origin, outline.frame.axes):
        array.setflags(write=False)
    return outline


def closest_surface_points(
    mesh: FaceMesh, points: FloatArray
) -> tuple[IntArray, FloatArray, FloatArray]:
    """For K points: the nearest triangle, barycentric weights (K×3) and distance (K).

    The nearest point of each triangle is either the point's foot in the triangle's plane
    (when that lies inside) or the nearest point of one of its edges.
    """
    verts = mesh.vertices_mm
    a, b, c = (verts[mesh.triangles[:, k]] for k in range(3))  # M×3 each
    e0, e1 = b - a, c - a
    d00 = np.einsum("md,md->m", e0, e0)
    d01 = np.einsum("md,md->m", e0, e1)
    d11 = np.einsum("md,md->m", e1, e1)
    denom = d00 * d11 - d01 * d01
    denom = np.where(np.abs(denom) > 1e-12, denom, 1e-12)
    rel = points[:, None, :] - a[None, :, :]  # K×M×3
    d20 = np.einsum("kmd,md->km", rel, e0)
    d21 = np.einsum("kmd,md->km", rel, e1)
    w1 = (d11 * d20 - d01 * d21) / denom
    w2 = (d00 * d21 - d01 * d20) / denom
    w0 = 1.0 - w1 - w2
    weights = np.stack([w0, w1, w2], axis=-1)  # K×M×3
    inside = (weights >= 0).all(axis=-1)
    foot = a[None] + w1[..., None] * e0[None] + w2[..., None] * e1[None]
    plane_dist = np.linalg.norm(points[:, None, :] - foot, axis=2)

    # Edges: project onto each edge, clamp, keep the nearest.
    best_edge_dist = np.full(plane_dist.shape, np.inf)
    best_edge_w = np.zeros(weights.shape)
    corners = (a, b, c)
    for i, j in ((0, 1), (1, 2), (2, 0)):
        p, q = corners[i], corners[j]
        seg = q - p
        length2 = np.einsum("md,md->m", seg, seg)
        t = np.einsum("kmd,md->km", points[:, None, :] - p[None], seg) / np.where(
            length2 > 0, length2, 1.0
        )
        t = np.clip(t, 0.0, 1.0)
        near = p[None] + t[..., None] * seg[None]
        dist = np.linalg.norm(points[:, None, :] - near, axis=2)
        better = dist < best_edge_dist
        w = np.zeros(weights.shape)
        w[..., i] = 1.0 - t
        w[..., j] = t
        best_edge_dist = np.where(better, dist, best_edge_dist)
        best_edge_w = np.where(better[..., None], w, best_edge_w)

    dist_all = np.where(inside, plane_dist, best_edge_dist)
    w_all = np.where(inside[..., None], weights, best_edge_w)
    tri: IntArray = dist_all.argmin(axis=1).astype(np.int64)
    rows = np.arange(len(points))
    return tri, w_all[rows, tri], dist_all[rows, tri]


def make_anchor(vertices: IntArray, weights: FloatArray) -> MeshAnchor:
    """A :class:`MeshAnchor` with weights rounded to 6 decimals that still sum to exactly 1."""
    w0 = round(float(weights[0]), ANCHOR_DECIMALS)
    w1 = round(float(weights[1]), ANCHOR_DECIMALS)
    w2 = round(1.0 - w0 - w1, ANCHOR_DECIMALS)
    return MeshAnchor(
        vertices=(int(vertices[0]), int(vertices[1]), int(vertices[2])), weights=(w0, w1, w2)
    )


def anchor_point(mesh: FaceMesh, point_mm: FloatArray | tuple[float, float, float]) -> MeshAnchor:
    """Anchor a point to the mesh: the nearest surface point as triangle + barycentric weights.

    Parameters
    ----------
    mesh
        The face the point was placed on (template mm, or any mesh of the same topology).
    point_mm
        (x, y, z) in the mesh's frame. A point off the surface is anchored at its nearest
        surface point.

    Examples
    --------
    >>> from dosemap.domain.atlas.mesh import parse_obj
    >>> mesh = parse_obj("v 0 0 0\\nv 1 0 0\\nv 0 1 0\\nf 1 2 3\\n")
    >>> anchor_point(mesh, (2.5, 2.5, 1.0))
    MeshAnchor(vertices=(0, 1, 2), weights=(0.5, 0.25, 0.25))
    """
    point = np.asarray(point_mm, dtype=np.float64).reshape(1, 3)
    tri, weights, _ = closest_surface_points(mesh, point)
    return make_anchor(mesh.triangles[int(tri[0])], weights[0])
