"""How long a millimetre of skin is on the picture, zone by zone, from the face's depth.

A photo (and the template's frontal view) is flat: skin that slopes away from the camera is
foreshortened. The forehead leans back, so 20 mm up the forehead's skin is ~15 mm on the
picture at the eyes' scale, and a person measuring on the print would find the margin too
small. Each zone's ratio of picture length to skin length is worked out from the mesh edges
inside the zone, with their depth (MediaPipe's landmark ``z``, or the template's own), in two
directions: up the face and across it. A scale bar drawn at that ratio is true in that zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

from dosemap.resources import template_mesh

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@cache
def _mesh_edges() -> IntArray:
    """Every edge of the template's triangles once (E×2 vertex indices)."""
    triangles = template_mesh().triangles
    pairs = np.vstack([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [2, 0]]])
    pairs = np.sort(pairs, axis=1)
    edges: IntArray = np.unique(pairs, axis=0).astype(np.int64)
    return edges


def inside_polygon(points: FloatArray, polygon: FloatArray) -> npt.NDArray[np.bool_]:
    """Whether each point (K×2) lies inside ``polygon`` (V×2, not closed): ray casting.

    Examples
    --------
    >>> square = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]])
    >>> inside_polygon(np.array([[5.0, 5.0], [15.0, 5.0]]), square).tolist()
    [True, False]
    """
    x, y = points[:, 0, None], points[:, 1, None]
    x0, y0 = polygon[:, 0], polygon[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    crosses = (y0 > y) != (y1 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        at = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
    hits: npt.NDArray[np.bool_] = (crosses & (x < at)).sum(axis=1) % 2 == 1
    return hits


@dataclass(frozen=True)
class ZoneSkinScale:
    """Picture length per skin length in a zone (1.0: no foreshortening), by direction."""

    zone: str
    vertical: float  # up and down the face (the forehead's slope shortens this)
    horizontal: float  # across the face (the cheeks' curve towards the ears shortens this)
    edges: int  # mesh edges the figures rest on


def zone_skin_scale(
    zone: str, polygon_px: FloatArray, landmarks_px: FloatArray, depth_px: FloatArray
) -> ZoneSkinScale | None:
    """The zone's foreshortening from the mesh edges inside ``polygon_px``.

    Parameters
    ----------
    polygon_px
        The zone's outline on the picture (V×2).
    landmarks_px
        N×2 landmarks on the picture (N >= 468).
    depth_px
        N depths in the same units as the picture's x (MediaPipe's ``z``; for the template,
        its z in mm over mm per pixel). Only differences matter.

    Returns ``None`` when fewer than 4 edges lie in the zone (nothing to measure on).
    """
    edges = _mesh_edges()
    inside = inside_polygon(landmarks_px[:468, :2], polygon_px)
    edges = edges[inside[edges[:, 0]] & inside[edges[:, 1]]]
    if len(edges) < 4:
        return None
    delta = landmarks_px[edges[:, 1], :2] - landmarks_px[edges[:, 0], :2]
    depth = depth_px[edges[:, 1]] - depth_px[edges[:, 0]]
    flat = np.hypot(delta[:, 0], delta[:, 1])
    skin = np.sqrt(flat**2 + depth**2)
    upright = np.abs(delta[:, 1]) >= np.abs(delta[:, 0])

    def ratio(mask: npt.NDArray[np.bool_]) -> float:
        # The picture length of the zone's edges in one direction over their skin length.
        total = float(skin[mask].sum())
        return float(flat[mask].sum()) / total if total > 0 else 1.0

    return ZoneSkinScale(zone, ratio(upright), ratio(~upright), len(edges))
