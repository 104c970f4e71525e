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
import struct
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError

from dosemap.imaging.errors import PhotoError

pillow_heif.register_heif_opener()

UInt8Array = npt.NDArray[np.uint8]

MAX_PIXELS = 50_000_000  # 48 MP phone sensors plus a margin; anything larger is refused
DETECT_MAX_SIDE = 1280  # MediaPipe works on 128-192 px crops; 1280 px keeps small faces usable
DRAFT_ALLOWANCE = 0.6  # a reduced JPEG decode may be this much smaller than DETECT_MAX_SIDE
SUPPORTED_FORMATS = ("JPEG", "PNG", "HEIF")
_EXIF_ORIENTATION = 0x0112
_SWAPS_AXES = {5, 6, 7, 8}


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
    """

    source: str
    format: str
    size: tuple[int, int]
    detect_rgb: UInt8Array
    data: bytes = field(repr=False)

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
    except OSError as exc:
        raise PhotoError("not_an_image", f"cannot read the file ({exc.strerror})") from exc
    return photo_from_bytes(data, path.name, detect_max_side=detect_max_side)


def photo_from_bytes(data: bytes, source: str, *, detect_max_side: int = DETECT_MAX_SIDE) -> Photo:
    """Decode a photo held in memory (see :func:`read_photo`)."""
    if detect_max_side < 64:
        raise PhotoError("not_an_image", f"detect_max_side {detect_max_side}", ">= 64 px")
    fmt, reduced, size = _decode(data, source, max_side=detect_max_side)
    return Photo(source=source, format=fmt, size=size, detect_rgb=reduced, data=data)


def _open(data: bytes, source: str) -> Image.Image:
    try:
        with warnings.catch_warnings():
            # Pillow only warns between 89 and 179 MP; a clinic server should refuse, not warn.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
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
    """The EXIF orientation tag (1 = upright, 1-8), 1 when there is none or it is unreadable.

    Read straight from the first IFD of the raw EXIF when it is there: Pillow's full EXIF parse
    costs ~0.3 ms a photo in a running pipeline (as much as decoding a small JPEG). Anything
    unusual goes to Pillow's parser.
    """
    raw = image.info.get("exif")
    if isinstance(raw, bytes):
        quick = _ifd0_orientation(raw)
        if quick is not None:
            return quick
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # Pillow warns of corrupt EXIF, then goes on
        try:
            return int(image.getexif().get(_EXIF_ORIENTATION, 1))
        except (SyntaxError, ValueError, TypeError, struct.error, OSError, UserWarning):
            return 1  # EXIF too broken to read: the pixels as stored are all there is to go on


def _ifd0_orientation(raw: bytes) -> int | None:
    """Orientation (1-8; 1 if absent) from TIFF-in-EXIF bytes, or None if they look unusual."""
    tiff = raw[6:] if raw.startswith(b"Exif\x00\x00") else raw
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None or len(tiff) < 8:
        return None
    magic, ifd = struct.unpack_from(order + "HI", tiff, 2)
    if magic != 42 or ifd + 2 > len(tiff):
        return None
    (count,) = struct.unpack_from(order + "H", tiff, ifd)
    if ifd + 2 + 12 * count > len(tiff):
        return None
    for entry in range(ifd + 2, ifd + 2 + 12 * count, 12):
        tag, kind, number, value = struct.unpack_from(order + "HHIH", tiff, entry)
        if tag == _EXIF_ORIENTATION:  # a SHORT, left-justified in the entry's value field
            return value if kind == 3 and number == 1 and 1 <= value <= 8 else None
    return 1


def _decode(
    data: bytes, source: str, *, max_side: int | None, draft_allowance: float = DRAFT_ALLOWANCE
) -> tuple[str, UInt8Array, tuple[int, int]]:
    """Decode to RGB, orientation applied; reduced to ``max_side`` when given."""
    image = _open(data, source)
    fmt = str(image.format)
    orientation = exif_orientation(image)
    width, height = image.size
    full_size = (height, width) if orientation in _SWAPS_AXES else (width, height)
    scale = max(width, height) / max_side if max_side else 1.0
    if fmt == "JPEG" and scale > 1.0:
        # libjpeg scales by 1/2, 1/4 or 1/8 while decoding, never below the size asked for.
        # Asking for 0.6 of the target lets a 4000 px photo decode at 1/4 (1000 px) instead
        # of 1/2: landmarks need the face at ~200 px, which 1000 px leaves with a wide margin.
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
    if image.mode != "RGB":
        image = image.convert("RGB")
    if max_side and max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.BILINEAR, reducing_gap=2.0)
    pixels = np.asarray(image, dtype=np.uint8)
    return fmt, pixels, full_size


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
