"""Before/after: align photo B onto photo A and draw the pair, a ghost overlay and a difference.

The similarity transform (scale, rotation, shift) is fitted on
:data:`~dosemap.domain.photo_geometry.STABLE_LANDMARKS` only — eye corners, nose, forehead and
zygoma — because the lips, jaw and brows move with expression and with the treatment itself.
The residual of that fit, in millimetres through A's iris scale, says how well the two photos
can be compared: a large residual means a different pose or expression, not a result.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from dosemap.domain.photo_geometry import STABLE_LANDMARKS, Similarity, fit_similarity
from dosemap.imaging.quality import PhotoAnalysis

UInt8Array = npt.NDArray[np.uint8]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Alignment:
    """Photo B resampled into photo A's frame, and how well they matched.

    Attributes
    ----------
    transform
        Maps B's pixels onto A's (full resolution).
    rms_residual_mm, max_residual_mm
        Residual of the fit over the stable landmarks, in mm at A's scale.
    before, after_aligned
        A's pixels and B's pixels warped into A's frame (same shape).
    """

    transform: Similarity
    rms_residual_mm: float
    max_residual_mm: float
    before: UInt8Array
    after_aligned: UInt8Array
    covered: npt.NDArray[np.bool_]  # where B's warped pixels exist (outside: no data)

    def side_by_side(self, *, gap_px: int = 8) -> UInt8Array:
        """A | B, same scale, with a white gap."""
        height = self.before.shape[0]
        gap = np.full((height, gap_px, 3), 255, dtype=np.uint8)
        return np.hstack([self.before, gap, self.after_aligned])

    def ghost(self, *, opacity: float = 0.5) -> UInt8Array:
        """B laid over A at ``opacity``."""
        blend = cv2.addWeighted(self.before, 1.0 - opacity, self.after_aligned, opacity, 0.0)
        return np.asarray(blend, dtype=np.uint8)

    def difference(self) -> UInt8Array:
        """Per-pixel colour difference |B − A| as a heat map (black: same; bright: changed).

        The scale runs to the 99.5th percentile of the covered area so a few bright pixels do
        not flatten it; where B has no pixels (outside its frame) the view is mid-grey.
        """
        # Smoothing both by ~1.5 px (more on big pictures) hides resampling and sub-pixel
        # misregistration at edges, which would otherwise outshine real changes in tone.
        sigma = max(1.5, self.before.shape[1] / 700)
        before = cv2.GaussianBlur(self.before, (0, 0), sigma).astype(np.int16)
        after = cv2.GaussianBlur(self.after_aligned, (0, 0), sigma).astype(np.int16)
        delta = np.abs(before - after)
        magnitude = delta.max(axis=2).astype(np.float64)
        inside = magnitude[self.covered]
        top = max(float(np.percentile(inside, 99.5)), 1.0) if inside.size else 1.0
        scaled = np.clip(magnitude / top * 255.0, 0, 255).astype(np.uint8)
        heat = cv2.cvtColor(cv2.applyColorMap(scaled, cv2.COLORMAP_INFERNO), cv2.COLOR_BGR2RGB)
        heat[~self.covered] = 128
        return np.asarray(heat, dtype=np.uint8)


def fit_alignment(a: PhotoAnalysis, b: PhotoAnalysis) -> tuple[Similarity, float, float]:
    """The similarity taking B's stable landmarks onto A's, and its RMS/max residual in mm."""
    index = list(STABLE_LANDMARKS)
    fit = fit_similarity(b.landmarks.xy[index], a.landmarks.xy[index])
    mm = a.scale.mm_per_px
    return fit, fit.rms_residual_px * mm, fit.max_residual_px * mm


def align_pair(a: PhotoAnalysis, b: PhotoAnalysis, *, max_side: int | None = 2048) -> Alignment:
    """Warp B into A's frame.

    Parameters
    ----------
    a, b
        The before and after photos, inspected (:func:`~dosemap.imaging.quality.inspect_photo`).
    max_side
        Longest side of the output pictures; ``None`` keeps A's full resolution.
    """
    fit, rms_mm, max_mm = fit_alignment(a, b)
    before = a.photo.full_rgb()
    after = b.photo.full_rgb()
    matrix = fit.matrix()
    factor = 1.0
    if max_side is not None and max(before.shape[:2]) > max_side:
        factor = max_side / max(before.shape[:2])
        size = (round(before.shape[1] * factor), round(before.shape[0] * factor))
        before = np.asarray(cv2.resize(before, size, interpolation=cv2.INTER_AREA), np.uint8)
        matrix = matrix * factor  # scale the output frame too
    height, width = before.shape[:2]
    warped = cv2.warpAffine(
        after, matrix, (width, height), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0)
    )
    ones = np.ones(after.shape[:2], dtype=np.uint8)
    covered = cv2.warpAffine(ones, matrix, (width, height), flags=cv2.INTER_NEAREST) > 0
    return Alignment(
        transform=fit,
        rms_residual_mm=rms_mm,
        max_residual_mm=max_mm,
        before=np.ascontiguousarray(before),
        after_aligned=np.asarray(warped, dtype=np.uint8),
        covered=np.asarray(covered, dtype=np.bool_),
    )
