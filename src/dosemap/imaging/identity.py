"""Is this the same person? A face descriptor from dlib's face-recognition network.

Geometry alone cannot tell two people apart: different people's faces align on the stable
landmarks to 0.9 mm. dlib's ResNet face-recognition model
(``dlib_face_recognition_resnet_model_v1``, with its 5-point shape predictor for the face chip)
maps a face to a 128-number descriptor; two
photos of one person lie close together (Euclidean distance), two people far apart. The models
ship in the ``face_recognition_models`` package and dlib in the prebuilt ``dlib-bin`` wheel, both
from PyPI: nothing is downloaded at run time. Both model files are released into the public
domain (CC0) by their author, Davis E. King.

The face is located by the MediaPipe landmarks already found (mapped to the box dlib's own
detector would draw), so there is no second face detection.

Where the decision threshold comes from, and how it did on the test faces: ``docs/photos.md``
(*Identity*) and ``dosemap/data/photo_checks.toml``.
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from dosemap.domain.photo_geometry import FACE_LANDMARKS

FloatArray = npt.NDArray[np.float64]
UInt8Array = npt.NDArray[np.uint8]

SHAPE_MODEL = "shape_predictor_5_face_landmarks.dat"
RECOGNITION_MODEL = "dlib_face_recognition_resnet_model_v1.dat"
DESCRIPTOR_SIZE = 128

# dlib's frontal-face detector box relative to the MediaPipe face landmarks' bounding box
# (fractions of its width and height), measured on the 24 test faces: left -0.04 (sd 0.07),
# top +0.04 (0.06), right 1.02 (0.08), bottom 0.94 (0.05). The shape predictor was trained on
# boxes like these.
_DLIB_BOX = (-0.04, 0.04, 1.02, 0.94)


def models_dir() -> Path:
    """The folder of ``face_recognition_models``' model files.

    Found without importing the package: its ``__init__`` imports ``pkg_resources``
    (deprecated, slow) only to build these paths.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "face_recognition_models is not installed", name="face_recognition_models"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def dlib_box(landmarks_xy: FloatArray) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the face as dlib's detector would box it, in pixels."""
    pts = landmarks_xy[:FACE_LANDMARKS, :2]
    (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
    w, h = x1 - x0, y1 - y0
    left, top, right, bottom = _DLIB_BOX
    return (
        round(x0 + left * w),
        round(y0 + top * h),
        round(x0 + right * w),
        round(y0 + bottom * h),
    )


class FaceEncoder:
    """dlib's face descriptor (128 numbers) of a face located by its landmarks.

    Not thread-safe; make one per process. Loading both models takes ~0.3 s.
    """

    def __init__(self) -> None:
        import dlib  # ~0.1 s; only photo commands that compare identity need it

        folder = models_dir()
        self._dlib: Any = dlib
        self._shape: Any = dlib.shape_predictor(str(folder / SHAPE_MODEL))
        self._net: Any = dlib.face_recognition_model_v1(str(folder / RECOGNITION_MODEL))

    def descriptor(self, image_rgb: UInt8Array, landmarks_xy: FloatArray) -> FloatArray:
        """The face's descriptor; ``landmarks_xy`` in pixels of ``image_rgb``."""
        left, top, right, bottom = dlib_box(landmarks_xy)
        rgb = np.ascontiguousarray(image_rgb, dtype=np.uint8)
        shape = self._shape(rgb, self._dlib.rectangle(left, top, right, bottom))
        vector = np.array(self._net.compute_face_descriptor(rgb, shape), dtype=np.float64)
        if vector.shape != (DESCRIPTOR_SIZE,) or not np.all(np.isfinite(vector)):
            raise ValueError(f"dlib returned a descriptor of shape {vector.shape}")
        return vector


def descriptor_distance(a: FloatArray, b: FloatArray) -> float:
    """Euclidean distance between two descriptors (0: identical; same person < ~0.6)."""
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)))


@dataclass(frozen=True)
class IdentityComparison:
    """A new photo's face against a patient's earlier photos.

    ``distances`` are to each earlier photo (same order); the decision uses the smallest, so
    one earlier photo of the patient in similar light is enough to recognise them.
    """

    distances: tuple[float, ...]
    max_distance: float  # the same-person threshold used

    @property
    def nearest(self) -> float:
        """The smallest distance to an earlier photo (infinity if there is none)."""
        return min(self.distances, default=math.inf)

    @property
    def same_person(self) -> bool:
        """Whether the nearest earlier photo is within the same-person threshold."""
        return self.nearest <= self.max_distance

    def describe(self) -> str:
        """One clause with the figure, e.g. ``face distance 0.83 (same person <= 0.60)``."""
        return (
            f"face distance {self.nearest:.2f} to the nearest of {len(self.distances)} earlier "
            f"photo(s) (same person <= {self.max_distance:.2f})"
        )


def compare_descriptors(
    new: FloatArray, earlier: list[FloatArray], *, max_distance: float
) -> IdentityComparison:
    """Distances from ``new`` to each of ``earlier``, judged against ``max_distance``."""
    return IdentityComparison(tuple(descriptor_distance(new, old) for old in earlier), max_distance)
