"""The forehead planned above the mesh, drawn: its outline and points inside the picture."""

from __future__ import annotations

import numpy as np
import pytest

from dosemap.domain.atlas.mesh import resolve_anchors
from dosemap.domain.plan import PlanRequest
from dosemap.domain.planning import build_plan
from dosemap.domain.planning.regions import treatable_outlines, zone_outlines
from dosemap.render.scene import CircleShape, PolygonShape, build_plan_scene, template_projection
from dosemap.resources import load_library, template_mesh

MESH = template_mesh()


@pytest.fixture(scope="module")
def plan():
    request = PlanRequest(
        zones=("forehead", "chin"), protocol="diaspro_2020_grid", forehead_height_mm=60
    )
    return build_plan(request, load_library(), MESH)


def _layer(scene, name):
    return next(layer for layer in scene.layers if layer.name == name)


def test_template_picture_holds_the_extended_forehead(plan):
    outlines = zone_outlines(plan, MESH)
    corners = resolve_anchors([a for ring in outlines.values() for a in ring], MESH.vertices_mm)
    landmarks, size, mm_per_px = template_projection(MESH, beyond_mm=corners)
    _plain, plain_size, _ = template_projection(MESH)
    assert size[1] > plain_size[1] + 10 / mm_per_px  # taller by the forehead above the mesh
    scene = build_plan_scene(
        plan,
        landmarks,
        image_size=size,
        mm_per_px=mm_per_px,
        treatable=treatable_outlines(plan, MESH, plan.danger_margins_mm),
        zone_outlines=outlines,
    )
    _x0, y0, _width, height = scene.image_box
    circles = [s for s in _layer(scene, "points").shapes if isinstance(s, CircleShape)]
    assert len(circles) == len(plan.points)
    centres = np.array([c.centre for c in circles])
    assert (centres[:, 1] >= y0).all() and (centres[:, 1] <= y0 + height).all()
    # The forehead's outline is drawn up to above landmark 10 and encloses the top points.
    top_px = landmarks[10, 1] + y0
    strokes = [s for s in _layer(scene, "zones").shapes if isinstance(s, PolygonShape) and s.stroke]
    forehead = min(strokes, key=lambda s: min(p[1] for p in s.points))
    assert min(p[1] for p in forehead.points) < top_px - 10 / mm_per_px
    assert centres[:, 1].min() >= min(p[1] for p in forehead.points)
    # Tinted treatable area reaches above the mesh too.
    tinted = [s for s in _layer(scene, "zones").shapes if isinstance(s, PolygonShape) and s.fill]
    assert min(p[1] for s in tinted for p in s.points) < top_px


def test_photo_crop_holds_the_extended_forehead(plan, faces_dir):
    from dosemap.services.photo_plan import analyse_photo, draw_plan_on_photo

    picture = draw_plan_on_photo(plan, analyse_photo(faces_dir / "A000014.jpg"), svg=False)
    x0, y0, width, _height = picture.scene.image_box
    circles = [s for s in _layer(picture.scene, "points").shapes if isinstance(s, CircleShape)]
    centres = np.array([c.centre for c in circles])
    assert len(centres) == len(plan.points)
    assert (centres[:, 1] >= y0).all()
    assert (centres[:, 0] >= x0).all() and (centres[:, 0] <= x0 + width).all()
