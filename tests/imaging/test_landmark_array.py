"""Reading MediaPipe's landmark messages: the fast path gives exactly the field-by-field values."""

from __future__ import annotations

import numpy as np
import pytest
from mediapipe.framework.formats import landmark_pb2

from dosemap.imaging.landmarks import landmark_array


def message(points: np.ndarray) -> landmark_pb2.NormalizedLandmarkList:
    face = landmark_pb2.NormalizedLandmarkList()
    for x, y, z in points:
        face.landmark.add(x=x, y=y, z=z)
    return face


def field_by_field(face: landmark_pb2.NormalizedLandmarkList) -> np.ndarray:
    return np.array([(p.x, p.y, p.z) for p in face.landmark], dtype=np.float64)


@pytest.fixture
def points() -> np.ndarray:
    rng = np.random.default_rng(7)
    return np.c_[rng.uniform(0.05, 0.95, (478, 2)), rng.uniform(-0.1, 0.1, 478)]


def test_the_values_are_mediapipes_float32_coordinates(points):
    face = message(points)
    result = landmark_array(face)
    assert result.shape == (478, 3) and result.dtype == np.float64
    assert np.array_equal(result, field_by_field(face))
    assert np.array_equal(result, points.astype(np.float32).astype(np.float64))


@pytest.mark.parametrize("change", ["zero_coordinate", "visibility", "negative_zero"])
def test_messages_in_another_layout_are_read_field_by_field(points, change):
    face = message(points)
    if change == "zero_coordinate":  # protobuf leaves a 0.0 out of the bytes
        face.landmark[40].z = 0.0
    elif change == "visibility":
        face.landmark[3].visibility = 0.9
    else:
        face.landmark[0].x = -0.0
    assert np.array_equal(landmark_array(face), field_by_field(face))


def test_an_empty_message_gives_no_points():
    assert landmark_array(landmark_pb2.NormalizedLandmarkList()).shape == (0, 3)
