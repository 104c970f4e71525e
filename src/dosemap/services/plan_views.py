"""What the plan editor and chart mode draw the plan on: the face as landmarks in a picture.

A :class:`FaceView` is the face's 468 landmarks in the picture's own units (the template face
seen from the front at :data:`TEMPLATE_PX_PER_MM`, or a photo's pixels), the mesh triangles
that face the viewer, each landmark's depth (template millimetres towards the viewer), and the
zone and danger-zone outlines as landmark rings. The browser places every point through its
mesh anchor and anchors a dropped point by the triangle under it, so the same plan lands on
the template or on any photo of the patient.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

from dosemap.domain.atlas.danger import DANGER_ZONES
from dosemap.domain.atlas.surface import triangle_normals
from dosemap.domain.atlas.zones import ZONE_ORDER, ZONES
from dosemap.render.scene import template_projection
from dosemap.resources import template_mesh

if TYPE_CHECKING:
    from dosemap.imaging.quality import PhotoAnalysis

TEMPLATE_PX_PER_MM = 4.0
_FACING = 0.05  # a triangle whose normal has less than this towards the viewer is edge-on
_LANDMARKS = 468


@dataclass(frozen=True)
class FaceView:
    """The face in one picture (see the module docstring); JSON for the page as :meth:`data`."""

    width: float
    height: float
    landmarks: list[list[float]]
    depth: list[float]
    triangles: list[list[int]]
    mm_per_unit: float
    image_url: str | None = None
    caption: str = ""
    zones: list[dict[str, Any]] = field(default_factory=list)
    dangers: list[dict[str, Any]] = field(default_factory=list)

    def data(self, *, point_radius_mm: float) -> dict[str, Any]:
        """What the page's script reads; point radius in the picture's units."""
        return {
            "width": self.width,
            "height": self.height,
            "landmarks": self.landmarks,
            "depth": self.depth,
            "triangles": self.triangles,
            "image_url": self.image_url,
            "zones": self.zones,
            "dangers": self.dangers,
            "point_radius": round(point_radius_mm / self.mm_per_unit, 2),
            "mm_per_unit": self.mm_per_unit,
        }


@cache
def _outlines() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[list[int]], list[float]]:
    mesh = template_mesh()
    zones = [{"id": z, "name": ZONES[z].name, "ring": list(ZONES[z].ring)} for z in ZONE_ORDER]
    dangers = [
        {"id": d.id, "name": d.name, "rings": [list(r) for r in d.rings], "ha_only": d.requires_ha}
        for d in sorted(DANGER_ZONES.values(), key=lambda d: d.id)
    ]
    facing = triangle_normals(mesh)[:, 2] > _FACING
    triangles = mesh.triangles[facing].tolist()
    depth = [round(float(z), 2) for z in mesh.vertices_mm[:, 2]]
    return zones, dangers, triangles, depth


def _dangers_for(has_ha: bool) -> list[dict[str, Any]]:
    _, dangers, _, _ = _outlines()
    return [d for d in dangers if has_ha or not d["ha_only"]]


@cache
def _template() -> tuple[list[list[float]], float, float]:
    pixels, (width, height), _ = template_projection(template_mesh(), TEMPLATE_PX_PER_MM)
    return np.round(pixels, 2).tolist(), float(width), float(height)


def template_view(*, has_ha: bool) -> FaceView:
    """The template face from the front (the plan's own millimetres)."""
    landmarks, width, height = _template()
    zones, _, triangles, depth = _outlines()
    return FaceView(
        width=width,
        height=height,
        landmarks=landmarks,
        depth=depth,
        triangles=triangles,
        mm_per_unit=1.0 / TEMPLATE_PX_PER_MM,
        caption="On the template face (no photo of this patient with a face found).",
        zones=zones,
        dangers=_dangers_for(has_ha),
    )


def photo_view(analysis: PhotoAnalysis, image_url: str, *, has_ha: bool, caption: str) -> FaceView:
    """The face on a photo: landmarks in the photo's pixels, mm from its iris scale."""
    zones, _, triangles, depth = _outlines()
    width, height = analysis.photo.size
    xy = np.asarray(analysis.landmarks.xy[:_LANDMARKS], dtype=np.float64)
    return FaceView(
        width=float(width),
        height=float(height),
        landmarks=np.round(xy, 2).tolist(),
        depth=depth,
        triangles=triangles,
        mm_per_unit=float(analysis.scale.mm_per_px),
        image_url=image_url,
        caption=caption,
        zones=zones,
        dangers=_dangers_for(has_ha),
    )
