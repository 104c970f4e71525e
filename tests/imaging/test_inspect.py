"""Landmarks and capture checks on real photos (MediaPipe) and on recorded landmarks."""

from __future__ import annotations

import math
import re

import cv2
import numpy as np
import pytest

from dosemap.domain.photo_geometry import IPD_ADULT_RANGE_MM, LEFT_EYE_EAR, RIGHT_EYE_EAR
from dosemap.imaging.errors import PhotoError
from dosemap.imaging.intake import read_photo
from dosemap.imaging.landmarks import FaceLandmarks, RecordedDetector
from dosemap.imaging.quality import CaptureLimits, _places, inspect_photo
from support.faces import face_files

FACE_FILES = face_files()  # raises at collection if any is missing


def test_there_are_24_test_faces():
    assert len(FACE_FILES) == 24


@pytest.mark.parametrize("path", FACE_FILES, ids=lambda p: p.stem)
def test_every_test_face_is_measured_with_an_adult_ipd(detector, path):
    analysis = inspect_photo(read_photo(path), detector)
    assert analysis.landmarks.points.shape == (478, 3)
    assert analysis.landmarks.image_size == (200, 250)
    low, high = IPD_ADULT_RANGE_MM
    assert low <= analysis.scale.ipd_mm <= high
    assert analysis.quality.ipd_plausible and "ipd_out_of_adult_range" not in analysis.quality.flags
    # the iris is a small fraction of the face: a sanity bound that catches swapped indices
    assert 0.05 < analysis.scale.iris_diameter_px / analysis.quality.face_width_px < 0.15


def test_astronaut_is_sharp_and_unclipped(detector, astronaut, photo_of):
    quality = inspect_photo(photo_of(astronaut), detector).quality
    assert quality.flags == ()
    assert abs(quality.yaw_deg) < 10 and abs(quality.roll_deg) < 10


def test_blur_trips_the_blur_flag(detector, astronaut, photo_of):
    # sigma 1.5 px on a 92-px-wide face is a visibly soft photo (calibration in docs/photos.md)
    blurred = cv2.GaussianBlur(astronaut, (0, 0), 1.5)
    quality = inspect_photo(photo_of(blurred), detector).quality
    assert "blurry" in quality.flags
    assert quality.sharpness < CaptureLimits().min_sharpness


def test_overexposure_trips_the_clipping_flag(detector, astronaut, photo_of):
    bright = np.clip(astronaut.astype(np.float64) * 1.8, 0, 255).astype(np.uint8)
    quality = inspect_photo(photo_of(bright), detector).quality
    assert "highlights_clipped" in quality.flags
    assert quality.highlights_clipped > 0.2


def test_reduced_decoding_finds_the_same_landmarks(detector, astronaut, photo_of):
    # A 12 MP photo: detection on the reduced copy, landmarks reported at full resolution.
    big = cv2.resize(astronaut, (3464, 3464), interpolation=cv2.INTER_CUBIC)
    analysis = inspect_photo(photo_of(big, "big.png"), detector)
    small = detector.detect(astronaut).scaled_to((3464, 3464))
    error = np.linalg.norm(analysis.landmarks.xy[:468] - small.xy[:468], axis=1)
    assert np.median(error) < 0.01 * analysis.quality.face_width_px
    assert analysis.quality.width_px == 3464


def test_two_faces_are_refused(detector, photo_of):
    left, right = (read_photo(p).detect_rgb for p in FACE_FILES[:2])
    with pytest.raises(PhotoError, match="2 faces") as caught:
        inspect_photo(photo_of(np.hstack([left, right])), detector)
    assert caught.value.code == "multiple_faces"


def test_no_face_is_refused(detector, photo_of):
    rng = np.random.default_rng(3)
    noise = cv2.GaussianBlur(rng.integers(0, 255, (300, 300, 3), dtype=np.uint8), (0, 0), 3)
    with pytest.raises(PhotoError, match="no face") as caught:
        inspect_photo(photo_of(noise), detector)
    assert caught.value.code == "no_face"


def test_a_tilted_head_is_refused(detector, photo_of):
    image = read_photo(FACE_FILES[5]).detect_rgb
    centre = (image.shape[1] / 2, image.shape[0] / 2)
    turned = cv2.warpAffine(image, cv2.getRotationMatrix2D(centre, 30, 1.0), image.shape[1::-1])
    with pytest.raises(PhotoError, match="roll") as caught:
        inspect_photo(photo_of(turned), detector)
    assert caught.value.code == "head_pose"


@pytest.fixture(scope="module")
def recorded(detector, astronaut) -> FaceLandmarks:
    return detector.detect(astronaut)


def test_recorded_detector_reproduces_the_analysis(detector, astronaut, recorded, photo_of):
    live = inspect_photo(photo_of(astronaut), detector)
    replay = inspect_photo(photo_of(astronaut), RecordedDetector.of(recorded))
    assert replay.quality == live.quality


def test_recorded_no_face_and_group(astronaut, recorded, photo_of):
    for faces, code in (([], "no_face"), ([recorded.normalised()] * 2, "multiple_faces")):
        with pytest.raises(PhotoError) as caught:
            inspect_photo(photo_of(astronaut), RecordedDetector(faces))
        assert caught.value.code == code


def _shrunk(landmarks: FaceLandmarks, factor: float) -> FaceLandmarks:
    centre = landmarks.points[:468].mean(axis=0)
    return FaceLandmarks((landmarks.points - centre) * factor + centre, landmarks.image_size)


def test_a_small_face_is_refused(astronaut, recorded, photo_of):
    with pytest.raises(PhotoError, match=r"face .* px wide") as caught:
        inspect_photo(photo_of(astronaut), RecordedDetector.of(_shrunk(recorded, 0.6)))
    assert caught.value.code == "face_too_small"


def test_a_turned_head_is_refused(astronaut, recorded, photo_of):
    # Turn the recorded face 35° about the vertical axis through its centre (x' = x cos + z sin).
    pts = recorded.points.copy()
    centre = pts[:468].mean(axis=0)
    x, z = pts[:, 0] - centre[0], pts[:, 2] - centre[2]
    a = math.radians(35)
    pts[:, 0] = centre[0] + x * math.cos(a) - z * math.sin(a)
    turned = FaceLandmarks(pts, recorded.image_size)
    with pytest.raises(PhotoError, match="yaw") as caught:
        inspect_photo(photo_of(astronaut), RecordedDetector.of(turned))
    assert caught.value.code == "head_pose"


def test_closed_eyes_are_refused(astronaut, recorded, photo_of):
    pts = recorded.points.copy()
    for _p1, p2, p3, _p4, p5, p6 in (RIGHT_EYE_EAR, LEFT_EYE_EAR):
        # lids meet on the line between the corners
        for upper, lower in ((p2, p6), (p3, p5)):
            mid = (pts[upper] + pts[lower]) / 2
            pts[upper] = pts[lower] = mid
    with pytest.raises(PhotoError, match="eye aspect ratio") as caught:
        inspect_photo(
            photo_of(astronaut), RecordedDetector.of(FaceLandmarks(pts, recorded.image_size))
        )
    assert caught.value.code == "eyes_closed"


def _rolled(landmarks: FaceLandmarks, degrees: float, factor: float = 1.0) -> FaceLandmarks:
    """The face turned by ``degrees`` in the image plane about its centre (and scaled)."""
    pts = landmarks.points.copy()
    centre = pts[:468, :2].mean(axis=0)
    a = math.radians(degrees)
    rotation = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    pts[:, :2] = (pts[:, :2] - centre) @ rotation.T * factor + centre
    pts[:, 2] *= factor
    return FaceLandmarks(pts, landmarks.image_size)


def _roll(astronaut, landmarks, photo_of) -> float:
    limits = CaptureLimits(max_roll_deg=90, sideways_roll_deg=90)
    return inspect_photo(
        photo_of(astronaut), RecordedDetector.of(landmarks), limits=limits
    ).pose.roll_deg


def test_a_value_just_over_its_limit_is_not_printed_as_the_limit(astronaut, recorded, photo_of):
    """A roll of 15.3° printed "+15°" beside "allowed |angle| <= 15°" hides why it failed."""
    base = _roll(astronaut, recorded, photo_of)
    per_degree = (_roll(astronaut, _rolled(recorded, 5.0), photo_of) - base) / 5.0
    tilted = _rolled(recorded, (15.3 - base) / per_degree)
    roll = _roll(astronaut, tilted, photo_of)
    assert 15.0 < roll < 15.5  # rounds to the limit at whole degrees
    with pytest.raises(PhotoError, match="roll") as caught:
        inspect_photo(photo_of(astronaut), RecordedDetector.of(tilted))
    shown = re.search(r"head roll \(tilted\) \+([0-9.]+)°", str(caught.value))
    assert shown is not None and float(shown.group(1)) > 15, str(caught.value)


def test_a_face_on_its_side_is_reported_as_a_turned_photo(astronaut, recorded, photo_of):
    """A wrong EXIF rotation once read "face 60 px wide" (the face's height across the image):
    the size was checked before the pose."""
    sideways = _rolled(recorded, 90.0, factor=0.25)
    with pytest.raises(PhotoError, match="on its side") as caught:
        inspect_photo(photo_of(astronaut), RecordedDetector.of(sideways))
    assert caught.value.code == "head_pose" and "orientation" in str(caught.value)


def test_places_shows_the_first_decimal_that_differs():
    assert _places(20.04, 20) == 2 and _places(21.0, 20) == 0 and _places(5.96, 6, 1) == 2
