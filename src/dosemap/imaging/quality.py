"""Landmarks, iris scale and a capture-quality report for one photo.

:func:`inspect_photo` refuses a photo that cannot be measured (no face, several faces, face too
small, head turned or tilted beyond :class:`CaptureLimits`, eyes closed) and reports, for the
rest, what a clinic needs to insist on comparable photos: face size, pose, sharpness and exposure
clipping. Soft problems (blur, clipping, an implausible iris scale) are flags, not errors.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cache

import cv2
import numpy as np
import numpy.typing as npt

from dosemap.domain.photo_geometry import (
    FACE_LANDMARKS,
    HeadPose,
    IrisScale,
    PoseModel,
    estimate_pose,
    eye_aspect_ratio,
    iris_scale,
)
from dosemap.imaging.errors import PhotoError
from dosemap.imaging.intake import Photo
from dosemap.imaging.landmarks import Detector, FaceLandmarks
from dosemap.imaging.orientation import FaceScorer, Orientation, anatomy_problem, check_orientation
from dosemap.resources import template_mesh

FloatArray = npt.NDArray[np.float64]
UInt8Array = npt.NDArray[np.uint8]

SHARPNESS_FACE_WIDTH_PX = 128  # faces are resampled to this width so sharpness is comparable
_ERODE_KERNEL = np.ones((5, 5), np.uint8)


@dataclass(frozen=True)
class CaptureLimits:
    """What a photo must meet. Angles in degrees, sizes in full-resolution pixels.

    The pose limits keep the iris scale and the zone geometry usable: at 20° yaw the far half
    of the face is foreshortened by cos 20° ≈ 6 %, about the iris scale's own uncertainty.
    Sharpness is the variance of the Laplacian of the face resampled to 128 px wide (see
    ``docs/photos.md`` for its calibration); clipping is the fraction of face pixels at the
    sensor's limits.
    """

    max_yaw_deg: float = 20.0
    max_pitch_deg: float = 20.0
    max_roll_deg: float = 15.0
    sideways_roll_deg: float = 45.0  # nearer a quarter turn than upright: a rotated photo
    min_face_width_px: float = 64.0
    min_iris_diameter_px: float = 6.0
    min_eye_aspect_ratio: float = 0.12
    min_sharpness: float = 60.0
    max_clipped_fraction: float = 0.02
    # BlazeFace's score of the face as the mesh has it up must beat every other quarter turn
    # by this much. On the 24 test faces and their mirror images, upright within 15°: by 0.09
    # or more; every copy rotated 30-330° that the mesh still fitted: by 0.03 at most
    # (docs/photos.md, the rotation sweep).
    orientation_margin: float = 0.06


@dataclass(frozen=True)
class CaptureQuality:
    """Capture-quality report of one photo (all values absolute; sizes in full-res pixels)."""

    width_px: int
    height_px: int
    face_width_px: float
    face_width_fraction: float
    iris_diameter_px: float
    mm_per_px: float
    scale_uncertainty: float
    ipd_mm: float
    ipd_plausible: bool
    yaw_deg: float
    pitch_deg: float
    roll_deg: float
    eye_aspect_ratio: float
    sharpness: float
    highlights_clipped: float
    shadows_clipped: float
    flags: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        """Plain values for CSV/JSON (flags joined by ``;``)."""
        row = asdict(self)
        row["flags"] = ";".join(self.flags)
        return row


@dataclass(frozen=True, eq=False)
class PhotoAnalysis:
    """A photo that passed intake, with its landmarks (full-resolution pixels) and report."""

    photo: Photo
    landmarks: FaceLandmarks
    scale: IrisScale
    pose: HeadPose
    quality: CaptureQuality
    orientation: Orientation | None = None  # None: the detector could not score faces


def face_mask(landmarks_xy: FloatArray, shape: tuple[int, int]) -> UInt8Array:
    """0/255 mask (rows × columns ``shape``) of the convex hull of the 468 face landmarks."""
    mask = np.zeros(shape, dtype=np.uint8)
    hull = cv2.convexHull(np.round(landmarks_xy[:FACE_LANDMARKS]).astype(np.int32))
    cv2.fillConvexPoly(mask, hull, (255,))
    return mask


def _face_box(rgb: UInt8Array, landmarks_xy: FloatArray) -> tuple[UInt8Array, FloatArray]:
    """The image cropped to the face landmarks' bounding box, and the 468 landmarks in it."""
    pts = landmarks_xy[:FACE_LANDMARKS]
    height, width = rgb.shape[:2]
    x0, y0 = np.maximum(np.floor(pts.min(axis=0)).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(pts.max(axis=0)).astype(int), [width, height])
    return rgb[y0:y1, x0:x1], pts - [x0, y0]


def sharpness(rgb: UInt8Array, landmarks_xy: FloatArray) -> float:
    """Variance of the Laplacian over the face, after resampling the face to 128 px wide.

    Resampling to a fixed face width makes the figure independent of the camera's resolution
    and of the distance (Pech-Pacheco et al., "Diatom autofocusing in brightfield microscopy: a
    comparative study", ICPR 2000, for the variance-of-Laplacian focus measure).
    """
    return _sharpness(*_face_box(rgb, landmarks_xy))


def _sharpness(crop: UInt8Array, pts: FloatArray) -> float:
    height, width = crop.shape[:2]
    if width < 8 or height < 8:
        return 0.0
    factor = SHARPNESS_FACE_WIDTH_PX / width
    gray = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY)
    size = (SHARPNESS_FACE_WIDTH_PX, max(8, round(height * factor)))
    interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC
    small = cv2.resize(gray, size, interpolation=interpolation)
    # Eroded: the hull edge is background contrast.
    mask = cv2.erode(face_mask(pts * factor, (small.shape[0], small.shape[1])), _ERODE_KERNEL)
    laplacian = cv2.Laplacian(small, cv2.CV_64F)
    _, std = cv2.meanStdDev(laplacian, mask=mask)
    return float(std[0, 0]) ** 2 if cv2.countNonZero(mask) else 0.0


def clipping(rgb: UInt8Array, landmarks_xy: FloatArray) -> tuple[float, float]:
    """Fractions of face pixels with a channel at >= 250 (highlights) and all <= 5 (shadows)."""
    return _clipping(*_face_box(rgb, landmarks_xy))


def _clipping(crop: UInt8Array, pts: FloatArray) -> tuple[float, float]:
    # channel maximum by pairwise maxima: several times faster than .max(axis=2) on uint8
    channel_max = np.maximum(np.maximum(crop[..., 0], crop[..., 1]), crop[..., 2])
    mask = face_mask(pts, (channel_max.shape[0], channel_max.shape[1])) > 0
    brightest = channel_max[mask]
    if brightest.size == 0:
        return 0.0, 0.0
    highlights = float(np.count_nonzero(brightest >= 250)) / brightest.size
    shadows = float(np.count_nonzero(brightest <= 5)) / brightest.size
    return highlights, shadows


def _places(value: float, limit: float, fewest: int = 0) -> int:
    """Decimals to print ``value`` with so that it does not read as ``limit`` it failed
    against (20.3° shown as "20°" beside "allowed <= 20°" would hide why it was refused)."""
    places = fewest
    while places < fewest + 6 and round(abs(value), places) == round(abs(limit), places):
        places += 1
    return places


@cache
def _pose_model() -> PoseModel:
    return PoseModel.of(template_mesh().vertices_mm)


def inspect_photo(
    photo: Photo,
    detector: Detector,
    *,
    limits: CaptureLimits | None = None,
    scorer: FaceScorer | None = None,
) -> PhotoAnalysis:
    """Find the face, check that it can be measured, and report capture quality.

    Landmarks are found on ``photo.detect_rgb`` and returned in full-resolution pixels. The
    face's orientation is checked apart from the mesh (:mod:`dosemap.imaging.orientation`) by
    ``scorer``, by default the detector itself when it can score faces (MediaPipe's does); a
    detector that cannot (recorded landmarks) gets the anatomy check only.

    Raises
    ------
    PhotoError
        ``no_face``, ``multiple_faces``, ``orientation``, ``face_too_small``, ``head_pose`` or
        ``eyes_closed``.
    """
    limits = limits or CaptureLimits()
    if scorer is None and isinstance(detector, FaceScorer):
        scorer = detector
    try:
        found = detector.detect(photo.detect_rgb)
    except PhotoError as exc:
        raise PhotoError(exc.code, exc.message, exc.allowed, source=photo.source) from None
    if not found.has_iris:
        raise PhotoError("eyes_closed", "the detector gave no iris landmarks", "478 landmarks")
    landmarks = found.scaled_to(photo.size)
    xy = landmarks.xy
    face_width = float(np.ptp(xy[:FACE_LANDMARKS, 0]))
    problem = anatomy_problem(xy)
    if problem is not None:
        raise PhotoError(
            "orientation", f"face upside down: {problem}",
            "an upright face (rotate the photo)", source=photo.source,
        )  # fmt: skip
    scale = iris_scale(xy)
    pose = estimate_pose(xy, _pose_model())
    # A face on its side is a rotated photo (often a wrong EXIF orientation), whatever its
    # width across the image or its other angles read: say so first.
    if abs(pose.roll_deg) > limits.sideways_roll_deg:
        raise PhotoError(
            "head_pose",
            f"face on its side (roll {pose.roll_deg:+.0f}°): the photo is turned; check its "
            "orientation",
            f"an upright face, |roll| <= {limits.max_roll_deg:.0f}°",
            source=photo.source,
        )
    orientation = None
    if scorer is not None:
        orientation = check_orientation(
            photo.detect_rgb, found.xy, scorer, margin=limits.orientation_margin
        )
        if not orientation.upright:
            raise PhotoError(
                "orientation",
                f"face {orientation.verdict} to a second face detector (scores "
                f"{orientation.describe()}); the face mesh cannot tell",
                "an upright face (rotate the photo so the face is the right way up)",
                source=photo.source,
            )
    iris = scale.iris_diameter_px
    if face_width < limits.min_face_width_px or iris < limits.min_iris_diameter_px:
        face_places = _places(face_width, limits.min_face_width_px)
        iris_places = _places(iris, limits.min_iris_diameter_px, 1)
        raise PhotoError(
            "face_too_small",
            f"face {face_width:.{face_places}f} px wide, iris {iris:.{iris_places}f} px",
            f"face >= {limits.min_face_width_px:.0f} px and iris >= "
            f"{limits.min_iris_diameter_px:.0f} px wide",
            source=photo.source,
        )
    for name, value, limit in (
        ("yaw (turned)", pose.yaw_deg, limits.max_yaw_deg),
        ("pitch (chin up/down)", pose.pitch_deg, limits.max_pitch_deg),
        ("roll (tilted)", pose.roll_deg, limits.max_roll_deg),
    ):
        if abs(value) > limit:
            raise PhotoError(
                "head_pose", f"head {name} {value:+.{_places(value, limit)}f}°",
                f"|angle| <= {limit:.0f}°", source=photo.source,
            )  # fmt: skip
    ear = min(eye_aspect_ratio(xy))
    if ear < limits.min_eye_aspect_ratio:
        raise PhotoError(
            "eyes_closed",
            f"eye aspect ratio {ear:.{_places(ear, limits.min_eye_aspect_ratio, 2)}f}: "
            "iris not measurable",
            f">= {limits.min_eye_aspect_ratio:.2f} (eyes open)",
            source=photo.source,
        )
    quality = _quality(photo, found, face_width, scale, pose, ear, limits)
    return PhotoAnalysis(
        photo=photo,
        landmarks=landmarks,
        scale=scale,
        pose=pose,
        quality=quality,
        orientation=orientation,
    )


def _quality(
    photo: Photo,
    detected: FaceLandmarks,
    face_width: float,
    scale: IrisScale,
    pose: HeadPose,
    ear: float,
    limits: CaptureLimits,
) -> CaptureQuality:
    # Measured on the reduced copy: enough for gross blur and clipping, and no full decode.
    face = _face_box(photo.detect_rgb, detected.xy)
    sharp = _sharpness(*face)
    highlights, shadows = _clipping(*face)
    flags = []
    if sharp < limits.min_sharpness:
        flags.append("blurry")
    if highlights > limits.max_clipped_fraction:
        flags.append("highlights_clipped")
    if shadows > limits.max_clipped_fraction:
        flags.append("shadows_clipped")
    if not scale.ipd_plausible:
        flags.append("ipd_out_of_adult_range")
    return CaptureQuality(
        width_px=photo.size[0],
        height_px=photo.size[1],
        face_width_px=round(face_width, 1),
        face_width_fraction=round(face_width / photo.size[0], 3),
        iris_diameter_px=round(scale.iris_diameter_px, 2),
        mm_per_px=round(scale.mm_per_px, 5),
        scale_uncertainty=round(scale.relative_uncertainty, 3),
        ipd_mm=round(scale.ipd_mm, 1),
        ipd_plausible=scale.ipd_plausible,
        yaw_deg=round(pose.yaw_deg, 1),
        pitch_deg=round(pose.pitch_deg, 1),
        roll_deg=round(pose.roll_deg, 1),
        eye_aspect_ratio=round(ear, 3),
        sharpness=round(sharp, 1),
        highlights_clipped=round(highlights, 4),
        shadows_clipped=round(shadows, 4),
        flags=tuple(flags),
    )
