"""Draw a :class:`~dosemap.render.scene.Scene` with Pillow, optionally over a photo.

Speed without losing anti-aliasing: the canvas is drawn at its final size. Each polygon and
line is rasterised as a coverage mask over its own bounding box only, supersampled there and
box-filtered down, then blended into the canvas in one ``paste``; point discs come from a small
cache of such masks; text is anti-aliased by FreeType at 1x into masks (halo, glyphs) cached by
text and size, so pictures of one plan on many photos render their legend and names once.
"""

from __future__ import annotations

import itertools
import math
import struct
import zlib
from collections.abc import Sequence
from functools import cache, lru_cache

import numpy as np
from isal import isal_zlib
from PIL import Image, ImageDraw, ImageFont

from dosemap.render.scene import CircleShape, Label, LineShape, PolygonShape, Scene

#: Supersampling of a shape's coverage mask, per axis (3 gives 10 coverage levels); discs,
#: whose masks are cached, use more.
_SUPERSAMPLE = 3
_DISC_SUPERSAMPLE = 4
#: Disc positions and sizes are snapped to this fraction of a pixel, so masks can be reused.
_DISC_STEP = 0.25
_ANCHORS = {"start": "ls", "middle": "ms", "end": "rs"}
FontType = ImageFont.FreeTypeFont | ImageFont.ImageFont
RGB = tuple[int, int, int]
Point = tuple[float, float]


@cache
def _font(size: float, bold: bool) -> FontType:
    names = ("DejaVuSans-Bold.ttf",) if bold else ("DejaVuSans.ttf",)
    for name in (*names, "DejaVuSans.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


@cache
def _rgb(colour: str) -> RGB:
    text = colour.lstrip("#")
    r, g, b = (int(text[i : i + 2], 16) for i in (0, 2, 4))
    return r, g, b


def _dashes(points: Sequence[Point], width: float) -> list[tuple[Point, Point]]:
    """The dash segments along a closed outline (dash 4×, gap 3× the line width, as the SVG)."""
    dash, gap = 4.0 * width, 3.0 * width
    segments: list[tuple[Point, Point]] = []
    for (x0, y0), (x1, y1) in itertools.pairwise([*points, points[0]]):
        length = math.hypot(x1 - x0, y1 - y0)
        if length == 0:
            continue
        ux, uy = (x1 - x0) / length, (y1 - y0) / length
        t = 0.0
        while t < length:
            end = min(t + dash, length)
            segments.append(((x0 + ux * t, y0 + uy * t), (x0 + ux * end, y0 + uy * end)))
            t = end + gap
    return segments


class _Region:
    """A shape's bounding box on the canvas, with a supersampled mask to draw its coverage in."""

    def __init__(self, canvas: Image.Image, points: Sequence[Point], pad: float) -> None:
        xs = [x for x, _ in points]
        ys = [y for _, y in points]
        self.left = max(0, math.floor(min(xs) - pad))
        self.top = max(0, math.floor(min(ys) - pad))
        self.right = min(canvas.width, math.ceil(max(xs) + pad) + 1)
        self.bottom = min(canvas.height, math.ceil(max(ys) + pad) + 1)
        self.empty = self.right <= self.left or self.bottom <= self.top

    def local(self, points: Sequence[Point]) -> list[Point]:
        k = _SUPERSAMPLE
        return [((x - self.left) * k, (y - self.top) * k) for x, y in points]

    def mask(self) -> tuple[Image.Image, ImageDraw.ImageDraw]:
        k = _SUPERSAMPLE
        mask = Image.new("L", ((self.right - self.left) * k, (self.bottom - self.top) * k), 0)
        return mask, ImageDraw.Draw(mask)

    def blend(self, canvas: Image.Image, colour: str, mask: Image.Image) -> None:
        """Blend ``colour`` into the canvas with the mask, box-filtered to canvas pixels."""
        box = (self.left, self.top, self.right, self.bottom)
        canvas.paste(_rgb(colour), box, mask.reduce(_SUPERSAMPLE))


def _polygon(canvas: Image.Image, shape: PolygonShape) -> None:
    if len(shape.points) < 3:
        return
    region = _Region(canvas, shape.points, shape.stroke_width + 2)
    if region.empty:
        return
    fill = shape.fill if shape.fill and shape.fill_opacity > 0 else None
    stroke = shape.stroke if shape.stroke and shape.stroke_width > 0 else None
    if fill:
        mask, draw = region.mask()
        draw.polygon(region.local(shape.points), fill=round(255 * shape.fill_opacity))
        for hole in shape.holes:
            if len(hole) >= 3:
                draw.polygon(region.local(hole), fill=0)
        if stroke != fill:  # an outline in the fill's colour shares its mask (danger zones)
            region.blend(canvas, fill, mask)
    if stroke:
        if stroke != fill:
            mask, draw = region.mask()
        width = max(1, round(shape.stroke_width * _SUPERSAMPLE))
        if shape.dashed:
            for segment in _dashes(shape.points, shape.stroke_width):
                draw.line(region.local(segment), 255, width)
        else:
            ring = region.local(shape.points)
            draw.line([*ring, ring[0]], 255, width, joint="curve")
        region.blend(canvas, stroke, mask)


def _line(canvas: Image.Image, shape: LineShape) -> None:
    region = _Region(canvas, (shape.start, shape.end), shape.stroke_width + 2)
    if region.empty:
        return
    mask, draw = region.mask()
    draw.line(
        region.local((shape.start, shape.end)),
        255,
        max(1, round(shape.stroke_width * _SUPERSAMPLE)),
    )
    region.blend(canvas, shape.stroke, mask)


@lru_cache(maxsize=1024)
def _disc_masks(
    radius: float, stroke_width: float, fx: float, fy: float
) -> tuple[Image.Image, Image.Image]:
    """Coverage of a disc (outer) and of its inside less the rim (inner), centred at (fx, fy)
    in a square of ``2 * ceil(radius) + 2`` pixels."""
    k = _DISC_SUPERSAMPLE
    side = 2 * math.ceil(radius) + 2
    masks = []
    for r in (radius, max(0.0, radius - stroke_width)):
        mask = Image.new("L", (side * k, side * k), 0)
        if r > 0:
            box = ((fx - r) * k, (fy - r) * k, (fx + r) * k - 1, (fy + r) * k - 1)
            ImageDraw.Draw(mask).ellipse(box, fill=255)
        masks.append(mask.reduce(k))
    return masks[0], masks[1]


def _snap(value: float) -> float:
    return round(value / _DISC_STEP) * _DISC_STEP


def _disc(canvas: Image.Image, shape: CircleShape) -> None:
    cx, cy = shape.centre
    radius = _snap(shape.radius)
    left = math.floor(cx) - math.ceil(radius) - 1
    top = math.floor(cy) - math.ceil(radius) - 1
    outer, inner = _disc_masks(
        radius, _snap(max(1.0, shape.stroke_width)), _snap(cx - left), _snap(cy - top)
    )
    box = (left, top, left + outer.width, top + outer.height)
    canvas.paste(_rgb(shape.stroke), box, outer)
    canvas.paste(_rgb(shape.fill), box, inner)


@lru_cache(maxsize=128)  # two pictures' labels (~55 each): a few MB of masks
def _text_masks(
    text: str, size: float, bold: bool, anchor: str, halo_width: float
) -> tuple[int, int, Image.Image | None, Image.Image]:
    """Coverage of ``text`` drawn with its anchor point at (0, 0): (left, top) of the masks
    from that point, the halo's mask (glyphs and their outline; ``None`` when no halo) and the
    glyphs' mask.

    FreeType renders every glyph anew on each call, and the halo's outline costs ~5× the
    glyphs; cached, a batch of photos of one plan renders its legend, header and names once.
    """
    font = _font(size, bold)
    left, top, right, bottom = (
        int(v) for v in font.getbbox(text, anchor=anchor, stroke_width=halo_width)
    )

    def mask(stroke_width: float) -> Image.Image:
        image = Image.new("L", (max(1, right - left), max(1, bottom - top)), 0)
        ImageDraw.Draw(image).text(
            (-left, -top), text, 255, font, anchor, stroke_width=stroke_width
        )
        return image

    return left, top, mask(halo_width) if halo_width else None, mask(0)


def _text(canvas: Image.Image, label: Label) -> None:
    size = round(label.size * 2) / 2  # half-pixel font sizes, so masks are reused
    halo_width = max(1.0, size / 6) if label.halo else 0.0
    left, top, halo, glyphs = _text_masks(
        label.text, size, label.bold, _ANCHORS.get(label.anchor, "ls"), halo_width
    )
    # Whole-pixel placement (a cached mask has one sub-pixel phase): ≤ 0.5 px off.
    corner = (round(label.position[0]) + left, round(label.position[1]) + top)
    if halo is not None:
        canvas.paste((255, 255, 255), corner, halo)
    canvas.paste(_rgb(label.colour), corner, glyphs)


#: Deflate level (ISA-L's 0-3) for written PNGs. ISA-L's level 1 deflates a 4 MP photo picture
#: ~5× faster than zlib's level 1 into a slightly smaller stream; with the "Up" filter the whole
#: encoding is ~10× faster than Pillow's encoder at level 3 (which also tries all five PNG
#: filters on every row), for a file about as large (+1% to +8%, measured on plan pictures).
PNG_COMPRESS_LEVEL = 1
#: PNG colour type by Pillow mode.
_PNG_COLOUR_TYPES = {"L": 0, "RGB": 2, "RGBA": 6}
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(data, zlib.crc32(kind))
    return b"".join((struct.pack(">I", len(data)), kind, data, struct.pack(">I", crc)))


def png_bytes(image: Image.Image) -> bytes:
    """``image`` encoded as PNG: pixels only (IHDR, IDAT, IEND), no metadata at all.

    Written here rather than by Pillow for speed (see :data:`PNG_COMPRESS_LEVEL`): every row
    gets the "Up" filter (the difference from the row above, which suits photos and leaves
    the white margins all zeros), computed by numpy in one pass, and the zlib stream comes
    from ISA-L. Modes other than L, RGB and RGBA are converted to RGB.
    """
    if image.mode not in _PNG_COLOUR_TYPES:
        image = image.convert("RGB")
    pixels = np.asarray(image, dtype=np.uint8)
    rows = pixels.reshape(image.height, -1)  # one row of samples per image row
    filtered = np.empty((rows.shape[0], rows.shape[1] + 1), dtype=np.uint8)
    filtered[:, 0] = 2  # the Up filter's type byte
    filtered[:1, 1:] = rows[:1]
    np.subtract(rows[1:], rows[:-1], out=filtered[1:, 1:])  # modulo 256, as PNG wants
    header = struct.pack(
        ">IIBBBBB", image.width, image.height, 8, _PNG_COLOUR_TYPES[image.mode], 0, 0, 0
    )
    return b"".join(
        (
            _PNG_SIGNATURE,
            _png_chunk(b"IHDR", header),
            _png_chunk(b"IDAT", isal_zlib.compress(filtered, PNG_COMPRESS_LEVEL)),
            _png_chunk(b"IEND", b""),
        )
    )


def to_png(scene: Scene, background: Image.Image | None = None) -> Image.Image:
    """The scene as an RGB image; ``background`` (a photo) fills the scene's image box.

    Parameters
    ----------
    scene
        What to draw.
    background
        The face image. It is resized to the image box if its size differs.
    """
    canvas = Image.new("RGB", (scene.width, scene.height), _rgb(scene.background))
    if background is not None:
        x, y, w, h = scene.image_box
        photo = background if background.mode == "RGB" else background.convert("RGB")
        if photo.size != (w, h):
            photo = photo.resize((w, h), Image.Resampling.LANCZOS)
        canvas.paste(photo, (x, y))
    for layer in scene.layers:
        for shape in layer.shapes:
            if isinstance(shape, PolygonShape):
                _polygon(canvas, shape)
            elif isinstance(shape, CircleShape):
                _disc(canvas, shape)
            elif isinstance(shape, LineShape):
                _line(canvas, shape)
            else:
                _text(canvas, shape)
    return canvas
