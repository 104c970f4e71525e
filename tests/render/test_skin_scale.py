"""Measurements on the picture are honest (issue 11, #3).

The plan's distances are on the skin; a flat picture foreshortens skin that slopes away. The
picture says so, and draws per-zone bars whose length comes from the mesh's depth: measured
with a zone's bar, neighbouring points come out at their skin distance.
"""

from __future__ import annotations

import numpy as np
import pytest

from dosemap.domain.atlas.mesh import resolve_anchors
from dosemap.domain.plan import PlanRequest
from dosemap.domain.planning import build_plan
from dosemap.domain.planning.regions import zone_outlines
from dosemap.render.scene import Label, LineShape, build_plan_scene, template_projection
from dosemap.render.skin_scale import zone_skin_scale
from dosemap.resources import load_library, template_mesh

MESH = template_mesh()
ZONES = ("forehead", "medial_cheek_left", "medial_cheek_right")


@pytest.fixture(scope="module")
def plan():
    request = PlanRequest(zones=ZONES, protocol="diaspro_2020_grid")
    return build_plan(request, load_library(), MESH)


def _texts(scene, layer):
    return [s.text for s in next(x for x in scene.layers if x.name == layer).shapes
            if isinstance(s, Label)]  # fmt: skip


@pytest.mark.parametrize("zone", ZONES)
def test_a_zone_bar_measures_neighbouring_points_at_their_skin_distance(plan, zone) -> None:
    landmarks, _size, mm_per_px = template_projection(MESH)
    depth_px = MESH.vertices_mm[:, 2] / mm_per_px
    outline = resolve_anchors(list(zone_outlines(plan, MESH)[zone]), landmarks)
    scale = zone_skin_scale(zone, outline, landmarks, depth_px)
    assert scale is not None and scale.triangles >= 10
    points = [p for p in plan.points if p.zone == zone]
    flat = resolve_anchors([p.anchor for p in points], landmarks)
    skin = resolve_anchors([p.anchor for p in points], MESH.vertices_mm)
    with_bar, with_flat_bar = [], []
    for k in range(len(points)):
        distance = np.hypot(*(flat - flat[k]).T)
        distance[k] = np.inf
        j = int(np.argmin(distance))
        dx, dy = np.abs(flat[j] - flat[k])
        ratio = scale.vertical if dy >= dx else scale.horizontal
        on_skin = float(np.linalg.norm(skin[j] - skin[k]))
        with_bar.append(distance[j] * mm_per_px / ratio / on_skin)
        with_flat_bar.append(distance[j] * mm_per_px / on_skin)
    error_bar = abs(float(np.median(with_bar)) - 1.0)
    error_flat = abs(float(np.median(with_flat_bar)) - 1.0)
    assert error_bar < 0.07, (zone, error_bar)
    assert error_bar < error_flat  # the flat bar reads short: the skin slopes away


def test_picture_says_distances_are_on_the_skin_and_draws_zone_bars(plan) -> None:
    landmarks, size, mm_per_px = template_projection(MESH)
    scene = build_plan_scene(
        plan, landmarks, image_size=size, mm_per_px=mm_per_px,
        depth_px=MESH.vertices_mm[:, 2] / mm_per_px,
    )  # fmt: skip
    labels = _texts(scene, "labels")
    assert any(t.startswith("eyebrows ≥20 mm on skin") for t in labels)
    footer = " ".join(_texts(scene, "footer"))
    assert "on the skin, along the face's curve, not on this flat picture" in footer
    assert "20 mm, flat, at the eyes" in footer
    for name in ("forehead", "medial cheek (left)", "medial cheek (right)"):
        assert f"{name}: 10 mm on skin (picture" in footer
    bars = [s for s in next(x for x in scene.layers if x.name == "footer").shapes
            if isinstance(s, LineShape) and s.stroke_width == 4]  # fmt: skip
    assert len(bars) == 1 + 2 * len(ZONES)  # the flat bar, then up and across per zone


def test_without_depth_there_are_no_zone_bars_but_the_skin_note_stays(plan) -> None:
    landmarks, size, mm_per_px = template_projection(MESH)
    scene = build_plan_scene(plan, landmarks, image_size=size, mm_per_px=mm_per_px)
    footer = " ".join(_texts(scene, "footer"))
    assert "not on this flat picture" in footer
    assert "10 mm on skin" not in footer


def test_on_a_photo_the_zone_bars_come_from_mediapipe_depth(plan) -> None:
    from dosemap.services.photo_plan import analyse_photo, draw_plan_on_photo
    from support.faces import face

    picture = draw_plan_on_photo(plan, analyse_photo(face("B000611.jpg")), svg=False)
    footer = " ".join(_texts(picture.scene, "footer"))
    for name in ("forehead", "medial cheek (left)", "medial cheek (right)"):
        assert f"{name}: 10 mm on skin (picture" in footer
