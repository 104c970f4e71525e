"""Fixtures for the photo tests: one MediaPipe detector per test process, the test faces and
scikit-image's astronaut (public-domain NASA portrait, shipped with scikit-image)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from skimage import data

from dosemap.imaging.intake import Photo, photo_from_bytes
from dosemap.imaging.landmarks import FaceLandmarks, MediaPipeDetector


def png_bytes(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()


def photo_of(rgb: np.ndarray, name: str = "test.png") -> Photo:
    return photo_from_bytes(png_bytes(rgb), name)


@pytest.fixture(name="photo_of", scope="session")
def _photo_of_fixture():
    """``photo_of(rgb, name)``: a :class:`Photo` from pixels (via PNG, as a file would be)."""
    return photo_of


@pytest.fixture(scope="session")
def detector():
    with MediaPipeDetector() as found:
        yield found


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    image = data.astronaut()
    image.setflags(write=False)
    return image


@pytest.fixture(scope="session")
def astronaut_landmarks(detector, astronaut) -> FaceLandmarks:
    return detector.detect(astronaut)
