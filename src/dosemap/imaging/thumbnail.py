"""A small upright JPEG of a stored photo, for pages (browsers cannot show HEIC)."""

from __future__ import annotations

import io

from PIL import Image

from dosemap.imaging.intake import photo_from_bytes


def thumbnail_jpeg(data: bytes, max_side: int = 480, quality: int = 85) -> bytes:
    """``data`` decoded with its orientation applied, at most ``max_side`` px, as JPEG."""
    rgb = photo_from_bytes(data, "thumbnail", detect_max_side=max_side).detect_rgb
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="JPEG", quality=quality)
    return out.getvalue()
