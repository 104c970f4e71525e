"""Before/after alignment on a real photo moved by a known similarity."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from dosemap.domain.photo_geometry import STABLE_LANDMARKS
from dosemap.imaging.align import align_pair
from dosemap.imaging.landmarks import FaceLandmarks
from dosemap.imaging.quality import face_mask, inspect_photo
from dosemap.imaging.skin import zone_mask


@pytest.fixture(scope="module")
def pair(detector, astronaut, photo_of):
    """A = the astronaut; B = the same photo turned 8°, scaled 0.9, shifted, one cheek flushed."""
    a = inspect_photo(photo_of(astronaut, "a.png"), detector)
    flushed = astronaut.astype(np.float32)
    weight = zone_mask("left_cheek", a.landmarks.xy, astronaut.shape[:2]).astype(np.float32)
    flushed[..., 0] *= 1 + 0.2 * cv2.GaussianBlur(weight, (0, 0), 2)
    flushed = np.clip(flushed, 0, 255).astype(np.uint8)
    moved = cv2.getRotationMatrix2D((256, 200), 8, 0.9)
    moved[:, 2] += (30, -12)
    b_image = cv2.warpAffine(flushed, moved, (512, 512), borderValue=(128, 128, 128))
    b = inspect_photo(photo_of(b_image, "b.png"), detector)
    return a, b, moved


def test_the_known_motion_is_undone(pair):
    a, b, _ = pair
    alignment = align_pair(a, b)
    undo = alignment.transform
    assert undo.scale == pytest.approx(1 / 0.9, rel=0.02)
    assert undo.angle_deg == pytest.approx(8, abs=1.0)  # B was turned -8° (y down): undo +8°
    # B's landmarks land on A's within a millimetre or so
    assert alignment.rms_residual_mm < 1.5
    index = list(STABLE_LANDMARKS)
    mapped = undo.apply(b.landmarks.xy[index])
    assert np.median(np.linalg.norm(mapped - a.landmarks.xy[index], axis=1)) < 2.0


def test_difference_view_shows_the_flushed_cheek(pair):
    a, b, _ = pair
    alignment = align_pair(a, b)
    assert alignment.before.shape == alignment.after_aligned.shape == (512, 512, 3)
    diff = alignment.difference().astype(np.float64).sum(axis=2)
    shape = alignment.before.shape[:2]
    cheek = zone_mask("left_cheek", a.landmarks.xy, shape)
    other = zone_mask("right_cheek", a.landmarks.xy, shape)
    assert diff[cheek].mean() > 2 * diff[other].mean()
    face = face_mask(a.landmarks.xy, shape) > 0
    # aligned face matches A closely away from the flush (resampling blur only)
    gap = np.abs(alignment.before.astype(int) - alignment.after_aligned.astype(int)).max(axis=2)
    assert np.median(gap[face & ~cheek]) < 20


def test_outputs_have_the_expected_layout(pair):
    a, b, _ = pair
    alignment = align_pair(a, b)
    assert alignment.side_by_side(gap_px=8).shape == (512, 1032, 3)
    ghost = alignment.ghost(opacity=0.5).astype(int)
    expected = (alignment.before.astype(int) + alignment.after_aligned.astype(int)) / 2
    assert np.abs(ghost - expected).max() <= 1


def test_an_expression_change_shows_in_the_residual(pair, detector, astronaut, photo_of):
    # One stable landmark moved 5 mm: least squares over 31 points absorbs little of it, so
    # the residual there must be ~4.5 mm, well above the ~2 mm detection jitter at 1.4 mm/px.
    a, b, _ = pair
    pts = b.landmarks.points.copy()
    pts[33, 0] += 5.0 / a.scale.mm_per_px * 0.9
    shifted = replace(b, landmarks=FaceLandmarks(pts, b.landmarks.image_size))
    assert align_pair(a, shifted).max_residual_mm > 3.5 > align_pair(a, b).max_residual_mm


def test_difference_view_greys_out_where_b_has_no_pixels(pair):
    a, b, _ = pair
    alignment = align_pair(a, b)
    assert 0.5 < alignment.covered.mean() < 1.0  # B was shrunk and shifted: edges uncovered
    view = alignment.difference()
    assert (view[~alignment.covered] == 128).all()
