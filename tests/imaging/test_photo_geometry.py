"""Pure photo geometry: pose, iris scale, eye openness, similarity fit."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dosemap.domain.errors import InvalidInputError
from dosemap.domain.photo_geometry import (
    LEFT_EYE_EAR,
    RIGHT_EYE_EAR,
    estimate_pose,
    eye_aspect_ratio,
    fit_similarity,
    iris_scale,
)
from dosemap.resources import template_mesh

TEMPLATE = template_mesh().vertices_mm


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    y, p, r = (math.radians(a) for a in (yaw, pitch, roll))
    ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    rx = np.array([[1, 0, 0], [0, math.cos(p), math.sin(p)], [0, -math.sin(p), math.cos(p)]])
    rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    return rz @ ry @ rx


def _photo_of_template(rotation: np.ndarray, px_per_mm: float = 5.0) -> np.ndarray:
    camera = TEMPLATE @ rotation.T  # x right, y up, z towards the camera
    return np.c_[camera[:, 0], -camera[:, 1]] * px_per_mm + [500.0, 600.0]


class TestPose:
    @given(
        yaw=st.floats(-35, 35),
        pitch=st.floats(-25, 25),
        roll=st.floats(-30, 30),
    )
    def test_single_axis_rotations_are_recovered(self, yaw, pitch, roll):
        for angles in ((yaw, 0, 0), (0, pitch, 0), (0, 0, roll)):
            pose = estimate_pose(_photo_of_template(_rotation(*angles)), TEMPLATE)
            got = (pose.yaw_deg, pose.pitch_deg, pose.roll_deg)
            assert got == pytest.approx(angles, abs=0.5)

    def test_signs_follow_the_documented_convention(self):
        # Turning the face's front towards image-right (the patient's left) is positive yaw.
        pose = estimate_pose(_photo_of_template(_rotation(15, 0, 0)), TEMPLATE)
        nose_tip_x = _photo_of_template(_rotation(15, 0, 0))[1, 0]
        centre_x = _photo_of_template(_rotation(0, 0, 0))[1, 0]
        assert pose.yaw_deg > 0 and nose_tip_x > centre_x

    def test_rejects_too_few_landmarks(self):
        with pytest.raises(InvalidInputError, match="landmarks"):
            estimate_pose(np.zeros((10, 2)), TEMPLATE)


def _iris_points(iris_px: float, ipd_px: float) -> np.ndarray:
    pts = np.zeros((478, 2))
    for centre, edges, x in ((468, (469, 471), 100.0), (473, (474, 476), 100.0 + ipd_px)):
        pts[centre] = [x, 200]
        pts[edges[0]] = [x + iris_px / 2, 200]
        pts[edges[1]] = [x - iris_px / 2, 200]
    return pts


class TestIrisScale:
    @given(iris_px=st.floats(6, 400), ipd_mm=st.floats(40, 85))
    def test_scale_and_ipd(self, iris_px, ipd_mm):
        scale = iris_scale(_iris_points(iris_px, ipd_mm / 11.7 * iris_px))
        assert scale.mm_per_px == pytest.approx(11.7 / iris_px)
        assert scale.ipd_mm == pytest.approx(ipd_mm)
        if abs(ipd_mm - 50) > 1e-6 and abs(ipd_mm - 75) > 1e-6:  # float round-off at the edge
            assert scale.ipd_plausible == (50 < ipd_mm < 75)

    def test_uncertainty_grows_as_the_iris_shrinks(self):
        small = iris_scale(_iris_points(8, 45)).relative_uncertainty
        large = iris_scale(_iris_points(80, 450)).relative_uncertainty
        assert small > large >= 0.5 / 11.7

    def test_needs_iris_landmarks(self):
        with pytest.raises(InvalidInputError, match="N >= 478"):
            iris_scale(np.zeros((468, 2)))

    def test_rejects_an_absurd_iris_size(self):
        with pytest.raises(InvalidInputError, match="iris_diameter_mm"):
            iris_scale(_iris_points(10, 60), iris_diameter_mm=40)


class TestEyeAspectRatio:
    def test_open_and_closed(self):
        eye = np.array([[0, 0], [3, -1.5], [7, -1.5], [10, 0], [7, 1.5], [3, 1.5]])
        pts = np.zeros((468, 2))
        pts[list(RIGHT_EYE_EAR)] = eye
        pts[list(LEFT_EYE_EAR)] = eye + np.array([30, 0])
        assert eye_aspect_ratio(pts) == pytest.approx((0.3, 0.3))
        pts[list(LEFT_EYE_EAR)] = eye * np.array([1, 0.1]) + np.array([30, 0])
        right, left = eye_aspect_ratio(pts)
        assert right == pytest.approx(0.3) and left == pytest.approx(0.03)


class TestSimilarity:
    @given(
        scale=st.floats(0.2, 5),
        angle=st.floats(-179, 179),
        tx=st.floats(-500, 500),
        ty=st.floats(-500, 500),
        seed=st.integers(0, 1000),
    )
    def test_recovers_a_known_similarity(self, scale, angle, tx, ty, seed):
        source = np.random.default_rng(seed).uniform(0, 400, size=(30, 2))
        a = math.radians(angle)
        rotation = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
        target = scale * source @ rotation.T + [tx, ty]
        fit = fit_similarity(source, target)
        assert fit.scale == pytest.approx(scale, rel=1e-6)
        assert math.remainder(fit.angle_deg - angle, 360) == pytest.approx(0, abs=1e-5)
        assert fit.apply(source) == pytest.approx(target, abs=1e-6)
        assert fit.rms_residual_px < 1e-6

    def test_residual_reports_a_moved_point(self):
        source = np.array([[0.0, 0.0], [100, 0], [0, 100], [100, 100]])
        target = source.copy()
        target[3] += [8, 0]
        fit = fit_similarity(source, target)
        assert 1.0 < fit.rms_residual_px < fit.max_residual_px < 8.0

    def test_never_mirrors(self):
        source = np.array([[0.0, 0.0], [100, 0], [0, 50]])
        fit = fit_similarity(source, source * [-1, 1])
        assert fit.scale > 0 and fit.rms_residual_px > 10

    def test_rejects_coincident_points(self):
        with pytest.raises(InvalidInputError, match="coincide"):
            fit_similarity(np.ones((5, 2)), np.zeros((5, 2)))
