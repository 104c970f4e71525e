"""Image-free geometry of a face photo: head pose, the iris millimetre scale, eye openness and
the similarity fit used to align two photos.

Every landmark array here is MediaPipe Face Mesh topology: 468 face landmarks, optionally
followed by the 10 iris landmarks of the refined model (478 in all). Photo coordinates are
pixels with x to the right and y DOWN the image (``(x, y)`` column-row order, not numpy's
row-column). The metric template (``dosemap.domain.atlas.mesh``) is millimetres with x towards
the patient's left, y UP and z out of the face.

Sources
-------
- Horizontal visible iris diameter 11.7 ± 0.5 mm in adults: Rüfer F, Schröder A, Erb C.
  "White-to-white corneal diameter: normal values in healthy humans obtained with the Orbscan II
  topography system." Cornea 2005;24(3):259-261 (11.71 ± 0.42 mm, n = 898 eyes); the same
  constant is what MediaPipe Iris uses for metric depth (Ablavatski et al., "Real-time pupil
  tracking from monocular video for digital puppeteering", arXiv:2006.11341, 2020).
- Adult interpupillary distance: mean ≈ 63 mm, nearly all adults within 50-75 mm, extremes
  about 45-80 mm. Dodgson NA. "Variation and extrema of human interpupillary distance." Proc.
  SPIE 5291, Stereoscopic Displays and Virtual Reality Systems XI, 2004:36-46.
- Eye aspect ratio: Soukupová T, Čech J. "Real-time eye blink detection using facial
  landmarks." 21st Computer Vision Winter Workshop, 2016.
- Similarity fit: Umeyama S. "Least-squares estimation of transformation parameters between two
  point patterns." IEEE TPAMI 1991;13(4):376-380.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dosemap.domain.errors import InvalidInputError

FloatArray = npt.NDArray[np.float64]

FACE_LANDMARKS = 468
REFINED_LANDMARKS = 478

# Iris landmarks of the refined model: centre, then four points on the iris edge. In a frontal
# photo the first iris (468) is on the image's left, i.e. the patient's RIGHT eye.
RIGHT_IRIS_CENTRE = 468
RIGHT_IRIS_EDGE_H = (469, 471)
RIGHT_IRIS_EDGE_V = (470, 472)
LEFT_IRIS_CENTRE = 473
LEFT_IRIS_EDGE_H = (474, 476)
LEFT_IRIS_EDGE_V = (475, 477)

# Eye contours for the eye aspect ratio, in Soukupová & Čech's order p1..p6:
# outer/inner corner, two upper-lid and two lower-lid points.
RIGHT_EYE_EAR = (33, 160, 158, 133, 153, 144)
LEFT_EYE_EAR = (362, 385, 387, 263, 373, 380)

# Landmarks that expression barely moves: eye corners, nasal bridge and tip, alar base,
# glabella/forehead midline and the temple / zygoma contour. NOT the lips, jaw or brows.
STABLE_LANDMARKS: tuple[int, ...] = (
    33, 133, 362, 263,  # eye corners
    168, 6, 197, 195, 5, 4, 1, 2,  # nasal bridge and tip
    98, 327, 64, 294,  # alar base
    10, 151, 9, 108, 337,  # forehead midline and paramedian
    234, 454, 127, 356, 93, 323, 116, 345, 50, 280,  # temples, zygoma, upper cheek
)  # fmt: skip

IRIS_DIAMETER_MM = 11.7
IRIS_DIAMETER_SD_MM = 0.5
IPD_ADULT_RANGE_MM = (50.0, 75.0)


def _check_landmarks(landmarks: FloatArray, needed: int, field: str = "landmarks") -> None:
    if landmarks.ndim != 2 or landmarks.shape[1] < 2 or len(landmarks) < needed:
        raise InvalidInputError(field, f"shape {landmarks.shape}", f"N×2 or N×3 with N >= {needed}")
    if not np.all(np.isfinite(landmarks[:needed, :2])):
        raise InvalidInputError(field, "contains NaN or infinity", "finite pixel coordinates")


@dataclass(frozen=True)
class HeadPose:
    """Head rotation estimated from the landmarks, in degrees.

    ``yaw`` > 0: the face turns towards the image's right (the patient's left). ``pitch`` > 0:
    chin up. ``roll`` > 0: the head tilts so that the patient's left eye (image right) is
    higher. Zero on all three is a frontal, level face.
    """

    yaw_deg: float
    pitch_deg: float
    roll_deg: float


@dataclass(frozen=True, eq=False)
class PoseModel:
    """The template's half of the pose fit, worked out once per template.

    ``solver`` (3×K) maps the K centred photo positions of :data:`STABLE_LANDMARKS` to the
    least-squares 2×3 projection of the centred template: ``(MᵀM)⁻¹Mᵀ``.
    """

    solver: FloatArray

    @classmethod
    def of(cls, template_mm: FloatArray) -> PoseModel:
        """The pose model of ``template_mm`` (468×3 vertices in mm)."""
        _check_landmarks(template_mm, FACE_LANDMARKS, "template_mm")
        model = template_mm[list(STABLE_LANDMARKS), :3]
        model = model - model.mean(axis=0)
        solver: FloatArray = np.linalg.solve(model.T @ model, model.T)
        return cls(solver)


def estimate_pose(landmarks_px: FloatArray, template: FloatArray | PoseModel) -> HeadPose:
    """Head pose by a weak-perspective (scaled orthographic) fit of the metric template.

    Fits ``[x, -y] ≈ s · R[:2] · X + t`` over :data:`STABLE_LANDMARKS` and reads the angles from
    the rotation ``R``. Weak perspective is accurate for portraits taken from beyond ~50 cm,
    where the face's depth is small against the camera distance.

    Parameters
    ----------
    landmarks_px
        N×2 (or N×3) photo landmarks in pixels, x right, y down; N >= 468.
    template
        468×3 template vertices in mm (``template_mesh().vertices_mm``), or their
        :class:`PoseModel` when many photos are measured against one template.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> template = rng.normal(size=(468, 3)) * 30
    >>> image = np.c_[template[:, 0], -template[:, 1]] * 4 + 300  # frontal, 4 px/mm
    >>> pose = estimate_pose(image, template)
    >>> [round(abs(a), 6) for a in (pose.yaw_deg, pose.pitch_deg, pose.roll_deg)]
    [0.0, 0.0, 0.0]
    """
    _check_landmarks(landmarks_px, FACE_LANDMARKS)
    model = template if isinstance(template, PoseModel) else PoseModel.of(template)
    image = landmarks_px[list(STABLE_LANDMARKS), :2] * [1.0, -1.0]
    (ax, bx), (ay, by), (az, bz) = (model.solver @ (image - image.mean(axis=0))).tolist()
    # The nearest pair of orthonormal rows to the projection's rows a, b is G^(-1/2)·[a; b]
    # with G = [a; b][a; b]ᵀ (polar decomposition); for a 2×2 G it has a closed form.
    p, q, r = ax * ax + ay * ay + az * az, ax * bx + ay * by + az * bz, bx * bx + by * by + bz * bz
    s = math.sqrt(max(p * r - q * q, 0.0))
    if s <= 1e-12 * (p + r):
        raise InvalidInputError("landmarks", "the face landmarks are degenerate", "a face")
    t = math.sqrt(p + r + 2.0 * s)
    k11, k12, k22 = (r + s) / (s * t), -q / (s * t), (p + s) / (s * t)
    r0 = (k11 * ax + k12 * bx, k11 * ay + k12 * by, k11 * az + k12 * bz)
    r1 = (k12 * ax + k22 * bx, k12 * ay + k22 * by, k12 * az + k22 * bz)
    # where the template's +z (out of the face) points in the camera: the third column of R
    forward = (r0[2], r1[2], r0[0] * r1[1] - r0[1] * r1[0])
    yaw = math.degrees(math.atan2(forward[0], forward[2]))
    pitch = math.degrees(math.atan2(forward[1], math.hypot(forward[0], forward[2])))
    roll = math.degrees(math.atan2(r1[0], r0[0]))
    return HeadPose(yaw_deg=yaw, pitch_deg=pitch, roll_deg=roll)


def eye_aspect_ratio(landmarks_px: FloatArray) -> tuple[float, float]:
    """Eye aspect ratio (Soukupová & Čech 2016) of the patient's (right, left) eye.

    About 0.25-0.35 for an open eye, falling towards 0 as the lids close.

    Examples
    --------
    >>> pts = np.zeros((468, 2))
    >>> eye = [[0, 0], [3, -1], [7, -1], [10, 0], [7, 1], [3, 1]]
    >>> pts[[33, 160, 158, 133, 153, 144]] = eye
    >>> pts[[362, 385, 387, 263, 373, 380]] = np.add(eye, [20, 0])
    >>> eye_aspect_ratio(pts)
    (0.2, 0.2)
    """
    _check_landmarks(landmarks_px, FACE_LANDMARKS)
    result = []
    for eye in (RIGHT_EYE_EAR, LEFT_EYE_EAR):
        p1, p2, p3, p4, p5, p6 = landmarks_px[list(eye), :2].tolist()
        width = math.dist(p1, p4)
        if width == 0.0:
            raise InvalidInputError("landmarks", "eye corners coincide", "a visible eye")
        result.append((math.dist(p2, p6) + math.dist(p3, p5)) / (2.0 * width))
    return result[0], result[1]


@dataclass(frozen=True)
class IrisScale:
    """The photo's millimetre scale from the visible iris diameter.

    ``mm_per_px`` applies at the depth of the eyes; ``relative_uncertainty`` combines the spread
    of adult iris diameters (±0.5 mm of 11.7) with ±0.5 px of landmark error on each edge.
    """

    iris_diameter_px: float
    right_iris_px: float
    left_iris_px: float
    mm_per_px: float
    ipd_px: float
    ipd_mm: float
    ipd_plausible: bool
    relative_uncertainty: float


def iris_scale(
    landmarks_px: FloatArray,
    *,
    iris_diameter_mm: float = IRIS_DIAMETER_MM,
    ipd_range_mm: tuple[float, float] = IPD_ADULT_RANGE_MM,
) -> IrisScale:
    """Millimetres per pixel from the horizontal iris diameter, and the implied IPD.

    The horizontal diameter is used because the lids often cover the top and bottom of the iris.
    Both eyes are averaged. A face turned by yaw foreshortens the irises and the IPD alike, so
    the IPD check does not catch yaw; :func:`estimate_pose` does.

    Parameters
    ----------
    landmarks_px
        478×2 (or ×3) refined landmarks in pixels.
    iris_diameter_mm
        Assumed horizontal visible iris diameter (Rüfer 2005: 11.7 mm).
    ipd_range_mm
        Interpupillary distances accepted as adult (Dodgson 2004: 50-75 mm).

    Examples
    --------
    >>> pts = np.zeros((478, 2))
    >>> pts[468], pts[469], pts[471] = [100, 100], [106, 100], [94, 100]
    >>> pts[473], pts[474], pts[476] = [166, 100], [172, 100], [160, 100]
    >>> s = iris_scale(pts)
    >>> round(s.mm_per_px, 4), round(s.ipd_mm, 2), s.ipd_plausible
    (0.975, 64.35, True)
    """
    _check_landmarks(landmarks_px, REFINED_LANDMARKS)
    if not 5.0 <= iris_diameter_mm <= 20.0:
        raise InvalidInputError("iris_diameter_mm", f"{iris_diameter_mm}", "5 to 20 mm")
    pts = landmarks_px[:, :2]
    right = float(np.linalg.norm(pts[RIGHT_IRIS_EDGE_H[0]] - pts[RIGHT_IRIS_EDGE_H[1]]))
    left = float(np.linalg.norm(pts[LEFT_IRIS_EDGE_H[0]] - pts[LEFT_IRIS_EDGE_H[1]]))
    diameter = (right + left) / 2.0
    if diameter <= 0.0:
        raise InvalidInputError("landmarks", "iris has zero width", "visible irises")
    mm_per_px = iris_diameter_mm / diameter
    ipd_px = float(np.linalg.norm(pts[RIGHT_IRIS_CENTRE] - pts[LEFT_IRIS_CENTRE]))
    ipd_mm = ipd_px * mm_per_px
    low, high = ipd_range_mm
    # ±0.5 px on each of two edges per eye (√2·0.5 px a diameter), averaged over two eyes
    # (÷√2): 0.5 px on the mean diameter, added in quadrature to the population spread.
    pixel_error = 0.5 / diameter
    relative = math.hypot(IRIS_DIAMETER_SD_MM / iris_diameter_mm, pixel_error)
    return IrisScale(
        iris_diameter_px=diameter,
        right_iris_px=right,
        left_iris_px=left,
        mm_per_px=mm_per_px,
        ipd_px=ipd_px,
        ipd_mm=ipd_mm,
        ipd_plausible=low <= ipd_mm <= high,
        relative_uncertainty=relative,
    )


@dataclass(frozen=True)
class Similarity:
    """A 2-D similarity ``p' = scale · R(angle) · p + (tx, ty)`` and its fit residual (px)."""

    scale: float
    angle_deg: float
    tx: float
    ty: float
    rms_residual_px: float
    max_residual_px: float

    def matrix(self) -> FloatArray:
        """The 2×3 matrix ``[[a, -b, tx], [b, a, ty]]`` (OpenCV ``warpAffine`` layout)."""
        a = self.scale * math.cos(math.radians(self.angle_deg))
        b = self.scale * math.sin(math.radians(self.angle_deg))
        return np.array([[a, -b, self.tx], [b, a, self.ty]], dtype=np.float64)

    def apply(self, points: FloatArray) -> FloatArray:
        """Map N×2 points."""
        m = self.matrix()
        result: FloatArray = points[:, :2] @ m[:, :2].T + m[:, 2]
        return result


def fit_similarity(source: FloatArray, target: FloatArray) -> Similarity:
    """Least-squares similarity taking ``source`` points onto ``target`` (Umeyama 1991).

    Parameters
    ----------
    source, target
        N×2 matching points (N >= 2, not all coincident), pixels.

    Examples
    --------
    >>> src = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    >>> fit = fit_similarity(src, src * 2 + [5, 7])
    >>> round(fit.scale, 6), round(fit.angle_deg, 6), round(fit.tx, 6), round(fit.ty, 6)
    (2.0, 0.0, 5.0, 7.0)
    """
    if source.shape != target.shape or source.ndim != 2 or source.shape[1] < 2:
        raise InvalidInputError("points", f"shapes {source.shape} and {target.shape}", "equal N×2")
    if len(source) < 2:
        raise InvalidInputError("points", f"{len(source)} pairs", ">= 2 point pairs")
    src = source[:, :2]
    dst = target[:, :2]
    src_mean = src.mean(axis=0)
    dst_mean = dst.mean(axis=0)
    src_c = src - src_mean
    dst_c = dst - dst_mean
    variance = float((src_c**2).sum() / len(src))
    if variance == 0.0:
        raise InvalidInputError("points", "all source points coincide", "spread-out points")
    covariance = dst_c.T @ src_c / len(src)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:  # no reflections: faces are not mirrored
        sign[1, 1] = -1.0
    rotation = u @ sign @ vt
    scale = float(np.trace(np.diag(singular) @ sign) / variance)
    translation = dst_mean - scale * rotation @ src_mean
    mapped = scale * src @ rotation.T + translation
    residual = np.linalg.norm(mapped - dst, axis=1)
    return Similarity(
        scale=scale,
        angle_deg=math.degrees(math.atan2(rotation[1, 0], rotation[0, 0])),
        tx=float(translation[0]),
        ty=float(translation[1]),
        rms_residual_px=float(np.sqrt((residual**2).mean())),
        max_residual_px=float(residual.max()),
    )
