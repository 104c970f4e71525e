"""Draw a :class:`~dosemap.render.scene.Scene` with Pillow, optionally over a photo.

Shapes are drawn at twice the size and scaled down, which anti-aliases edges and text.
"""

from __future__ import annotations

import itertools
import math
from functools import cache

from PIL import Image, ImageDraw, ImageFont

from dosemap.render.scene import CircleShape, Label, LineShape, PolygonShape, Scene

_SUPERSAMPLE = 2
_ANCHORS = {"start": "ls", "middle": "ms", "end": "rs"}
FontType = ImageFont.FreeTypeFont | ImageFont.ImageFont


@cache
def _font(size: int, bold: bool) -> FontType:
    names = ("DejaVuSans-Bold.ttf",) if bold else ("DejaVuSans.ttf",)
    for name in (*names, "DejaVuSans.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def _rgba(colour: str, opacity: float = 1.0) -> tuple[int, int, int, int]:
    text = colour.lstrip("#")
    r, g, b = (int(text[i : i + 2], 16) for i in (0, 2, 4))
    return r, g, b, round(255 * opacity)


def _dashed(
    draw: ImageDraw.ImageDraw,
    points: list[tuple[float, float]],
    colour: tuple[int, int, int, int],
    width: int,
) -> None:
    dash, gap = 4.0 * width, 3.0 * width
    closed = [*points, points[0]]
    for (x0, y0), (x1, y1) in itertools.pairwise(closed):
        length = math.hypot(x1 - x0, y1 - y0)
        if length == 0:
            continue
        ux, uy = (x1 - x0) / length, (y1 - y0) / length
        t = 0.0
        while t < length:
            end = min(t + dash, length)
            draw.line([(x0 + ux * t, y0 + uy * t), (x0 + ux * end, y0 + uy * end)], colour, width)
            t = end + gap


def to_png(scene: Scene, background: Image.Image | None = None) -> Image.Image:
    """The scene as an RGB image; ``background`` (a photo) fills the scene's image box.

    Parameters
    ----------
    scene
        What to draw.
    background
        The face image. It is resized to the image box if its size differs.
    """
    k = _SUPERSAMPLE
    canvas = Image.new("RGBA", (scene.width * k, scene.height * k), _rgba(scene.background))
    if background is not None:
        x, y, w, h = scene.image_box
        photo = background.convert("RGBA").resize((w * k, h * k), Image.Resampling.LANCZOS)
        canvas.alpha_composite(photo, (x * k, y * k))
    for layer in scene.layers:
        overlay = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(overlay)
        for shape in layer.shapes:
            if isinstance(shape, PolygonShape):
                pts = [(px * k, py * k) for px, py in shape.points]
                if len(pts) < 3:
                    continue
                if shape.fill and shape.fill_opacity > 0:
                    _fill(overlay, shape, k)
                if shape.stroke and shape.stroke_width > 0:
                    width = max(1, round(shape.stroke_width * k))
                    if shape.dashed:
                        _dashed(draw, pts, _rgba(shape.stroke), width)
                    else:
                        draw.line([*pts, pts[0]], _rgba(shape.stroke), width, joint="curve")
            elif isinstance(shape, CircleShape):
                cx, cy, r = shape.centre[0] * k, shape.centre[1] * k, shape.radius * k
                draw.ellipse(
                    (cx - r, cy - r, cx + r, cy + r),
                    fill=_rgba(shape.fill),
                    outline=_rgba(shape.stroke),
                    width=max(1, round(shape.stroke_width * k)),
                )
            elif isinstance(shape, LineShape):
                draw.line(
                    [
                        (shape.start[0] * k, shape.start[1] * k),
                        (shape.end[0] * k, shape.end[1] * k),
                    ],
                    _rgba(shape.stroke),
                    max(1, round(shape.stroke_width * k)),
                )
            else:
                _text(draw, shape, k)
        canvas.alpha_composite(overlay)
    small = canvas.resize((scene.width, scene.height), Image.Resampling.LANCZOS)
    return small.convert("RGB")


def _fill(overlay: Image.Image, shape: PolygonShape, k: int) -> None:
    """Fill a polygon (minus its holes) with a translucent colour, within its bounding box."""
    assert shape.fill is not None
    xs = [x * k for x, _ in shape.points]
    ys = [y * k for _, y in shape.points]
    left, top = max(0, math.floor(min(xs))), max(0, math.floor(min(ys)))
    right = min(overlay.width, math.ceil(max(xs)) + 1)
    bottom = min(overlay.height, math.ceil(max(ys)) + 1)
    if right <= left or bottom <= top:
        return
    mask = Image.new("L", (right - left, bottom - top), 0)
    draw = ImageDraw.Draw(mask)
    alpha = round(255 * shape.fill_opacity)
    draw.polygon([(x * k - left, y * k - top) for x, y in shape.points], fill=alpha)
    for hole in shape.holes:
        if len(hole) >= 3:
            draw.polygon([(x * k - left, y * k - top) for x, y in hole], fill=0)
    colour = Image.new("RGBA", mask.size, _rgba(shape.fill))
    colour.putalpha(mask)
    overlay.alpha_composite(colour, (left, top))


def _text(draw: ImageDraw.ImageDraw, label: Label, k: int) -> None:
    font = _font(max(6, round(label.size * k)), label.bold)
    position = (label.position[0] * k, label.position[1] * k)
    anchor = _ANCHORS.get(label.anchor, "ls")
    if label.halo:
        draw.text(
            position,
            label.text,
            fill=(255, 255, 255, 255),
            font=font,
            anchor=anchor,
            stroke_width=max(2, round(label.size * k / 6)),
            stroke_fill=(255, 255, 255, 235),
        )
    draw.text(position, label.text, fill=_rgba(label.colour), font=font, anchor=anchor)
