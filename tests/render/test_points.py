"""Point discs on a turned face: they shrink with their neighbours and never overlap."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dosemap.domain.atlas.mesh import resolve_anchors
from dosemap.domain.plan import PlanRequest
from dosemap.domain.planning import build_plan
from dosemap.render.points import DOT_MIN, NUMBER_MIN, point_marks
from dosemap.render.raster import to_png
from dosemap.render.scene import CircleShape, Label, build_plan_scene, template_projection
from dosemap.render.svg import to_svg
from dosemap.resources import load_library, template_mesh

MESH = template_mesh()
ZONES = ("forehead", "crows_feet_left", "crows_feet_right", "medial_cheek_left", "chin")


@pytest.fixture(scope="module")
def plan():
    request = PlanRequest(zones=ZONES, protocol="diaspro_2020_grid")
    return build_plan(request, load_library(), MESH)


def turned_projection(degrees: float, px_per_mm: float = 8.0) -> tuple[np.ndarray, tuple[int, int]]:
    """The template face turned ``degrees`` about the vertical axis, seen from the front."""
    a = math.radians(degrees)
    x, y, z = MESH.vertices_mm.T
    turned_x = x * math.cos(a) + z * math.sin(a)
    xy = np.column_stack([turned_x, y])
    low, high = xy.min(axis=0) - 6, xy.max(axis=0) + 6
    pixels = np.column_stack([(xy[:, 0] - low[0]) * px_per_mm, (high[1] - xy[:, 1]) * px_per_mm])
    size = (
        int(np.ceil((high[0] - low[0]) * px_per_mm)),
        int(np.ceil((high[1] - low[1]) * px_per_mm)),
    )
    return pixels, size


def _points_layer(scene):
    return next(layer for layer in scene.layers if layer.name == "points").shapes


def _box(label: Label) -> tuple[float, float, float, float]:
    """Approximate ink box of a number label anchored at the middle of its baseline."""
    x, y = label.position
    half_w = 0.32 * label.size * len(label.text)
    return (x - half_w, y - 0.76 * label.size, x + half_w, y)


def _assert_discs_apart(circles: list[CircleShape]) -> None:
    for a, b in itertools.combinations(circles, 2):
        gap = math.dist(a.centre, b.centre) - a.radius - b.radius
        assert gap > 0, f"discs at {a.centre} and {b.centre} overlap by {-gap:.1f} px"


@pytest.mark.parametrize("degrees", [15.0, 20.0, 30.0, 45.0])
def test_discs_do_not_overlap_on_a_turned_face(plan, degrees):
    landmarks, size = turned_projection(degrees)
    scene = build_plan_scene(plan, landmarks, image_size=size, scale=1.0)
    shapes = _points_layer(scene)
    circles = [s for s in shapes if isinstance(s, CircleShape)]
    assert len(circles) <= len(plan.points)
    _assert_discs_apart(circles)
    # The far side really is crowded: some discs had to shrink below the dose-sized minimum.
    assert min(c.radius for c in circles) < 12.0
    labels = [s for s in shapes if isinstance(s, Label)]
    for label in labels:
        if label.colour == "#FFFFFF":  # inside its disc: legible
            assert label.size >= NUMBER_MIN
        else:  # beside its disc: clear of every disc
            x0, y0, x1, y1 = _box(label)
            for c in circles:
                cx, cy = c.centre
                dx, dy = max(x0 - cx, 0.0, cx - x1), max(y0 - cy, 0.0, cy - y1)
                assert math.hypot(dx, dy) > c.radius, (label.text, c.centre)
    # Every point is drawn, alone or in a shared mark, and keeps its number unless thinned.
    marks, _ = point_marks(
        resolve_anchors([p.anchor for p in plan.points], landmarks),
        [1.0] * len(plan.points),
        [p.number for p in plan.points],
    )
    assert sorted(n for m in marks for n in m.numbers) == [p.number for p in plan.points]
    assert [m.text for m in marks if m.text_at is not None] == [s.text for s in labels]
    assert len(labels) >= 0.8 * len(circles)
    # A shared mark is explained under the picture.
    notes = " ".join(s.text for s in scene.layers[-1].shapes if isinstance(s, Label))
    shared = [m.text for m in marks if len(m.numbers) > 1]
    assert ("share one mark" in notes) == bool(shared)
    # Both writers take the same scene.
    assert to_png(scene).size == (scene.width, scene.height)
    assert to_svg(scene).count("<circle") >= len(circles)


def test_frontal_face_keeps_full_size_numbered_discs(plan):
    landmarks, size, _ = template_projection(MESH)
    scene = build_plan_scene(plan, landmarks, image_size=size)
    shapes = _points_layer(scene)
    radii = [s.radius for s in shapes if isinstance(s, CircleShape)]
    assert len(radii) == len(plan.points)
    assert max(radii) == 20.0 and sum(r == 20.0 for r in radii) > len(radii) / 2
    _assert_discs_apart([s for s in shapes if isinstance(s, CircleShape)])
    numbers = [s for s in shapes if isinstance(s, Label)]
    assert [s.text for s in numbers] == [str(p.number) for p in plan.points]
    assert all(s.colour == "#FFFFFF" and s.size >= NUMBER_MIN for s in numbers)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 400), st.floats(0, 400)), min_size=2, max_size=40, unique=True),
    st.floats(0.5, 2.0),
)
def test_discs_apart_wherever_there_is_room_for_dots(xy, scale):
    centres = np.array(xy, dtype=np.float64)
    marks, beside = point_marks(centres, [1.0] * len(xy), list(range(1, len(xy) + 1)), scale)
    assert sorted(n for m in marks for n in m.numbers) == list(range(1, len(xy) + 1))
    for a, b in itertools.combinations(marks, 2):
        assert a.radius + b.radius < math.dist(a.centre, b.centre)
        assert min(a.radius, b.radius) >= DOT_MIN * scale
    for a, b in itertools.combinations(beside, 2):  # numbers beside discs do not collide
        assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3])
