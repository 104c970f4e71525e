"""The bounded outline distances (the safety check's fast path) are the full ones, bit for bit.

``Outline.signed_distances_below`` / ``_above`` skip measuring points that a bound puts on the
far side of the limit; where they do measure, the value must be exactly what
``signed_distances`` gives, and where they do not, the full value must be on that far side.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dosemap.domain.atlas.danger import DANGER_ZONES, distances_below, outlines, signed_distances
from dosemap.domain.atlas.extension import zone_outline
from dosemap.domain.atlas.mesh import resolve_anchors
from dosemap.domain.atlas.surface import Outline
from dosemap.domain.atlas.zones import ZONE_ORDER
from dosemap.resources import template_mesh

MESH = template_mesh()
ZONE_OUTLINES = [
    Outline.from_corners(resolve_anchors(list(zone_outline(MESH, z, None)), MESH.vertices_mm))
    for z in ZONE_ORDER
]
DANGER_OUTLINES = [o for d in DANGER_ZONES.values() for o in outlines(d, MESH.vertices_mm)]


@st.composite
def face_points(draw: st.DrawFn) -> np.ndarray:
    """Points on the face (random triangles, random barycentric weights)."""
    count = draw(st.integers(1, 40))
    rows = []
    for _ in range(count):
        triangle = MESH.triangles[draw(st.integers(0, len(MESH.triangles) - 1))]
        a = draw(st.integers(0, 1000))
        b = draw(st.integers(0, 1000 - a))
        w = np.array([a, b, 1000 - a - b], dtype=np.float64) / 1000
        rows.append(w @ MESH.vertices_mm[triangle])
    return np.asarray(rows)


limits = st.floats(-5.0, 25.0, allow_nan=False)


@settings(max_examples=150)
@given(points=face_points(), limit=limits, which=st.integers(0, 10_000))
def test_below_is_the_full_distance_where_it_is_below(
    points: np.ndarray, limit: float, which: int
) -> None:
    every = ZONE_OUTLINES + DANGER_OUTLINES
    outline = every[which % len(every)]
    full = outline.signed_distances(points)
    fast = outline.signed_distances_below(points, limit)
    below = full < limit
    assert np.array_equal(fast[below], full[below])  # bit for bit where it matters
    assert np.all(fast[~below] >= limit)  # +inf, or the exact value, never below


@settings(max_examples=150)
@given(points=face_points(), limit=limits, which=st.integers(0, 10_000))
def test_above_is_the_full_distance_where_it_is_above(
    points: np.ndarray, limit: float, which: int
) -> None:
    every = ZONE_OUTLINES + DANGER_OUTLINES
    outline = every[which % len(every)]
    full = outline.signed_distances(points)
    fast = outline.signed_distances_above(points, limit)
    above = full > limit
    assert np.array_equal(fast[above], full[above])
    assert np.all(fast[~above] <= limit)


@settings(max_examples=60)
@given(points=face_points(), limit=limits)
def test_a_danger_zones_bounded_distance_is_its_full_one_below_the_limit(
    points: np.ndarray, limit: float
) -> None:
    for danger in DANGER_ZONES.values():
        full = signed_distances(danger, MESH.vertices_mm, points)
        fast = distances_below(danger, MESH.vertices_mm, points, limit)
        below = full < limit
        assert np.array_equal(fast[below], full[below])
        assert np.all(fast[~below] >= limit)
