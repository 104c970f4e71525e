from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dosemap.domain.atlas.mesh import FaceMesh, parse_obj, resolve_anchor, resolve_anchors
from dosemap.domain.errors import InvalidInputError
from dosemap.domain.plan import MeshAnchor
from dosemap.resources import template_mesh


def test_template_mesh_is_metric_and_oriented():
    mesh = template_mesh()
    assert mesh.vertices_mm.shape == (468, 3)
    assert mesh.triangles.shape == (898, 3)
    # Outer eye corners 33 (right) and 263 (left): ~89 mm apart, the left one at +x.
    right, left = mesh.vertices_mm[33], mesh.vertices_mm[263]
    assert 80 < np.linalg.norm(left - right) < 100
    assert left[0] > 0 > right[0]
    # Forehead (10) above chin (152); nose tip (4) the most forward point of the midline.
    assert mesh.vertices_mm[10][1] > mesh.vertices_mm[152][1]
    assert mesh.vertices_mm[4][2] == pytest.approx(mesh.vertices_mm[:, 2].max())


def test_mesh_is_read_only():
    with pytest.raises(ValueError, match="read-only"):
        template_mesh().vertices_mm[0, 0] = 1.0


def test_parse_obj_rejects_non_triangles():
    with pytest.raises(InvalidInputError, match="line 4"):
        parse_obj("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3 1\n")


def test_face_index_past_vertices_is_refused():
    with pytest.raises(InvalidInputError, match="triangles"):
        FaceMesh(vertices_mm=np.zeros((2, 3)), triangles=np.array([[0, 1, 2]]))


weights = st.tuples(*[st.floats(0, 1)] * 3).filter(lambda w: sum(w) > 1e-3)


@given(weights, st.integers(0, 897))
def test_anchor_resolves_to_the_same_point_under_a_similarity_transform(w, triangle):
    mesh = template_mesh()
    total = sum(w)
    anchor = MeshAnchor(
        vertices=tuple(int(v) for v in mesh.triangles[triangle]),
        weights=(w[0] / total, w[1] / total, w[2] / total),
    )
    point = resolve_anchor(anchor, mesh.vertices_mm)
    # Rotate, scale and shift the landmarks (a photo of the same face): the anchored point follows.
    angle = 0.3
    rotation = np.array(
        [[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]]
    )
    moved = 2.5 * mesh.vertices_mm @ rotation.T + np.array([100.0, -40.0, 7.0])
    expected = 2.5 * rotation @ point + np.array([100.0, -40.0, 7.0])
    assert np.allclose(resolve_anchor(anchor, moved), expected, atol=1e-9)
    assert np.allclose(resolve_anchors([anchor, anchor], moved)[1], expected, atol=1e-9)


def test_anchor_past_the_landmark_set_names_the_field():
    anchor = MeshAnchor(vertices=(0, 1, 470), weights=(1.0, 0.0, 0.0))
    with pytest.raises(InvalidInputError, match=r"anchor\.vertices"):
        resolve_anchor(anchor, np.zeros((468, 2)))
