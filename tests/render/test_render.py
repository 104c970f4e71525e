"""The plan picture: one scene, drawn as SVG and PNG, on the template or on photo landmarks."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from dosemap.domain.atlas.mesh import resolve_anchors
from dosemap.domain.plan import PlanRequest
from dosemap.domain.planning import build_plan
from dosemap.domain.planning.regions import treatable_outlines
from dosemap.render.raster import png_bytes, to_png
from dosemap.render.scene import (
    CircleShape,
    Label,
    Layer,
    LineShape,
    Scene,
    build_plan_scene,
    template_projection,
)
from dosemap.render.svg import to_svg
from dosemap.resources import load_library, template_mesh

MESH = template_mesh()
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def plan():
    request = PlanRequest(
        zones=("forehead", "medial_cheek_left", "chin"), protocol="diaspro_2020_grid"
    )
    return build_plan(request, load_library(), MESH)


def _layer(scene, name):
    return next(layer for layer in scene.layers if layer.name == name)


def test_one_numbered_circle_per_point(plan):
    landmarks, size, mm_per_px = template_projection(MESH)
    scene = build_plan_scene(plan, landmarks, image_size=size, mm_per_px=mm_per_px)
    points = _layer(scene, "points").shapes
    circles = [s for s in points if isinstance(s, CircleShape)]
    numbers = [s.text for s in points if isinstance(s, Label)]
    assert len(circles) == len(plan.points)
    assert numbers == [str(p.number) for p in plan.points]


def test_title_scale_bar_and_off_label_line(plan):
    landmarks, size, mm_per_px = template_projection(MESH)
    scene = build_plan_scene(plan, landmarks, image_size=size, mm_per_px=mm_per_px)
    texts = [s.text for layer in scene.layers for s in layer.shapes if isinstance(s, Label)]
    assert any("off-label intradermal use; protocol: diaspro" in t.lower() for t in texts)
    assert any(f"{plan.summary.needle_entries} entries" in t for t in texts)
    bars = [s for s in _layer(scene, "footer").shapes if isinstance(s, LineShape)]
    length_px = max(abs(b.end[0] - b.start[0]) for b in bars)
    assert length_px * mm_per_px == pytest.approx(20.0)
    no_bar = build_plan_scene(plan, landmarks, image_size=size)
    assert not [s for s in _layer(no_bar, "footer").shapes if isinstance(s, LineShape)]


def test_photo_landmarks_move_the_points_with_the_face(plan):
    """The same plan on a photo: points follow the landmarks, not the template."""
    landmarks, size, _ = template_projection(MESH)
    photo = landmarks * 1.5 + [40.0, 10.0]
    photo_size = (int(size[0] * 1.5) + 80, int(size[1] * 1.5) + 20)
    scene = build_plan_scene(plan, photo, image_size=photo_size, face_outline=False)
    x0, y0, _, _ = scene.image_box
    centres = [s.centre for s in _layer(scene, "points").shapes if isinstance(s, CircleShape)]
    expected = resolve_anchors([p.anchor for p in plan.points], photo) + np.array([x0, y0])
    assert np.allclose(centres, expected)
    image = to_png(scene, background=Image.new("RGB", photo_size, "#d2b48c"))
    assert image.size == (scene.width, scene.height)
    # The photo shows through where nothing is drawn.
    assert image.getpixel((x0 + 3, y0 + 3)) == (210, 180, 140)


def test_svg_is_well_formed_and_escaped(plan):
    landmarks, size, mm_per_px = template_projection(MESH)
    scene = build_plan_scene(
        plan,
        landmarks,
        image_size=size,
        mm_per_px=mm_per_px,
        product_name='Tox <"A&B">',
        treatable=treatable_outlines(plan, MESH, plan.danger_margins_mm),
    )
    document = to_svg(scene)
    root = ET.fromstring(document.encode())
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert any('Tox <"A&B">' in t for t in texts)
    assert len(root.findall(f".//{SVG}circle")) >= len(plan.points)
    assert to_svg(scene) == document  # same scene, same bytes


def test_png_has_the_scene_size_and_draws_points(plan):
    landmarks, size, mm_per_px = template_projection(MESH)
    scene = build_plan_scene(plan, landmarks, image_size=size, mm_per_px=mm_per_px)
    image = to_png(scene)
    assert image.size == (scene.width, scene.height)
    first = next(s for s in _layer(scene, "points").shapes if isinstance(s, CircleShape))
    # Just inside the circle's rim: the point colour, not the white background.
    x, y = first.centre
    assert image.getpixel((round(x - first.radius + 3), round(y))) != (255, 255, 255)


def test_atlas_scene_draws_every_zone_and_danger_outline():
    from dosemap.domain.atlas.danger import DANGER_ZONES
    from dosemap.domain.atlas.zones import ZONES
    from dosemap.render.atlas import build_atlas_scene

    landmarks, size, _ = template_projection(MESH)
    scene = build_atlas_scene(landmarks, image_size=size, indices=True)
    assert len(_layer(scene, "zones").shapes) == len(ZONES) + 1  # + the face oval
    assert len(_layer(scene, "danger").shapes) == sum(len(d.rings) for d in DANGER_ZONES.values())
    assert len(_layer(scene, "landmarks").shapes) == len(landmarks)
    assert {s.text for s in _layer(scene, "labels").shapes} == set(ZONES)


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA"])
@pytest.mark.parametrize("size", [(1, 1), (7, 3), (64, 41)])
def test_png_bytes_round_trips_the_pixels_exactly(mode, size):
    rng = np.random.default_rng(7)
    bands = len(mode)
    pixels = rng.integers(0, 256, (size[1], size[0], bands), dtype=np.uint8)
    image = Image.fromarray(pixels.squeeze(axis=2) if bands == 1 else pixels, mode)
    with Image.open(io.BytesIO(png_bytes(image))) as decoded:
        assert decoded.format == "PNG" and decoded.mode == mode and decoded.size == size
        assert np.array_equal(np.asarray(decoded), np.asarray(image))
        assert not decoded.info  # no metadata chunks


def test_png_bytes_writes_other_modes_as_rgb():
    image = Image.new("P", (5, 4), 3)
    image.putpalette([0, 0, 0, 10, 20, 30, 40, 50, 60, 70, 80, 90])
    with Image.open(io.BytesIO(png_bytes(image))) as decoded:
        assert decoded.mode == "RGB"
        assert decoded.getpixel((2, 2)) == (70, 80, 90)


def test_zone_and_danger_names_stay_on_the_canvas_apart_and_off_the_points(plan):
    from dosemap.render.scene import RADIUS_MAX, _text_width

    landmarks, size, mm_per_px = template_projection(MESH)
    scene = build_plan_scene(plan, landmarks, image_size=size, mm_per_px=mm_per_px)
    names = _layer(scene, "labels").shapes
    assert len(names) >= 3
    boxes = []
    for label in names:
        x, y = label.position
        half = _text_width(label.text, label.size) / 2
        boxes.append((x - half, y - 1.35 * label.size, x + half, y - 0.05 * label.size))
    for k, (x0, y0, x1, y1) in enumerate(boxes):
        assert x0 >= 0 and x1 <= scene.width
        for ox0, oy0, ox1, oy1 in boxes[k + 1 :]:
            assert not (x0 < ox1 and ox0 < x1 and y0 < oy1 and oy0 < y1)
        centres = [s.centre for s in _layer(scene, "points").shapes if isinstance(s, CircleShape)]
        for cx, cy in centres:  # no name covers a point's centre
            assert not (x0 - RADIUS_MAX / 2 < cx < x1 + RADIUS_MAX / 2 and y0 < cy < y1)


def test_text_is_drawn_with_its_halo_and_the_same_each_time():
    label = Label((100.4, 60.6), "forehead ≥20 mm", 22.0, "#0072B2", "middle", bold=True, halo=True)
    scene = Scene(200, 100, (0, 0, 200, 100), (Layer("labels", (label,)),), background="#000000")
    first, second = to_png(scene), to_png(scene)  # the second from cached masks
    assert np.array_equal(np.asarray(first), np.asarray(second))
    pixels = np.asarray(first).reshape(-1, 3)
    assert (pixels == (255, 255, 255)).all(axis=1).sum() > 100  # the halo
    assert (np.abs(pixels.astype(int) - (0, 0x72, 0xB2)).sum(axis=1) < 30).sum() > 50  # glyphs
    drawn = np.argwhere(np.asarray(first).any(axis=2))
    (top, left), (bottom, right) = drawn.min(axis=0), drawn.max(axis=0)
    assert left < 100 < right and top < 60 < bottom + 8  # centred on x, baseline at y
    assert right - left < 0.75 * label.size * len(label.text)
