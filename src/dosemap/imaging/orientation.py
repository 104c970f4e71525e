"""Is the face the right way up? Checked apart from the face mesh, which cannot tell.

MediaPipe's face mesh fits an upright mesh over an upside-down face (roll near 0°, a plausible
IPD) and the plan then lands on the wrong anatomy: forehead points on the mouth. Two checks
that do not trust the mesh's own pose:

1. **Anatomy in the image.** After EXIF orientation, the mesh's eyes must be above its mouth and
   its brows above its eyes in image coordinates (a mesh handed over upside down, by any model).
2. **A second detector on four turns of the face.** The face, cropped and turned so the mesh's
   "up" points up, is scored by MediaPipe's BlazeFace face detector (short-range model, in the
   ``mediapipe`` wheel) as it is and turned by 90°, 180° and 270°. BlazeFace scores a face
   highest the right way up; if a turn scores higher than the mesh's "up" (less a margin), the
   mesh was fitted on a turned face and the photo is refused, naming the turn.

A **mirrored** photo (a selfie camera's preview) cannot be told from a single image: a mirrored
face is still an upright face, and faces are nearly symmetric. It can only be suspected against
the patient's earlier photos (:mod:`dosemap.imaging.identity`); see ``docs/photos.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np
import numpy.typing as npt

from dosemap.domain.photo_geometry import FACE_LANDMARKS
from dosemap.imaging.landmarks import mediapipe_solution, native_stderr_silenced

FloatArray = npt.NDArray[np.float64]
UInt8Array = npt.NDArray[np.uint8]

# Landmarks of the anatomy check (MediaPipe Face Mesh topology).
EYE_CENTRES = ((33, 133), (362, 263))  # each eye's outer and inner corner
MOUTH = (13, 14)  # inner upper and lower lip, midline
BROWS = ((70, 63, 105, 66, 107), (300, 293, 334, 296, 336))  # each brow's upper edge

CROP_SIDE_PX = 192  # BlazeFace short-range works on 128 px: some room for its own resampling
CROP_FACE_FRACTION = 1.0 / 1.6  # the face box fills this much of the crop, as in a selfie

# The four turns scored, as np.rot90's k (anticlockwise quarter turns of the crop), and what a
# win by each says about the photo.
TURNS = (
    "upright",
    "turned a quarter clockwise",  # the crop had to be turned anticlockwise to score best
    "upside down",
    "turned a quarter anticlockwise",
)


@runtime_checkable
class FaceScorer(Protocol):
    """Scores how much an image looks like a face the right way up (0..1)."""

    def face_score(self, image_rgb: UInt8Array) -> float:
        """The best face detection score in ``image_rgb`` (H×W×3 uint8 RGB), 0 if none."""


class BlazeFaceScorer:
    """MediaPipe Face Detection (BlazeFace, short-range model, shipped in the wheel).

    The lowest detection threshold (0.05) so that a turned face still gets a score to compare.
    Not thread-safe; make one per process.
    """

    def __init__(self, *, quiet: bool = True) -> None:
        face_detection = mediapipe_solution("face_detection")
        self._quiet = quiet
        with native_stderr_silenced(quiet):
            self._detector: Any = face_detection.FaceDetection(
                model_selection=0, min_detection_confidence=0.05
            )

    def face_score(self, image_rgb: UInt8Array) -> float:
        """See :meth:`FaceScorer.face_score`."""
        with native_stderr_silenced(self._quiet):
            result = self._detector.process(np.ascontiguousarray(image_rgb))
        return max((float(d.score[0]) for d in (result.detections or [])), default=0.0)

    def close(self) -> None:
        """Free the model's graph."""
        self._detector.close()


def mesh_up_angle_deg(landmarks_xy: FloatArray) -> float:
    """Direction of the mesh's "up" (mouth → between the eyes) in the image, in degrees
    clockwise from straight up (0 for an upright mesh, 180 for one upside down)."""
    eyes = np.mean([landmarks_xy[list(eye)].mean(axis=0) for eye in EYE_CENTRES], axis=0)
    mouth = landmarks_xy[list(MOUTH)].mean(axis=0)
    dx, dy = (eyes - mouth).tolist()
    return math.degrees(math.atan2(dx, -dy))


def anatomy_problem(landmarks_xy: FloatArray) -> str | None:
    """What is wrong with the mesh's anatomy in image coordinates (y down), or ``None``.

    The eyes must be above the mouth and each brow above its eye. A mesh within 45° of upright
    passes; the pose check then limits the tilt further.
    """
    xy = landmarks_xy[:, :2]
    angle = mesh_up_angle_deg(xy)
    if abs(angle) > 135.0:
        return f"the face mesh has the mouth above the eyes ({angle:+.0f}° from upright)"
    for brow, eye in zip(BROWS, EYE_CENTRES, strict=True):
        if xy[list(brow), 1].mean() >= xy[list(eye), 1].mean() and abs(angle) <= 45.0:
            return "the face mesh has an eye above its brow"
    return None


def upright_crop(
    rgb: UInt8Array, landmarks_xy: FloatArray, side_px: int = CROP_SIDE_PX
) -> UInt8Array:
    """A square crop of the face, turned so the mesh's "up" points up (``side_px`` wide)."""
    pts = landmarks_xy[:FACE_LANDMARKS, :2]
    centre = pts.mean(axis=0)
    face_side = float(max(np.ptp(pts[:, 0]), np.ptp(pts[:, 1])))
    zoom = side_px * CROP_FACE_FRACTION / max(face_side, 1.0)
    matrix = np.asarray(
        cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), mesh_up_angle_deg(pts), zoom),
        dtype=np.float64,
    )
    matrix[:, 2] += [side_px / 2 - centre[0], side_px / 2 - centre[1]]
    # Replicated edges: a flat border would itself be an edge a detector might read.
    crop = cv2.warpAffine(
        np.ascontiguousarray(rgb), matrix, (side_px, side_px), borderMode=cv2.BORDER_REPLICATE
    )
    return np.asarray(crop, dtype=np.uint8)


@dataclass(frozen=True)
class Orientation:
    """BlazeFace's scores of the face as the mesh has it upright and turned.

    ``scores[k]`` is the score of the mesh-upright crop turned k quarter turns anticlockwise;
    ``best`` is the turn that scored highest. The photo is upright when ``scores[0]`` beats
    every other turn by at least ``margin``.
    """

    scores: tuple[float, float, float, float]
    margin: float

    @property
    def best(self) -> int:
        """The quarter turn that scored highest (0: as the mesh has it)."""
        return int(np.argmax(self.scores))

    @property
    def upright(self) -> bool:
        """Whether the mesh's "up" beats every other turn by the margin."""
        return self.scores[0] - max(self.scores[1:]) >= self.margin

    @property
    def verdict(self) -> str:
        """What the scores say about the face, in words ("looks upside down")."""
        if self.upright:
            return "looks upright"
        if self.best == 0:
            return "could not be confirmed upright"
        return f"looks {TURNS[self.best]}"

    def describe(self) -> str:
        """The scores, for a refusal message."""
        names = ("as fitted", "90°", "180°", "270°")
        return ", ".join(f"{n} {s:.2f}" for n, s in zip(names, self.scores, strict=True))


def check_orientation(
    rgb: UInt8Array, landmarks_xy: FloatArray, scorer: FaceScorer, *, margin: float
) -> Orientation:
    """Score the face the way the mesh has it up against the three other quarter turns.

    Parameters
    ----------
    rgb, landmarks_xy
        The image and the mesh's landmarks in its pixels.
    scorer
        The second detector (:class:`BlazeFaceScorer`).
    margin
        How much the mesh's "up" must beat every other turn by.
    """
    crop = upright_crop(rgb, landmarks_xy)
    scores = tuple(scorer.face_score(np.ascontiguousarray(np.rot90(crop, k))) for k in range(4))
    return Orientation((scores[0], scores[1], scores[2], scores[3]), margin)
