"""Skin metrics under controlled changes to a real photo (scikit-image's astronaut).

Each test changes one thing in one zone and asserts that the metric moves there and stays put
everywhere else. The thresholds are set from the size of the change, not from the result:

- redness: +15 % on red and -5 % on green (linear in sRGB values) is a visible flush; it moves
  a* by several units, while anything that does not touch a zone's pixels can move it only
  through the shared brightness normalisation (<< 0.1 a*).
- shine: a dozen small near-white spots cover a few per cent of the forehead.
- texture: a Gaussian blur of 1.5 px removes most of the band at the 0.7-1.1 px scale.
- pores: 40 dark 0.5 mm dots in a zone of ~8 cm² are ~5 per cm².
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from dosemap.domain.errors import InvalidInputError
from dosemap.domain.photo_geometry import iris_scale
from dosemap.imaging.landmarks import FaceLandmarks
from dosemap.imaging.skin import SKIN_ZONES, skin_metrics, zone_mask

OTHERS = {
    "right_cheek": [z for z in SKIN_ZONES if z != "right_cheek"],
    "forehead": [z for z in SKIN_ZONES if z != "forehead"],
}


@pytest.fixture(scope="module")
def scale(astronaut_landmarks) -> float:
    return iris_scale(astronaut_landmarks.xy).mm_per_px


@pytest.fixture(scope="module")
def baseline(astronaut, astronaut_landmarks, scale):
    return skin_metrics(astronaut, astronaut_landmarks, scale)


def _feathered(zone, landmarks, shape, sigma=2.0):
    mask = zone_mask(zone, landmarks.xy, shape).astype(np.float32)
    return cv2.GaussianBlur(mask, (0, 0), sigma)


def test_zones_are_where_the_face_is(baseline, scale):
    # adult zone areas: a few to ~20 cm²; the cheeks mirror each other
    for zone in baseline.zones:
        assert 200 < zone.area_mm2 < 2500, zone
    right, left = baseline.zone("right_cheek"), baseline.zone("left_cheek")
    assert right.area_mm2 == pytest.approx(left.area_mm2, rel=0.15)
    assert baseline.zone("forehead").delta_a_star == 0.0
    assert not baseline.pores_resolvable and baseline.zone("nose").pore_density_per_cm2 is None
    assert not baseline.colour_card_present and not baseline.greyscale


def test_redness_on_one_cheek_raises_a_star_there_only(
    astronaut, astronaut_landmarks, scale, baseline
):
    weight = _feathered("right_cheek", astronaut_landmarks, astronaut.shape[:2])
    flushed = astronaut.astype(np.float32)
    flushed[..., 0] *= 1 + 0.15 * weight
    flushed[..., 1] *= 1 - 0.05 * weight
    after = skin_metrics(np.clip(flushed, 0, 255).astype(np.uint8), astronaut_landmarks, scale)
    assert after.zone("right_cheek").a_star - baseline.zone("right_cheek").a_star > 4.0
    assert after.zone("right_cheek").delta_a_star - baseline.zone("right_cheek").delta_a_star > 4.0
    for zone in OTHERS["right_cheek"]:
        assert after.zone(zone).a_star == pytest.approx(baseline.zone(zone).a_star, abs=0.1), zone


def test_highlights_on_the_forehead_raise_shine_there_only(
    astronaut, astronaut_landmarks, scale, baseline
):
    mask = zone_mask("forehead", astronaut_landmarks.xy, astronaut.shape[:2])
    rows, cols = np.nonzero(cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)))
    spots = np.zeros(astronaut.shape[:2], np.float32)
    for i in np.random.default_rng(1).choice(len(rows), 12, replace=False):
        cv2.circle(spots, (int(cols[i]), int(rows[i])), 2, 1.0, -1)
    spots = cv2.GaussianBlur(spots, (0, 0), 1.0)
    spots = (0.85 * spots / spots.max())[..., None]
    shiny = (astronaut * (1 - spots) + 250 * spots).astype(np.uint8)
    after = skin_metrics(shiny, astronaut_landmarks, scale)
    assert after.zone("forehead").shine_fraction - baseline.zone("forehead").shine_fraction > 0.02
    for zone in OTHERS["forehead"]:
        assert after.zone(zone).shine_fraction == pytest.approx(
            baseline.zone(zone).shine_fraction, abs=0.002
        ), zone


def test_blur_lowers_texture_everywhere(astronaut, astronaut_landmarks, scale, baseline):
    after = skin_metrics(cv2.GaussianBlur(astronaut, (0, 0), 1.5), astronaut_landmarks, scale)
    for zone in SKIN_ZONES:
        assert after.zone(zone).texture < 0.6 * baseline.zone(zone).texture, zone


def test_brightness_normalisation_cancels_an_exposure_change(
    astronaut, astronaut_landmarks, scale, baseline
):
    # 30 % less light (linear), no clipping: normalised a* must barely move, raw a* would.
    linear = (astronaut / 255.0) ** 2.2 * 0.7
    darker = (255 * linear ** (1 / 2.2)).round().astype(np.uint8)
    after = skin_metrics(darker, astronaut_landmarks, scale)
    assert after.brightness_gain == pytest.approx(baseline.brightness_gain / 0.7, rel=0.05)
    for zone in SKIN_ZONES:
        assert after.zone(zone).a_star == pytest.approx(baseline.zone(zone).a_star, abs=0.6), zone


@pytest.fixture(scope="module")
def face_at_pore_resolution(astronaut, detector):
    """The astronaut's face enlarged 12× (≈0.11 mm/px, a close-up phone photo's scale)."""
    crop = np.ascontiguousarray(astronaut[0:300, 100:400])
    landmarks = detector.detect(crop)
    big = cv2.resize(crop, None, fx=12, fy=12, interpolation=cv2.INTER_CUBIC)
    landmarks = landmarks.scaled_to((big.shape[1], big.shape[0]))
    return big, landmarks, iris_scale(landmarks.xy).mm_per_px


def test_pore_scale_dark_dots_are_counted_in_their_zone_only(face_at_pore_resolution):
    big, landmarks, mm_per_px = face_at_pore_resolution
    before = skin_metrics(big, landmarks, mm_per_px, detect_colour_card=False)
    assert before.pores_resolvable
    mask = zone_mask("right_cheek", landmarks.xy, big.shape[:2]).astype(np.uint8)
    rows, cols = np.nonzero(cv2.erode(mask, np.ones((15, 15), np.uint8)))
    dots = np.zeros(big.shape[:2], np.float32)
    for i in np.random.default_rng(0).choice(len(rows), 40, replace=False):
        dots[rows[i], cols[i]] = 1.0
    dots = cv2.GaussianBlur(dots, (0, 0), 0.5 / mm_per_px / (2 * np.sqrt(2)))  # 0.5 mm pores
    dots = (0.3 * dots / dots.max())[..., None]
    pored = np.clip(big * (1 - dots), 0, 255).astype(np.uint8)
    after = skin_metrics(pored, landmarks, mm_per_px, detect_colour_card=False)
    added = 40 / (after.zone("right_cheek").area_mm2 / 100)
    gained = (
        after.zone("right_cheek").pore_density_per_cm2
        - before.zone("right_cheek").pore_density_per_cm2
    )
    assert gained == pytest.approx(added, rel=0.25)
    for zone in OTHERS["right_cheek"]:
        assert after.zone(zone).pore_density_per_cm2 == before.zone(zone).pore_density_per_cm2


def test_colour_card_is_reported(astronaut, astronaut_landmarks, scale):
    # X-Rite ColorChecker Classic sRGB patch values, 6 × 4, on a dark surround beside the face
    patches = [
        (115, 82, 68), (194, 150, 130), (98, 122, 157), (87, 108, 67), (133, 128, 177),
        (103, 189, 170), (214, 126, 44), (80, 91, 166), (193, 90, 99), (94, 60, 108),
        (157, 188, 64), (224, 163, 46), (56, 61, 150), (70, 148, 73), (175, 54, 60),
        (231, 199, 31), (187, 86, 149), (8, 133, 161), (243, 243, 242), (200, 200, 200),
        (160, 160, 160), (122, 122, 121), (85, 85, 85), (52, 52, 52),
    ]  # fmt: skip
    canvas = np.full((700, 900, 3), 128, np.uint8)
    canvas[:512, :512] = astronaut
    canvas[90:294, 530:830] = 20
    for i, colour in enumerate(patches):
        row, col = divmod(i, 6)
        canvas[100 + row * 48 : 140 + row * 48, 540 + col * 48 : 580 + col * 48] = colour
    same_face = FaceLandmarks(astronaut_landmarks.points, (900, 700))  # pasted, not resized
    with_card = skin_metrics(canvas, same_face, scale)
    assert with_card.colour_card_present


def test_unknown_reference_zone(astronaut, astronaut_landmarks, scale):
    with pytest.raises(InvalidInputError, match="reference_zone"):
        skin_metrics(astronaut, astronaut_landmarks, scale, reference_zone="ear")


def test_greyscale_photo_reports_no_redness(astronaut, astronaut_landmarks, scale):
    grey = np.repeat(cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    report = skin_metrics(grey, astronaut_landmarks, scale)
    assert report.greyscale
    assert all(z.a_star is None and z.delta_a_star is None for z in report.zones)
    assert all(z.texture > 0 for z in report.zones)
