"""Face landmark detection behind a small interface.

:class:`MediaPipeDetector` runs MediaPipe Face Mesh with iris refinement (478 landmarks; the model
ships inside the ``mediapipe`` wheel, nothing is downloaded). :class:`RecordedDetector` returns
landmarks recorded earlier, for tests and for re-analysing a photo without the model. Any other
model can be swapped in by implementing :class:`Detector`.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.machinery import ModuleSpec
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from dosemap.domain.photo_geometry import FACE_LANDMARKS, REFINED_LANDMARKS
from dosemap.imaging.errors import PhotoError

FloatArray = npt.NDArray[np.float64]
UInt8Array = npt.NDArray[np.uint8]

# Whether this process has built a MediaPipe graph: a child forked after that crashes when it
# builds its own, so batch workers must then be spawned (see :mod:`dosemap.imaging.batch`).
_graph_built = False


def mediapipe_graph_built() -> bool:
    """Whether a :class:`MediaPipeDetector` has been made in this process."""
    return _graph_built


_SOLUTIONS = "mediapipe.python.solutions"


def mediapipe_solution(name: str) -> Any:
    """The module ``mediapipe.python.solutions.<name>`` (e.g. ``"face_mesh"``).

    ``mediapipe/__init__.py`` and ``solutions/__init__.py`` import every solution, the drawing
    helpers (and with them matplotlib.pyplot and OpenCV) and the Tasks API: ~1 s of CPU before a
    photo command can start, ~0.25 s for this one module. So the two packages are entered in
    ``sys.modules`` unexecuted (their own specs, their ``__init__`` not run) while the solution
    is imported, and removed again: a later ``import mediapipe`` anywhere runs as usual.
    """
    module_name = f"{_SOLUTIONS}.{name}"
    if module_name in sys.modules or hasattr(sys.modules.get("mediapipe"), "solutions"):
        return importlib.import_module(module_name)  # already there, or mediapipe fully imported
    entered: list[str] = []
    try:
        _enter_unexecuted(importlib.util.find_spec("mediapipe"), entered)
        _enter_unexecuted(importlib.util.find_spec("mediapipe.python.solutions"), entered)
        return importlib.import_module(module_name)
    finally:
        for package in entered:
            del sys.modules[package]


def _enter_unexecuted(spec: ModuleSpec | None, entered: list[str]) -> None:
    """Put the package of ``spec`` in ``sys.modules`` without running its ``__init__``."""
    if spec is None:
        raise ModuleNotFoundError("MediaPipe is not installed", name="mediapipe")
    if spec.name not in sys.modules:
        sys.modules[spec.name] = importlib.util.module_from_spec(spec)
        entered.append(spec.name)


@dataclass(frozen=True, eq=False)
class FaceLandmarks:
    """One face's landmarks in pixels of a given image.

    Attributes
    ----------
    points
        478×3 (or 468×3): ``x``, ``y`` in pixels (x right, y down) and ``z``, MediaPipe's relative
        depth scaled like ``x`` (smaller is nearer the camera).
    image_size
        ``(width, height)`` of the image the pixels refer to.
    """

    points: FloatArray
    image_size: tuple[int, int]

    def __post_init__(self) -> None:
        if self.points.ndim != 2 or self.points.shape[1] != 3:
            raise ValueError(f"landmarks must be N×3, got {self.points.shape}")
        if len(self.points) not in (FACE_LANDMARKS, REFINED_LANDMARKS):
            raise ValueError(f"expected 468 or 478 landmarks, got {len(self.points)}")

    @property
    def xy(self) -> FloatArray:
        """N×2 pixel positions."""
        result: FloatArray = self.points[:, :2]
        return result

    @property
    def has_iris(self) -> bool:
        """Whether the 10 iris landmarks (468-477) are present."""
        return len(self.points) == REFINED_LANDMARKS

    def scaled_to(self, image_size: tuple[int, int]) -> FaceLandmarks:
        """The same landmarks in pixels of a resized copy of the image (e.g. full resolution)."""
        fx = image_size[0] / self.image_size[0]
        fy = image_size[1] / self.image_size[1]
        factors = np.array([fx, fy, fx], dtype=np.float64)
        return FaceLandmarks(points=self.points * factors, image_size=image_size)

    def normalised(self) -> FloatArray:
        """N×3 in MediaPipe's normalised form (x, y in 0..1 of width and height; z ÷ width)."""
        width, height = self.image_size
        result: FloatArray = self.points / np.array([width, height, width], dtype=np.float64)
        return result


class Detector(Protocol):
    """Finds exactly one face in an RGB image."""

    def detect(self, image_rgb: UInt8Array) -> FaceLandmarks:
        """Landmarks of the one face in ``image_rgb`` (H×W×3 uint8, RGB order).

        Raises
        ------
        PhotoError
            ``no_face`` or ``multiple_faces``.
        """


# A landmark as MediaPipe serialises it (protobuf wire format): field 1 of the list, 15 bytes
# long, holding x (field 1), y (2) and z (3) as little-endian float32 after their tag bytes.
_WIRE_LANDMARK = np.dtype(
    [("list_tag", "u1"), ("size", "u1"), ("x_tag", "u1"), ("x", "<f4"), ("y_tag", "u1"),
     ("y", "<f4"), ("z_tag", "u1"), ("z", "<f4")]
)  # fmt: skip
_WIRE_TAGS = {"list_tag": 0x0A, "size": 15, "x_tag": 0x0D, "y_tag": 0x15, "z_tag": 0x1D}


def landmark_array(face: Any) -> FloatArray:
    """N×3 float64 (x, y, z) of a MediaPipe ``NormalizedLandmarkList``.

    Reads the message's serialised bytes in one NumPy view: ~5× faster than reading 478
    landmarks field by field (~0.04 ms against ~0.18 ms, 3 % of an inference). The same float32
    values either way; a message in any other layout (a coordinate of exactly 0, which protobuf
    leaves out, or visibility set) takes the field-by-field path.
    """
    data = face.SerializeToString()
    if len(data) == _WIRE_LANDMARK.itemsize * len(face.landmark):
        wire = np.frombuffer(data, _WIRE_LANDMARK)
        if all(np.all(wire[name] == value) for name, value in _WIRE_TAGS.items()):
            points: FloatArray = np.stack([wire["x"], wire["y"], wire["z"]], axis=1).astype(
                np.float64
            )
            return points
    return np.array([(p.x, p.y, p.z) for p in face.landmark], dtype=np.float64)


def _from_faces(faces: Sequence[FloatArray], image_rgb: UInt8Array) -> FaceLandmarks:
    if not faces:
        raise PhotoError("no_face", "no face found", "one frontal face")
    if len(faces) > 1:
        raise PhotoError("multiple_faces", f"{len(faces)} faces found", "exactly one face")
    height, width = image_rgb.shape[:2]
    points = faces[0] * np.array([width, height, width], dtype=np.float64)
    return FaceLandmarks(points=points, image_size=(width, height))


@contextmanager
def native_stderr_silenced(enabled: bool) -> Iterator[None]:
    """Hide MediaPipe's C++ (glog/absl/TFLite) chatter on file descriptor 2.

    Its log level cannot be set from Python before the graph starts; without this every
    command prints a dozen "W0000 ... Feedback manager" lines. Python exceptions are raised
    after the descriptor is restored, so no error is hidden. Some lines come from the graph's
    own threads slightly after ``process`` returns, so commands wrap their whole detection
    phase in this too.
    """
    if not enabled:
        yield
        return
    try:
        saved = os.dup(2)
    except OSError:  # no usable stderr descriptor (embedded interpreters)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class MediaPipeDetector:
    """MediaPipe Face Mesh, static-image mode, iris refinement on (478 landmarks).

    Looks for up to two faces so that a second face is reported instead of silently ignored.
    Also scores faces with MediaPipe's BlazeFace detector (:meth:`face_score`), the second
    opinion :mod:`dosemap.imaging.orientation` needs to tell an upside-down face. Not
    thread-safe; make one per process (see :mod:`dosemap.imaging.batch`).
    """

    def __init__(self, *, min_detection_confidence: float = 0.5, quiet: bool = True) -> None:
        face_mesh = mediapipe_solution("face_mesh")
        global _graph_built
        _graph_built = True
        self._quiet = quiet
        with native_stderr_silenced(quiet):
            self._mesh: Any = face_mesh.FaceMesh(
                static_image_mode=True,
                max_num_faces=2,
                refine_landmarks=True,
                min_detection_confidence=min_detection_confidence,
            )
        self._scorer: Any = None  # BlazeFace, built on first use

    def detect(self, image_rgb: UInt8Array) -> FaceLandmarks:
        """See :meth:`Detector.detect`."""
        if image_rgb.ndim != 3 or image_rgb.shape[2] != 3 or image_rgb.dtype != np.uint8:
            raise PhotoError(
                "not_an_image", f"array {image_rgb.shape} {image_rgb.dtype}", "H×W×3 uint8"
            )
        result = self.infer(image_rgb)
        faces = [landmark_array(face) for face in (result.multi_face_landmarks or [])]
        return _from_faces(faces, image_rgb)

    def infer(self, image_rgb: UInt8Array) -> Any:
        """MediaPipe's own result for an H×W×3 uint8 image, unconverted (bare inference)."""
        with native_stderr_silenced(self._quiet):
            return self._mesh.process(np.ascontiguousarray(image_rgb))

    def face_score(self, image_rgb: UInt8Array) -> float:
        """BlazeFace's best face score in ``image_rgb`` (see
        :class:`dosemap.imaging.orientation.FaceScorer`)."""
        if self._scorer is None:
            from dosemap.imaging.orientation import BlazeFaceScorer  # it imports this module

            self._scorer = BlazeFaceScorer(quiet=self._quiet)
        score: float = self._scorer.face_score(image_rgb)
        return score

    def close(self) -> None:
        """Free the models' graphs."""
        self._mesh.close()
        if self._scorer is not None:
            self._scorer.close()

    def __enter__(self) -> MediaPipeDetector:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class RecordedDetector:
    """Returns landmarks recorded earlier, in MediaPipe's normalised form.

    Parameters
    ----------
    faces
        The faces "found": each an N×3 array with x, y in 0..1 of the image's width and height
        (:meth:`FaceLandmarks.normalised`). An empty sequence simulates no face; two, a group.
    """

    def __init__(self, faces: Sequence[FloatArray]) -> None:
        self._faces = [np.asarray(f, dtype=np.float64) for f in faces]

    @classmethod
    def of(cls, landmarks: FaceLandmarks) -> RecordedDetector:
        """A detector that finds ``landmarks`` (scaled to whatever image it is given)."""
        return cls([landmarks.normalised()])

    def detect(self, image_rgb: UInt8Array) -> FaceLandmarks:
        """See :meth:`Detector.detect`."""
        return _from_faces(self._faces, image_rgb)
