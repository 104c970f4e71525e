"""Skin metrics per face zone from an ordinary colour photo: redness, shine, texture and pores.

Methods (sources and limits in ``docs/photos.md``):

- **Brightness normalisation.** Linear-light RGB is scaled so that the median luminance of the
  face's skin is :data:`TARGET_SKIN_LUMINANCE`; this removes exposure differences between visits
  (not colour casts: that needs a colour card, whose presence is reported).
- **Redness.** Mean CIELAB a* (D65) of each zone's non-specular skin, and Δa* = zone − reference
  zone of the same face (Logger et al., Skin Res Technol 2020;26:804-812).
- **Shine.** Fraction of the zone's skin in specular highlights: pixels far brighter than the
  face's median skin (linear luminance >= :data:`SHINE_LUMINANCE_RATIO` × the median, or near
  clipping on a brightly exposed face) and less saturated than it
  (C* <= :data:`SHINE_CHROMA_RATIO` × the median chroma): brightness plus low saturation, as in
  highlight-removal work (Shen & Zheng, Appl Opt 2013;52(19):4483-4493).
- **Texture.** Standard deviation (L* units) of a difference-of-Gaussians band-pass of L* at pore
  scale; blur lowers it.
- **Pores.** Density (per cm²) of dark blobs whose diameter is 0.25-0.8 mm — 250 µm is the
  detection threshold of Flament et al., Clin Cosmet Investig Dermatol 2015;8:85-93 — found by a
  Laplacian-of-Gaussian with its scale set in millimetres through the iris scale. ``None`` when
  the photo's resolution cannot resolve 0.25 mm.

All metrics are absolute values (no percentiles).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any, TypedDict, Unpack

import cv2
import numpy as np
import numpy.typing as npt
from skimage.color import xyz2lab
from skimage.color.colorconv import xyz_from_rgb

from dosemap.domain.errors import InvalidInputError
from dosemap.imaging.landmarks import FaceLandmarks
from dosemap.imaging.quality import PhotoAnalysis
from dosemap.resources import template_mesh

FloatArray = npt.NDArray[np.float64]
Float32Array = npt.NDArray[np.float32]
UInt8Array = npt.NDArray[np.uint8]
BoolArray = npt.NDArray[np.bool_]

# Measurement regions. A zone in a photo is the convex hull of its landmarks, so it follows the
# face through pose and expression. Most are the landmarks whose template vertex lies in a box
# (x towards the patient's left, y up, mm); the forehead, where the template has few vertices, is
# listed: hairline row 67-297, the row above the brows 69-299 and the brows' upper edge 66-296.
# "right" is the PATIENT's right (the image's left in a frontal photo).
SKIN_REGIONS_MM: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "nose": ((-9.0, 9.0), (-8.0, 30.0)),
    "right_cheek": ((-58.0, -22.0), (-32.0, 14.0)),
    "left_cheek": ((22.0, 58.0), (-32.0, 14.0)),
    "chin": ((-18.0, 18.0), (-92.0, -60.0)),
}
FOREHEAD_LANDMARKS = (67, 109, 10, 338, 297, 69, 108, 151, 337, 299, 66, 107, 9, 336, 296)
SKIN_ZONES = ("forehead", "nose", "right_cheek", "left_cheek", "chin")
DEFAULT_REFERENCE_ZONE = "forehead"

TARGET_SKIN_LUMINANCE = 0.25  # linear Y of the median skin pixel after normalisation (L* ≈ 57)
SHINE_LUMINANCE_RATIO = 1.6  # a highlight is >= 1.6× the median skin's linear luminance ...
SHINE_CLIP_LUMINANCE = 0.85  # ... or, on a brightly exposed face, near the sensor's clip
SHINE_CHROMA_RATIO = 0.7  # ... and less saturated than the median skin
PORE_DIAMETER_MM = (0.25, 0.8)
PORE_MIN_CONTRAST = 0.03  # LoG response on L*/100: a blob about 6 L* darker than its ring
MIN_SIGMA_PX = 0.7  # below this a Gaussian is narrower than a pixel and the band-pass is noise
# Finer than this adds pixels, not pores: the smallest pore (0.25 mm, LoG sigma 0.088 mm) is
# still 1.1 px at 0.08 mm/px, above MIN_SIGMA_PX. Photos finer than this are downsampled.
ANALYSIS_MIN_MM_PER_PX = 0.08


@cache
def _template_xy() -> FloatArray:
    return template_mesh().vertices_mm[:, :2]


@cache
def region_landmarks(zone: str) -> tuple[int, ...]:
    """Landmark indices that outline a skin zone (see :data:`SKIN_ZONES`)."""
    if zone == "forehead":
        return FOREHEAD_LANDMARKS
    if zone not in SKIN_REGIONS_MM:
        raise InvalidInputError("zone", f"unknown {zone!r}", ", ".join(SKIN_ZONES))
    (x0, x1), (y0, y1) = SKIN_REGIONS_MM[zone]
    xy = _template_xy()
    inside = (xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)
    return tuple(int(i) for i in np.flatnonzero(inside))


def zone_polygon(zone: str, landmarks_xy: FloatArray) -> FloatArray:
    """The zone's outline in the photo: convex hull of its landmarks, K×2 pixels."""
    pts = landmarks_xy[list(region_landmarks(zone)), :2].astype(np.float32)
    hull = cv2.convexHull(pts)
    result: FloatArray = hull.reshape(-1, 2).astype(np.float64)
    return result


def zone_mask(zone: str, landmarks_xy: FloatArray, shape: tuple[int, int]) -> BoolArray:
    """Boolean mask (rows × columns) of a zone."""
    mask = np.zeros(shape, dtype=np.uint8)
    cv2.fillPoly(mask, [np.round(zone_polygon(zone, landmarks_xy)).astype(np.int32)], (255,))
    result: BoolArray = mask > 0
    return result


@dataclass(frozen=True)
class ZoneMetrics:
    """Absolute skin measurements of one zone."""

    zone: str
    area_mm2: float
    a_star: float | None  # None for a greyscale photo: no colour to measure
    delta_a_star: float | None
    shine_fraction: float
    texture: float
    pore_density_per_cm2: float | None


@dataclass(frozen=True)
class SkinReport:
    """Skin metrics of one photo."""

    zones: tuple[ZoneMetrics, ...]
    reference_zone: str
    brightness_gain: float
    mm_per_px: float
    texture_scale_mm: float
    pores_resolvable: bool
    colour_card_present: bool
    greyscale: bool

    def zone(self, name: str) -> ZoneMetrics:
        """The metrics of one zone by name."""
        for z in self.zones:
            if z.zone == name:
                return z
        raise InvalidInputError("zone", f"unknown {name!r}", ", ".join(z.zone for z in self.zones))

    def as_dict(self) -> dict[str, object]:
        """Flat plain values: ``<zone>.<metric>`` keys plus the photo-level fields."""
        row: dict[str, object] = {
            "reference_zone": self.reference_zone,
            "brightness_gain": round(self.brightness_gain, 4),
            "texture_scale_mm": round(self.texture_scale_mm, 3),
            "pores_resolvable": self.pores_resolvable,
            "colour_card_present": self.colour_card_present,
            "greyscale": self.greyscale,
        }
        for z in self.zones:
            for key, value in asdict(z).items():
                if key != "zone":
                    row[f"{z.zone}.{key}"] = value
        return row


def _srgb_to_linear(rgb: FloatArray) -> FloatArray:
    result: FloatArray = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return result


# Linear light of each 8-bit sRGB value: a lookup instead of a power per pixel and channel.
# float32 halves the memory traffic of the largest arrays (two processes share the bandwidth);
# the metrics, rounded as stored, come out the same as in float64.
_LINEAR_OF_SRGB8 = _srgb_to_linear(np.arange(256, dtype=np.float64) / 255.0).astype(np.float32)


def normalised_lab(rgb: UInt8Array, skin: BoolArray) -> tuple[Float32Array, Float32Array, float]:
    """CIELAB (D65) of the image after scaling linear light so median skin Y is the target.

    Returns the H×W×3 Lab image, the H×W linear luminance BEFORE scaling (both float32), and
    the gain. The scaled linear light goes straight to XYZ (the sRGB matrix, as
    ``skimage.color.rgb2lab`` uses after undoing the sRGB curve), without a round trip
    through sRGB values.
    """
    linear = _LINEAR_OF_SRGB8[rgb]
    luminance = linear @ np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
    median = float(np.median(luminance[skin])) if skin.any() else 0.0
    if median <= 1e-4:
        raise InvalidInputError("photo", "face is black (no light on the skin)", "an exposed face")
    gain = TARGET_SKIN_LUMINANCE / median
    np.multiply(linear, gain, out=linear)
    np.clip(linear, 0.0, 1.0, out=linear)  # what the round trip through 8-bit-range sRGB did
    lab: Float32Array = xyz2lab(linear @ xyz_from_rgb.T.astype(np.float32))
    return lab, luminance, gain


def colour_card_present(rgb: UInt8Array) -> bool:
    """Whether a 24-patch colour checker (ColorChecker Classic layout) is in the picture.

    Uses OpenCV's ``mcc`` module (opencv-contrib).
    """
    factor = 1000 / max(rgb.shape[:2])
    if factor < 1.0:  # a card fills a good part of the frame: no need for 48 MP to find it
        rgb = np.asarray(
            cv2.resize(rgb, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA), np.uint8
        )
    mcc: Any = cv2.mcc  # opencv-contrib: untyped
    detector = mcc.CCheckerDetector_create()
    params = mcc.DetectorParameters_create()
    # mcc enlarges anything smaller than minImageSize (default 1000 px) before searching,
    # which made it ~10× slower on small photos without finding more cards.
    params.minImageSize = 400
    bgr = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR)
    return bool(detector.process(bgr, mcc.MCC24, 1, False, params))


def _analysis_image(
    rgb: UInt8Array, landmarks_xy: FloatArray, mm_per_px: float
) -> tuple[UInt8Array, FloatArray, float]:
    """Crop to the face and, for very fine photos, downsample to ANALYSIS_MIN_MM_PER_PX."""
    pts = landmarks_xy[:, :2]
    height, width = rgb.shape[:2]
    margin = 4
    x0 = max(int(np.floor(pts[:, 0].min())) - margin, 0)
    y0 = max(int(np.floor(pts[:, 1].min())) - margin, 0)
    x1 = min(int(np.ceil(pts[:, 0].max())) + margin, width)
    y1 = min(int(np.ceil(pts[:, 1].max())) + margin, height)
    crop = rgb[y0:y1, x0:x1]
    local = pts - [x0, y0]
    factor = mm_per_px / ANALYSIS_MIN_MM_PER_PX
    if factor < 1.0:
        size = (max(1, round(crop.shape[1] * factor)), max(1, round(crop.shape[0] * factor)))
        crop = np.asarray(cv2.resize(crop, size, interpolation=cv2.INTER_AREA), np.uint8)
        local = local * factor
        mm_per_px = ANALYSIS_MIN_MM_PER_PX
    return np.ascontiguousarray(crop), local, mm_per_px


def _band_pass(lightness: Float32Array, sigma_px: float) -> Float32Array:
    fine = cv2.GaussianBlur(lightness, (0, 0), sigma_px)
    coarse = cv2.GaussianBlur(lightness, (0, 0), sigma_px * 1.6)
    result: Float32Array = fine - coarse
    return result


def _pore_count(lightness: Float32Array, mask: BoolArray, sigmas_px: tuple[float, float]) -> int:
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return 0
    pad = math.ceil(3 * sigmas_px[1])
    r0, r1 = max(rows.min() - pad, 0), min(rows.max() + pad + 1, mask.shape[0])
    c0, c1 = max(cols.min() - pad, 0), min(cols.max() + pad + 1, mask.shape[1])
    darkness = (100.0 - lightness[r0:r1, c0:c1]) / 100.0  # pores are dark: make them bright
    # Imported only when pores are resolvable: skimage.feature brings SciPy (~0.25 s a start).
    from skimage.feature import blob_log

    blobs = blob_log(  # type: ignore[no-untyped-call]
        darkness,
        min_sigma=sigmas_px[0],
        max_sigma=sigmas_px[1],
        num_sigma=4,
        threshold=PORE_MIN_CONTRAST,
        exclude_border=False,
    )
    if len(blobs) == 0:
        return 0
    r = blobs[:, 0].astype(int) + r0
    c = blobs[:, 1].astype(int) + c0
    return int(mask[r, c].sum())


def skin_metrics(
    rgb: UInt8Array,
    landmarks: FaceLandmarks,
    mm_per_px: float,
    *,
    reference_zone: str = DEFAULT_REFERENCE_ZONE,
    zones: tuple[str, ...] = SKIN_ZONES,
    detect_colour_card: bool = True,
) -> SkinReport:
    """Measure redness, shine, texture and pores in each zone.

    Parameters
    ----------
    rgb
        H×W×3 uint8 photo, ideally full resolution.
    landmarks
        The face's landmarks in pixels of ``rgb``.
    mm_per_px
        The photo's scale (:func:`dosemap.domain.photo_geometry.iris_scale`).
    reference_zone
        The zone Δa* is measured against (choose unaffected skin of the same face).
    """
    if landmarks.image_size != (rgb.shape[1], rgb.shape[0]):
        landmarks = landmarks.scaled_to((rgb.shape[1], rgb.shape[0]))
    if reference_zone not in zones:
        raise InvalidInputError("reference_zone", f"unknown {reference_zone!r}", ", ".join(zones))
    if not 0.001 <= mm_per_px <= 10.0:
        raise InvalidInputError("mm_per_px", f"{mm_per_px}", "0.001 to 10 mm per pixel")
    crop, local, mm_px = _analysis_image(rgb, landmarks.xy, mm_per_px)
    shape = (crop.shape[0], crop.shape[1])
    masks = {z: zone_mask(z, local, shape) for z in zones}
    skin = np.logical_or.reduce(list(masks.values()))
    lab, luminance, gain = normalised_lab(crop, skin)
    lightness, chroma = lab[..., 0], np.hypot(lab[..., 1], lab[..., 2])
    bright = min(SHINE_LUMINANCE_RATIO * float(np.median(luminance[skin])), SHINE_CLIP_LUMINANCE)
    specular = (luminance >= bright) & (chroma <= SHINE_CHROMA_RATIO * np.median(chroma[skin]))
    pore_sigmas = tuple(d / (2 * math.sqrt(2)) / mm_px for d in PORE_DIAMETER_MM)
    resolvable = pore_sigmas[0] >= MIN_SIGMA_PX
    texture_sigma = max(MIN_SIGMA_PX, pore_sigmas[0])
    detail = _band_pass(lightness, texture_sigma)
    erode = np.ones((3, 3), np.uint8)

    a_star: dict[str, float] = {}
    partial: dict[str, tuple[float, float, float, float | None]] = {}
    for zone, mask in masks.items():
        diffuse = mask & ~specular
        a_star[zone] = float(lab[..., 1][diffuse].mean()) if diffuse.any() else float("nan")
        area_mm2 = float(mask.sum()) * mm_px**2
        shine = float(specular[mask].mean()) if mask.any() else 0.0
        inner = cv2.erode(mask.astype(np.uint8), erode).astype(bool)  # no zone-edge contrast
        texture = float(detail[inner].std()) if inner.any() else 0.0
        density = None
        if resolvable and area_mm2 > 0:
            count = _pore_count(lightness, mask, (pore_sigmas[0], pore_sigmas[1]))
            density = count / (area_mm2 / 100.0)
        partial[zone] = (area_mm2, shine, texture, density)
    # A greyscale photo (equal channels) has a* = 0 everywhere: report "not measured", not 0.
    channels = crop[skin].astype(np.int16)
    greyscale = bool(np.abs(channels - channels.mean(axis=1, keepdims=True)).max() <= 2)
    reference = a_star[reference_zone]
    results = tuple(
        ZoneMetrics(
            zone=zone,
            area_mm2=round(area, 1),
            a_star=None if greyscale else round(a_star[zone], 3),
            delta_a_star=None if greyscale else round(a_star[zone] - reference, 3),
            shine_fraction=round(shine, 5),
            texture=round(texture, 4),
            pore_density_per_cm2=None if density is None else round(density, 2),
        )
        for zone, (area, shine, texture, density) in partial.items()
    )
    return SkinReport(
        zones=results,
        reference_zone=reference_zone,
        brightness_gain=gain,
        mm_per_px=mm_px,
        texture_scale_mm=texture_sigma * mm_px,
        pores_resolvable=resolvable,
        # A card in a greyscale photo cannot correct colour; skip the search (~10 ms).
        colour_card_present=(
            colour_card_present(rgb) if detect_colour_card and not greyscale else False
        ),
        greyscale=greyscale,
    )


class SkinOptions(TypedDict, total=False):
    """The keyword options of :func:`skin_metrics`, passed on by :func:`measure_skin`."""

    reference_zone: str
    zones: tuple[str, ...]
    detect_colour_card: bool


def measure_skin(analysis: PhotoAnalysis, **options: Unpack[SkinOptions]) -> SkinReport:
    """:func:`skin_metrics` of an inspected photo, decoded at the resolution it needs.

    A photo finer than :data:`ANALYSIS_MIN_MM_PER_PX` is decoded reduced (JPEG: by libjpeg,
    1/2 to 1/8) instead of decoded in full and then downsampled.
    """
    factor = 1.0
    while factor < 8 and analysis.scale.mm_per_px * factor * 2 <= ANALYSIS_MIN_MM_PER_PX:
        factor *= 2
    rgb = analysis.photo.rgb_reduced_by(factor)
    landmarks = analysis.landmarks.scaled_to((rgb.shape[1], rgb.shape[0]))
    mm_per_px = analysis.scale.mm_per_px * analysis.photo.size[0] / rgb.shape[1]
    return skin_metrics(rgb, landmarks, mm_per_px, **options)
