"""The forehead above the face mesh: real-landmark anchors, true spacing, margins, determinism."""

from __future__ import annotations

import json
import math
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from dosemap.domain.atlas.danger import DANGER_ZONES, danger_zone_hits, signed_distances
from dosemap.domain.atlas.extension import (
    forehead_extension,
    mesh_top_height_mm,
)
from dosemap.domain.atlas.mesh import TEMPLATE_VERTEX_COUNT, resolve_anchors
from dosemap.domain.errors import InvalidInputError
from dosemap.domain.plan import MeshAnchor, Plan, PlanRequest
from dosemap.domain.planning import build_plan
from dosemap.domain.planning.regions import treatable_outlines, zone_outlines
from dosemap.resources import load_library, template_mesh

MESH = template_mesh()
LIBRARY = load_library()
MARGINS = LIBRARY.margins_mm()
MAX_FOREHEAD_HEIGHT_MM = int(LIBRARY.figure("max_forehead_height_mm").value)
TOP_MM = mesh_top_height_mm(MESH)
LOWEST = math.ceil(TOP_MM)
#: Positions are rounded to 0.01 mm: two points can lose up to 0.0142 mm of their distance.
ROUNDING_TOLERANCE_MM = 0.015


def _plan(height: object = None, **fields: object) -> Plan:
    request = PlanRequest.model_validate(
        {"protocol": "diaspro_2020_grid", "zones": ("forehead",), **fields}
        | ({} if height is None else {"forehead_height_mm": height})
    )
    return build_plan(request, LIBRARY, MESH)


def _positions(plan: Plan) -> np.ndarray:
    return np.array([p.position_mm for p in plan.points])


def _brow(points: np.ndarray) -> np.ndarray:
    return signed_distances(DANGER_ZONES["brow"], MESH.vertices_mm, points)


@pytest.fixture(scope="module")
def tall() -> Plan:
    return _plan("55")


def test_the_mesh_alone_stops_at_landmark_10_and_says_how_high(tall):
    plan = _plan()
    assert _positions(plan)[:, 1].max() <= MESH.vertices_mm[10, 1]
    note = next(n for n in plan.notes if n.startswith("forehead"))
    assert "hairline" in note and "forehead_height_mm" in note
    assert f"{TOP_MM:.0f} mm" in note


def test_asked_for_height_puts_points_above_the_mesh(tall):
    above = _positions(tall)[:, 1] > MESH.vertices_mm[10, 1]
    assert above.sum() >= 10
    assert _brow(_positions(tall)).max() > TOP_MM + 10
    base = _plan()
    assert len(tall.points) > len(base.points)
    assert tall.summary.zones[0].area_mm2 > base.summary.zones[0].area_mm2 + 1000
    note = next(n for n in tall.notes if n.startswith("forehead"))
    assert "55 mm above the brows" in note and "hairline" in note


def test_every_anchor_names_real_landmarks_and_extrapolates(tall):
    anchors = [p.anchor for p in tall.points]
    assert max(max(a.vertices) for a in anchors) < TEMPLATE_VERTEX_COUNT
    for a in anchors:
        assert sum(a.weights) == pytest.approx(1.0, abs=1e-9)
    assert min(min(a.weights) for a in anchors) < -0.5  # outside the triangle: extrapolated
    # The stored position is the anchor's own position on the template.
    resolved = resolve_anchors(anchors, MESH.vertices_mm)
    assert np.abs(resolved - _positions(tall)).max() <= 0.006


def test_negative_weights_survive_the_plan_file(tall):
    again = Plan.model_validate(json.loads(tall.model_dump_json()))
    assert again == tall
    assert MeshAnchor(vertices=(1, 2, 3), weights=(1.5, 0.7, -1.2)).weights[2] == -1.2


@given(
    scale=st.floats(0.3, 3.0),
    angle=st.floats(-0.5, 0.5),
    shift=st.tuples(st.floats(-500, 500), st.floats(-500, 500)),
)
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_points_above_the_mesh_follow_moved_and_scaled_landmarks(tall, scale, angle, shift):
    # A photo's landmarks: the template turned, scaled and shifted in the picture plane.
    c, s = math.cos(angle), math.sin(angle)
    turn = np.array([[c, -s], [s, c]]) * scale
    photo = MESH.vertices_mm[:, :2] @ turn.T + np.array(shift)
    on_photo = resolve_anchors([p.anchor for p in tall.points], photo)
    expected = _positions(tall)[:, :2] @ turn.T + np.array(shift)
    assert np.abs(on_photo - expected).max() <= 0.01 * scale + 1e-6


heights = st.integers(LOWEST * 2, MAX_FOREHEAD_HEIGHT_MM * 2).map(lambda h: Decimal(h) / 2)


mixes = st.sampled_from(
    [
        {},
        {"adjuncts": {"ha_skin_booster": Decimal("0.5")}, "working_units_per_ml": 10},
        {"technique": "multi_needle_device"},
    ]
)


@given(height=heights, spacing=st.integers(70, 160).map(lambda t: Decimal(t) / 10), mix=mixes)
@settings(max_examples=20, deadline=None)
def test_spacing_margins_and_height_hold_above_the_mesh(height, spacing, mix):
    plan = _plan(height, spacing_mm=spacing, **mix)
    pos = _positions(plan)
    dist = np.linalg.norm(pos[:, None] - pos[None], axis=2)
    dist[np.diag_indices(len(pos))] = np.inf
    assert dist.min() >= float(spacing) - ROUNDING_TOLERANCE_MM
    assert danger_zone_hits(plan, MESH, MARGINS) == []
    brow = _brow(pos)
    assert brow.min() >= float(MARGINS["brow"]) - ROUNDING_TOLERANCE_MM
    assert brow.max() <= float(height) + 1.0  # the top edge is the asked-for height


@given(height=heights)
@settings(max_examples=8, deadline=None)
def test_same_request_same_plan_byte_for_byte(height):
    assert _plan(height).model_dump_json() == _plan(height).model_dump_json()


@given(height=st.floats(LOWEST, MAX_FOREHEAD_HEIGHT_MM))
@settings(max_examples=15, deadline=None)
def test_extension_reaches_the_height_and_re_anchors_exactly(height):
    extension = forehead_extension(MESH, height)
    assert extension.height_mm == pytest.approx(height, abs=0.05)
    virtual = np.arange(TEMPLATE_VERTEX_COUNT, len(extension.mesh.vertices_mm))
    corners = np.column_stack([virtual, virtual, virtual])
    weights = np.tile([0.2, 0.3, 0.5], (len(virtual), 1))
    vertices, real_weights, positions = extension.to_real(corners, weights)
    assert vertices.max() < TEMPLATE_VERTEX_COUNT
    assert np.allclose(real_weights.sum(axis=1), 1.0)
    again = np.einsum("kj,kjd->kd", real_weights, MESH.vertices_mm[vertices])
    assert np.allclose(again, positions)
    # Re-anchoring moves a virtual vertex only onto the plane of the triangle below it.
    assert np.linalg.norm(positions - extension.mesh.vertices_mm[virtual], axis=1).max() < 1.5


def test_outlines_for_drawing_reach_above_the_mesh_on_real_landmarks(tall):
    outline = zone_outlines(tall, MESH)["forehead"]
    treatable = treatable_outlines(tall, MESH, MARGINS)["forehead"]
    anchors = [*outline, *(a for outer, holes in treatable for a in outer)]
    assert max(max(a.vertices) for a in anchors) < TEMPLATE_VERTEX_COUNT
    top = resolve_anchors(list(outline), MESH.vertices_mm)[:, 1].max()
    assert top > MESH.vertices_mm[10, 1] + 10
    lit = resolve_anchors([a for outer, _ in treatable for a in outer], MESH.vertices_mm)
    assert lit[:, 1].max() > MESH.vertices_mm[10, 1] + 5


@pytest.mark.parametrize("height", ["10", str(LOWEST - 1), str(MAX_FOREHEAD_HEIGHT_MM + 1), "300"])
def test_out_of_range_height_names_the_field_and_the_range(height):
    with pytest.raises(InvalidInputError) as caught:
        _plan(height)
    assert caught.value.field == "forehead_height_mm"
    assert f"{LOWEST}-{MAX_FOREHEAD_HEIGHT_MM} mm" in str(caught.value)


def test_height_without_a_forehead_zone_is_refused():
    with pytest.raises(InvalidInputError, match="forehead_height_mm"):
        _plan("50", zones=("chin",))


@pytest.mark.parametrize("height", ["0", "-5"])
def test_height_must_be_positive(height):
    with pytest.raises(ValidationError):
        PlanRequest(zones=("forehead",), forehead_height_mm=Decimal(height))
