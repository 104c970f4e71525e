"""How long a millimetre of skin is on the picture, zone by zone, from the face's depth.

A photo (and the template's frontal view) is flat: skin that slopes away from the camera is
foreshortened. The forehead leans back, so 20 mm up the forehead's skin is ~15 mm on the
picture at the eyes' scale, and a person measuring on the print would find the margin too
small. Each zone's ratio of picture length to skin length is worked out from the mesh triangles
inside the zone, with their depth (MediaPipe's landmark ``z``, or the template's own), in two
directions: up the face and across it. A scale bar drawn at that ratio is true in that zone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dosemap.resources import template_mesh

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


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
    triangles: int  # mesh triangles the figures rest on


def zone_skin_scale(
    zone: str, polygon_px: FloatArray, landmarks_px: FloatArray, depth_px: FloatArray
) -> ZoneSkinScale | None:
    """The zone's foreshortening from the mesh triangles inside ``polygon_px``.

    Each triangle is a plane in (x, y, depth); a step of one pixel up (or across) the picture
    is a step of ``sqrt(1 + slope²)`` on that plane, where ``slope`` is the plane's depth
    gradient in that direction. The zone's figure is the area-weighted median over its
    triangles, so a few steep triangles at its edge (the side of the nose) do not set it.

    Parameters
    ----------
    polygon_px
        The zone's outline on the picture (V×2).
    landmarks_px
        N×2 landmarks on the picture (N >= 468).
    depth_px
        N depths in the same units as the picture's x (MediaPipe's ``z``; for the template,
        its z in mm over mm per pixel). Only differences matter.

    Returns ``None`` when fewer than 3 triangles lie in the zone (nothing to measure on).
    """
    triangles = template_mesh().triangles
    xy = landmarks_px[:, :2]
    centroids = xy[triangles].mean(axis=1)
    triangles = triangles[inside_polygon(centroids, polygon_px)]
    if len(triangles) < 3:
        return None
    p0, p1, p2 = (np.c_[xy[triangles[:, k]], depth_px[triangles[:, k]]] for k in range(3))
    normal = np.cross(p1 - p0, p2 - p0)
    area = np.abs(normal[:, 2]) / 2  # the triangle's area on the picture
    facing = np.abs(normal[:, 2]) > 1e-9  # seen edge-on: no picture area, no figure
    if facing.sum() < 3:
        return None
    normal, area = normal[facing], area[facing]
    # depth change per picture pixel along x and y on each triangle's plane
    slope_x = -normal[:, 0] / normal[:, 2]
    slope_y = -normal[:, 1] / normal[:, 2]

    def weighted_median(values: FloatArray) -> float:
        order = np.argsort(values)
        cumulative = np.cumsum(area[order])
        return float(values[order][np.searchsorted(cumulative, cumulative[-1] / 2)])

    return ZoneSkinScale(
        zone,
        weighted_median(1.0 / np.sqrt(1.0 + slope_y**2)),
        weighted_median(1.0 / np.sqrt(1.0 + slope_x**2)),
        int(facing.sum()),
    )
