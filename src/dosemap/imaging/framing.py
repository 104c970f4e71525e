"""The photo under a drawn plan: the face crop enlarged for drawing, or embedded as a JPEG."""

from __future__ import annotations

import base64
import io

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image


def background(crop: npt.NDArray[np.uint8], size: tuple[int, int]) -> Image.Image:
    """``crop`` (RGB) as a picture of ``size`` (width, height) pixels, for drawing over."""
    if size != (crop.shape[1], crop.shape[0]):  # enlarging only; OpenCV's bicubic is ~8× Pillow's
        return Image.fromarray(cv2.resize(crop, size, interpolation=cv2.INTER_CUBIC))
    return Image.fromarray(np.ascontiguousarray(crop))


def jpeg_data_uri(rgb: npt.NDArray[np.uint8]) -> str:
    """``rgb`` as a ``data:`` URI of a JPEG built from bare pixels (no EXIF or GPS kept)."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buffer, format="JPEG", quality=88)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
