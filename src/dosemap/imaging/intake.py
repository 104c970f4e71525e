"""Photo intake: JPEG, PNG and HEIC/HEIF from phones, EXIF orientation applied, metadata dropped.

A :class:`Photo` holds the file's bytes and a reduced RGB copy for landmark detection (for JPEG,
decoded reduced with Pillow's ``draft`` mode, which asks libjpeg for a 1/2, 1/4 or 1/8 scale
DCT decode and so skips most of the work). The full-resolution pixels are decoded only when a
picture is drawn (:meth:`Photo.full_rgb`).

Nothing written by :func:`save_rgb` carries EXIF, GPS, XMP or ICC metadata: images are rebuilt
from bare pixel arrays before encoding.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pillow_heif
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from dosemap.imaging.errors import PhotoError

pillow_heif.register_heif_opener()

UInt8Array = npt.NDArray[np.uint8]

MAX_PIXELS = 50_000_000  # 48 MP phone sensors plus a margin; anything larger is refused
DETECT_MAX_SIDE = 1280  # MediaPipe works on 128-192 px crops; 1280 px keeps small faces usable
DRAFT_ALLOWANCE = 0.6  # a reduced JPEG decode may be this much smaller than DETECT_MAX_SIDE
SUPPORTED_FORMATS = ("JPEG", "PNG", "HEIF")
_SWAPS_AXES = {5, 6, 7, 8}  # EXIF orientations that turn the picture by 90° or 270°


@dataclass(frozen=True, eq=False)
class Photo:
    """A decoded photo.

    Attributes
    ----------
    source
        The file name (no directories), for messages.
    format
        ``"JPEG"``, ``"PNG"`` or ``"HEIF"``.
    size
        Full-resolution ``(width, height)`` in pixels, EXIF orientation applied.
    detect_rgb
        H×W×3 uint8 reduced copy, orientation applied: longest side at most the requested
        maximum, and for JPEG at least 0.6 of it (libjpeg's 1/2, 1/4, 1/8 decode scales).
    notes
        What a person should know about the file but that does not stop its use, one line each
        (e.g. unreadable EXIF metadata, so the photo was taken as upright).
    """

    source: str
    format: str
    size: tuple[int, int]
    detect_rgb: UInt8Array
    data: bytes = field(repr=False)
    notes: tuple[str, ...] = ()

    @property
    def detect_scale(self) -> float:
        """Full-resolution pixels per pixel of :attr:`detect_rgb` (>= 1)."""
        return self.size[0] / self.detect_rgb.shape[1]

    @property
    def megapixels(self) -> float:
        """Full-resolution size in megapixels."""
        return self.size[0] * self.size[1] / 1e6

    @cached_property
    def _full(self) -> UInt8Array:
        if self.detect_rgb.shape[1::-1] == self.size:  # nothing was reduced: no second decode
            return self.detect_rgb
        return _decode(self.data, self.source, max_side=None)[1]

    def full_rgb(self) -> UInt8Array:
        """The full-resolution H×W×3 uint8 pixels (decoded on first use, then kept)."""
        return self._full

    def rgb_reduced_by(self, factor: float) -> UInt8Array:
        """Pixels at about 1/``factor`` of full resolution, decoding no more than needed.

        For JPEG, libjpeg decodes at 1/2, 1/4 or 1/8 directly (the largest of these not
        below 1/``factor``), so analysing a 48 MP photo at its useful resolution never
        decodes all 48 MP. Other formats are decoded in full and resized.
        """
        if factor < 2.0:
            return self.full_rgb()
        side = math.ceil(max(self.size) / factor)
        return _decode(self.data, self.source, max_side=side, draft_allowance=1.0)[1]


def read_photo(path: Path, *, detect_max_side: int = DETECT_MAX_SIDE) -> Photo:
    """Read and decode a photo file.

    Raises
    ------
    PhotoError
        ``not_an_image``, ``unsupported_format``, ``truncated`` or ``too_many_pixels``.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:  # the path as given, so a person can see which one is wrong
        reason = "a folder, not a file" if path.is_dir() else exc.strerror or type(exc).__name__
        raise PhotoError(
            "not_an_image", f"cannot read {path} ({reason})", "a JPEG, PNG or HEIC/HEIF file"
        ) from exc
    return photo_from_bytes(data, path.name, detect_max_side=detect_max_side)


def photo_from_bytes(data: bytes, source: str, *, detect_max_side: int = DETECT_MAX_SIDE) -> Photo:
    """Decode a photo held in memory (see :func:`read_photo`)."""
    if detect_max_side < 64:
        raise PhotoError("not_an_image", f"detect_max_side {detect_max_side}", ">= 64 px")
    notes: list[str] = []
    fmt, reduced, size = _decode(data, source, max_side=detect_max_side, notes=notes)
    return Photo(
        source=source, format=fmt, size=size, detect_rgb=reduced, data=data, notes=tuple(notes)
    )


def _open(data: bytes, source: str) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PhotoError(
            "too_many_pixels", "decompression bomb: the header claims too many pixels",
            f"<= {MAX_PIXELS // 1_000_000} MP", source=source,
        ) from exc  # fmt: skip
    except UnidentifiedImageError as exc:
        raise PhotoError(
            "not_an_image", "not an image file", "JPEG, PNG or HEIC/HEIF", source=source
        ) from exc
    except OSError as exc:  # the file ends inside its header
        raise PhotoError(
            "truncated", f"truncated image header ({exc})", "a complete file", source=source
        ) from exc
    if image.format not in SUPPORTED_FORMATS:
        raise PhotoError(
            "unsupported_format", f"{image.format} image", "JPEG, PNG or HEIC/HEIF", source=source
        )
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise PhotoError(
            "too_many_pixels",
            f"{width}×{height} = {width * height / 1e6:.0f} MP (decompression-bomb guard)",
            f"<= {MAX_PIXELS // 1_000_000} MP",
            source=source,
        )
    return image


def exif_orientation(image: Image.Image) -> int:
    """The EXIF orientation tag (1 = upright, 1-8), 1 when there is none or it is unreadable."""
    try:
        value = image.getexif().get(ExifTags.Base.Orientation, 1)
    except (SyntaxError, ValueError, TypeError, OSError):  # EXIF too broken to parse at all
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


@contextmanager
def _metadata_warnings(notes: list[str]) -> Iterator[None]:
    """Pillow's warnings about broken metadata, turned into one line in ``notes``.

    Pillow warns (``UserWarning: Corrupt EXIF data …``, with its own file path) and goes on
    with what it could read; a person needs to know that the photo's orientation may be lost,
    not where Pillow keeps its source.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # Pillow only warns between 89 and 179 MP; a clinic server should refuse, not warn.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        yield
    problems = list(dict.fromkeys(" ".join(str(w.message).split()) for w in caught))
    if problems:
        notes.append(f"EXIF metadata partly unreadable ({'; '.join(problems)})")


def _decode(
    data: bytes,
    source: str,
    *,
    max_side: int | None,
    draft_allowance: float = DRAFT_ALLOWANCE,
    notes: list[str] | None = None,
) -> tuple[str, UInt8Array, tuple[int, int]]:
    """Decode to RGB, orientation applied; reduced to ``max_side`` when given."""
    found: list[str] = []
    with _metadata_warnings(found):
        image = _open(data, source)
        orientation = exif_orientation(image)
        fmt = str(image.format)
        width, height = image.size
        full_size = (height, width) if orientation in _SWAPS_AXES else (width, height)
        scale = max(width, height) / max_side if max_side else 1.0
        if fmt == "JPEG" and scale > 1.0:
            # libjpeg scales by 1/2, 1/4 or 1/8 while decoding, never below the size asked
            # for. Asking for 0.6 of the target lets a 4000 px photo decode at 1/4 (1000 px)
            # instead of 1/2: landmarks need the face at ~200 px, which 1000 px leaves with a
            # wide margin.
            draft_scale = scale / draft_allowance
            image.draft("RGB", (math.ceil(width / draft_scale), math.ceil(height / draft_scale)))
        try:
            image.load()
        except OSError as exc:
            raise PhotoError(
                "truncated",
                f"truncated or corrupt image data ({exc})",
                "a complete file",
                source=source,
            ) from exc
        if orientation != 1:  # exif_transpose copies the image even when there is nothing to do
            image = ImageOps.exif_transpose(image)
    if found and notes is not None:
        how = "orientation taken as upright" if orientation == 1 else "orientation tag applied"
        notes.extend(f"{note}; {how}" for note in found)
    image = _to_rgb(image)
    if max_side and max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.BILINEAR, reducing_gap=2.0)
    pixels = np.asarray(image, dtype=np.uint8)
    return fmt, pixels, full_size


def _to_rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB. A 16-bit greyscale PNG is scaled to 8 bits: ``convert`` would clip every
    value above 255, turning a normal photo all white."""
    if image.mode in {"I;16", "I;16B", "I;16L", "I"}:
        sixteen = np.asarray(image).astype(np.float32)
        image = Image.fromarray(np.rint(sixteen / 257.0).clip(0, 255).astype(np.uint8))
    return image if image.mode == "RGB" else image.convert("RGB")


def save_rgb(rgb: UInt8Array, path: Path, *, jpeg_quality: int = 92) -> None:
    """Write H×W×3 uint8 pixels as PNG or JPEG (by suffix) with no metadata at all."""
    suffix = path.suffix.lower()
    image = Image.fromarray(np.ascontiguousarray(rgb))
    if suffix == ".png":
        image.save(path, format="PNG", optimize=False)
    elif suffix in {".jpg", ".jpeg"}:
        image.save(path, format="JPEG", quality=jpeg_quality, subsampling=0)
    else:
        raise PhotoError("unsupported_format", f"output suffix {suffix!r}", ".png, .jpg or .jpeg")


def export_stripped(photo: Photo, path: Path) -> None:
    """Store a photo at full resolution, orientation applied, without EXIF/GPS metadata."""
    save_rgb(photo.full_rgb(), path)
