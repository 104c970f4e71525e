"""Is a planned point on visible skin, or under hair (a fringe, a strand)?

The face mesh runs under a fringe as if it were not there, so forehead points can land on hair.
Colour alone does not tell (blond hair on fair skin; the test portraits are greyscale), so each
point's patch is compared with the same face's cheek skin on brightness **and texture**:

- **texture**: the mean gradient magnitude (Sobel, after a light blur against sensor noise) in
  a patch of ``patch_mm`` radius, over the cheeks' median. Hair is strands: edges everywhere.
  Skin is smooth at this scale, wrinkles included (they are few and far between).
- **brightness**: the patch's median luminance against the cheeks' (dark hair on light skin
  or the reverse).
- **colour**, in colour photos: the distance in CIELAB a*/b* from the cheeks' median.

A point is *not on visible skin* when any of them is beyond its limit. The limits are cited
figures of ``data/photo_checks.toml`` (measured on the test faces with and without fringes drawn
over them); the reference skin is the skin metrics' cheek zones, where hair seldom is.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
UInt8Array = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class SkinLimits:
    """When a patch stops looking like the cheeks' skin (see the module docstring)."""

    patch_mm: float  # radius of the patch under a point
    max_texture_ratio: float  # patch texture over the cheeks' median texture
    max_luminance_difference: float  # |patch - cheeks| median luminance, 0-255
    max_colour_difference: float  # CIELAB a*b* distance, colour photos only


@dataclass(frozen=True)
class PointSkin:
    """What the patch under one point looks like, against the cheeks."""

    texture_ratio: float
    luminance_difference: float
    colour_difference: float | None  # None in a greyscale photo
    on_skin: bool
    reason: str  # "" when on skin; else what gave it away


@dataclass(frozen=True)
class SkinVisibility:
    """Each point's patch, in the order the points were given."""

    points: tuple[PointSkin, ...]
    cheek_texture: float
    cheek_luminance: float

    @property
    def hidden(self) -> tuple[int, ...]:
        """Indices of the points not on visible skin."""
        return tuple(k for k, p in enumerate(self.points) if not p.on_skin)


def _texture_map(grey: FloatArray) -> FloatArray:
    """Fine detail: |luminance - its blur at 1 px|. The face's shading (a smooth gradient over
    millimetres) cancels; strands of hair, one or two pixels wide, do not."""
    result: FloatArray = np.abs(grey - cv2.GaussianBlur(grey, (0, 0), 1.0))
    return result


def cheek_mask(landmarks_xy: FloatArray, shape: tuple[int, int]) -> npt.NDArray[np.bool_]:
    """Both cheeks' skin (the skin metrics' cheek zones), eroded off their edges."""
    from dosemap.imaging.skin import zone_mask

    both = zone_mask("right_cheek", landmarks_xy, shape) | zone_mask(
        "left_cheek", landmarks_xy, shape
    )
    eroded = cv2.erode(both.astype(np.uint8), np.ones((3, 3), np.uint8))
    result: npt.NDArray[np.bool_] = eroded > 0
    return result


def _disc(radius: int) -> npt.NDArray[np.bool_]:
    r = np.arange(-radius, radius + 1)
    result: npt.NDArray[np.bool_] = r[:, None] ** 2 + r[None, :] ** 2 <= radius**2
    return result


def _patches(image: FloatArray, centres: FloatArray, radius: int) -> list[FloatArray]:
    """The pixels of ``image`` (H×W or H×W×C) in a disc around each centre (x, y)."""
    height, width = image.shape[:2]
    disc = _disc(radius)
    out: list[FloatArray] = []
    for x, y in np.round(centres).astype(int):
        rows = slice(y - radius, y + radius + 1)
        cols = slice(x - radius, x + radius + 1)
        if y - radius < 0 or x - radius < 0 or y + radius >= height or x + radius >= width:
            out.append(np.zeros((0, *image.shape[2:])))  # off the picture: no skin to see
            continue
        out.append(image[rows, cols][disc])
    return out


def point_visibility(
    rgb: UInt8Array,
    landmarks_xy: FloatArray,
    points_xy: FloatArray,
    mm_per_px: float,
    limits: SkinLimits,
) -> SkinVisibility:
    """Judge the patch under each point (K×2 pixels of ``rgb``) against the cheeks' skin."""
    radius = max(2, round(limits.patch_mm / mm_per_px))
    rgb = np.ascontiguousarray(rgb)
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float64)
    texture = _texture_map(grey)
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float64)
    chroma = lab[..., 1:] - 128.0
    greyscale = bool(np.abs(chroma).max() <= 2.0)
    cheeks = cheek_mask(landmarks_xy, (grey.shape[0], grey.shape[1]))
    cheek_texture = float(np.median(texture[cheeks]))
    cheek_luminance = float(np.median(grey[cheeks]))
    cheek_colour = np.median(chroma[cheeks], axis=0)
    floor = max(cheek_texture, 1.0)  # a flat, noiseless cheek must not make every patch "hair"
    found: list[PointSkin] = []
    patches = zip(
        _patches(texture, points_xy, radius),
        _patches(grey, points_xy, radius),
        _patches(chroma, points_xy, radius),
        strict=True,
    )
    for tex, lum, col in patches:
        if tex.size == 0:
            found.append(PointSkin(0.0, 0.0, None, False, "outside the photo"))
            continue
        ratio = float(np.mean(tex)) / floor
        luminance = float(np.median(lum)) - cheek_luminance  # < 0: darker than the cheeks
        colour = None if greyscale else float(np.linalg.norm(np.median(col, axis=0) - cheek_colour))
        reasons = []
        if ratio > limits.max_texture_ratio:
            reasons.append(f"texture {ratio:.1f}× the cheeks'")
        if abs(luminance) > limits.max_luminance_difference:
            word = "darker" if luminance < 0 else "lighter"
            reasons.append(f"{abs(luminance):.0f}/255 {word} than the cheeks")
        if colour is not None and colour > limits.max_colour_difference:
            reasons.append(f"colour {colour:.0f} ΔE(a*b*) off the cheeks'")
        found.append(PointSkin(ratio, luminance, colour, not reasons, "; ".join(reasons)))
    return SkinVisibility(tuple(found), cheek_texture, cheek_luminance)
