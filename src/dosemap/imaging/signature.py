"""A drawn signature as sent by the tablet: a PNG that must decode, be of sane size, and show
ink (a blank pad is not a signature)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, UnidentifiedImageError

from dosemap.domain.errors import InvalidInputError

MAX_SIGNATURE_BYTES = 512 * 1024
MAX_SIDE_PX = 4000
#: At least this share of the pad must carry ink (a dot or a slip of the finger is not enough).
MIN_INK_FRACTION = 0.002
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def check_signature_png(data: bytes, field: str = "signature") -> tuple[int, int]:
    """Width and height of a drawn signature, or :class:`InvalidInputError` naming ``field``."""
    if not data:
        raise InvalidInputError(field, "is empty", "a signature drawn on the pad")
    if len(data) > MAX_SIGNATURE_BYTES:
        raise InvalidInputError(field, f"{len(data)} bytes", f"≤ {MAX_SIGNATURE_BYTES} bytes")
    if not data.startswith(PNG_MAGIC):
        raise InvalidInputError(field, "is not a PNG image", "a PNG from the signature pad")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != "PNG" or max(image.size) > MAX_SIDE_PX:
                raise InvalidInputError(field, f"{image.size}", f"a PNG ≤ {MAX_SIDE_PX} px")
            image.load()
            rgba = np.asarray(image.convert("RGBA"))
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise InvalidInputError(field, "cannot be read", "a PNG from the signature pad") from exc
    # Ink: opaque pixels clearly darker than paper (the pad is transparent or white).
    ink = (rgba[..., 3] > 128) & (rgba[..., :3].mean(axis=2) < 160)
    if float(ink.mean()) < MIN_INK_FRACTION:
        raise InvalidInputError(field, "is blank", "a signature drawn on the pad")
    return int(rgba.shape[1]), int(rgba.shape[0])
