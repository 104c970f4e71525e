"""Same patient or not: dlib's face descriptor on the test faces (issue 11, #2).

Same person: each portrait against transformed copies of itself (recompressed, rescaled, turned,
darker, more contrast, blurred, shifted). Different people: every pair of portraits. The
threshold is the cited one from ``data/photo_checks.toml``; ``docs/photos.md`` carries the
figures this test prints (run with ``-s``).
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageFilter, ImageOps

from dosemap.imaging.identity import FaceEncoder, descriptor_distance, dlib_box, models_dir
from dosemap.imaging.intake import photo_from_bytes
from dosemap.resources import photo_checks
from dosemap.services.photo_identity import compare_signatures, face_signature
from support.faces import face_files


def _png(image: Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


TRANSFORMS: dict[str, Callable[[Image.Image], bytes]] = {
    "jpeg q60": lambda im: _png(im, "JPEG", quality=60),
    "enlarged 2x": lambda im: _png(im.resize((im.width * 2, im.height * 2), Image.BICUBIC)),
    "reduced 0.8x": lambda im: _png(im.resize((im.width * 4 // 5, im.height * 4 // 5))),
    "turned 8°": lambda im: _png(im.rotate(8, Image.BICUBIC, fillcolor=(128, 128, 128))),
    "darker 30 %": lambda im: _png(ImageEnhance.Brightness(im).enhance(0.7)),
    "contrast +30 %": lambda im: _png(ImageEnhance.Contrast(im).enhance(1.3)),
    "blurred 1 px": lambda im: _png(im.filter(ImageFilter.GaussianBlur(1.0))),
    "shifted": lambda im: _png(im.crop((10, 12, im.width, im.height))),
}


@dataclass
class Figures:
    same: list[float]  # a portrait against its transformed copies
    different: list[float]  # every pair of portraits
    mirror_gain_mirrored: list[float]  # mirrored copies: how much nearer they come flipped back
    mirror_gain_plain: list[float]  # unmirrored copies: the same figure (should be negative)


@pytest.fixture(scope="module")
def encoder() -> FaceEncoder:
    return FaceEncoder()


@pytest.fixture(scope="module")
def figures(detector, encoder) -> Figures:
    from dosemap.imaging.quality import CaptureLimits, inspect_photo

    limits = CaptureLimits(max_roll_deg=30.0)  # a portrait tilted 8° more is still the person

    def signature(data: bytes):
        photo = photo_from_bytes(data, "x.png")
        return face_signature(inspect_photo(photo, detector, limits=limits), encoder)

    originals = {}
    same, gain_mirrored, gain_plain = [], [], []
    for path in face_files():
        image = Image.open(path).convert("RGB")
        original = signature(_png(image))
        originals[path.name] = original
        for number, transform in enumerate(TRANSFORMS.values()):
            # mirrored copies of every other transform: enough for the hint, half the time
            for mirrored in (False, True)[: 1 + number % 2]:
                gains = gain_mirrored if mirrored else gain_plain
                copy = signature(transform(ImageOps.mirror(image) if mirrored else image))
                check = compare_signatures(copy, [original])
                gains.append(check.comparison.nearest - check.flipped.nearest)
                if not mirrored:
                    same.append(check.comparison.nearest)
    different = [
        descriptor_distance(originals[a].descriptor, originals[b].descriptor)
        for a, b in itertools.combinations(sorted(originals), 2)
    ]
    return Figures(same, different, gain_mirrored, gain_plain)


def test_models_ship_in_the_package_and_load_offline(encoder) -> None:
    names = {p.name for p in models_dir().iterdir()}
    assert {
        "shape_predictor_5_face_landmarks.dat",
        "dlib_face_recognition_resnet_model_v1.dat",
    } <= names


def test_false_accepts_and_rejects_on_the_test_faces(figures: Figures) -> None:
    threshold = float(photo_checks().same_person_max_distance.value)
    false_rejects = sum(d > threshold for d in figures.same)
    false_accepts = sum(d <= threshold for d in figures.different)
    print(  # noqa: T201 (the figures for docs/photos.md, with -s)
        f"\nsame person: {len(figures.same)} pairs, distance {min(figures.same):.2f}-"
        f"{max(figures.same):.2f} (median {np.median(figures.same):.2f}); false rejects "
        f"{false_rejects}\ndifferent people: {len(figures.different)} pairs, distance "
        f"{min(figures.different):.2f}-{max(figures.different):.2f} (median "
        f"{np.median(figures.different):.2f}); false accepts {false_accepts} at <= {threshold}; "
        f"at dlib's 0.6: {sum(d <= 0.6 for d in figures.different)}"
    )
    assert len(figures.same) == 24 * len(TRANSFORMS)
    assert len(figures.different) == 24 * 23 // 2
    assert false_rejects == 0
    assert false_accepts == 0


def test_mirror_hint_on_the_test_faces(figures: Figures) -> None:
    gain = float(photo_checks().mirror_min_gain.value)
    found = sum(g >= gain for g in figures.mirror_gain_mirrored)
    false_alarms = sum(g >= gain for g in figures.mirror_gain_plain)
    print(  # noqa: T201 (the figures for docs/photos.md, with -s)
        f"\nmirrored copies: flipped back {min(figures.mirror_gain_mirrored):.3f}-"
        f"{max(figures.mirror_gain_mirrored):.3f} nearer; {found} of "
        f"{len(figures.mirror_gain_mirrored)} flagged; unmirrored copies flagged: {false_alarms}"
    )
    assert false_alarms == 0
    assert len(figures.mirror_gain_mirrored) == 24 * len(TRANSFORMS) // 2
    assert found == len(figures.mirror_gain_mirrored)


def test_box_follows_the_landmarks() -> None:
    xy = np.array([[100.0, 200.0], [300.0, 450.0]] * 234)
    left, top, right, bottom = dlib_box(xy)
    assert left < 100 < 300 < right
    assert 200 < top < bottom < 450
