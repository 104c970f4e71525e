"""Write a :class:`~dosemap.render.scene.Scene` as a standalone SVG document.

Hand-written SVG: every text and attribute value goes through :func:`xml.sax.saxutils` escaping,
numbers are printed with two decimals so the same scene gives the same bytes.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from dosemap.render.scene import CircleShape, Label, LineShape, PolygonShape, Scene, Shape

_FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"


def _n(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if value % 1 else f"{int(value)}"


def _points(points: tuple[tuple[float, float], ...]) -> str:
    return " ".join(f"{_n(x)},{_n(y)}" for x, y in points)


def _shape(shape: Shape) -> str:
    if isinstance(shape, PolygonShape):
        fill = shape.fill if shape.fill and shape.fill_opacity > 0 else "none"
        attrs = [
            f"points={quoteattr(_points(shape.points))}",
            f"fill={quoteattr(fill)}",
        ]
        if fill != "none":
            attrs.append(f'fill-opacity="{_n(shape.fill_opacity)}"')
        if shape.stroke:
            attrs.append(f"stroke={quoteattr(shape.stroke)}")
            attrs.append(f'stroke-width="{_n(shape.stroke_width)}"')
            attrs.append('stroke-linejoin="round"')
            if shape.dashed:
                attrs.append(
                    f'stroke-dasharray="{_n(shape.stroke_width * 4)} {_n(shape.stroke_width * 3)}"'
                )
        if shape.holes:
            rings = (shape.points, *shape.holes)
            path = " ".join(f"M {_points(ring)} Z" for ring in rings if len(ring) >= 3)
            attrs[0] = f"d={quoteattr(path)}"
            attrs.append('fill-rule="evenodd"')
            return f"<path {' '.join(attrs)}/>"
        return f"<polygon {' '.join(attrs)}/>"
    if isinstance(shape, CircleShape):
        return (
            f'<circle cx="{_n(shape.centre[0])}" cy="{_n(shape.centre[1])}" r="{_n(shape.radius)}"'
            f" fill={quoteattr(shape.fill)} stroke={quoteattr(shape.stroke)}"
            f' stroke-width="{_n(shape.stroke_width)}"/>'
        )
    if isinstance(shape, LineShape):
        return (
            f'<line x1="{_n(shape.start[0])}" y1="{_n(shape.start[1])}"'
            f' x2="{_n(shape.end[0])}" y2="{_n(shape.end[1])}"'
            f' stroke={quoteattr(shape.stroke)} stroke-width="{_n(shape.stroke_width)}"/>'
        )
    return _label(shape)


def _label(label: Label) -> str:
    attrs = (
        f'x="{_n(label.position[0])}" y="{_n(label.position[1])}" font-size="{_n(label.size)}"'
        f" text-anchor={quoteattr(label.anchor)}" + (' font-weight="bold"' if label.bold else "")
    )
    text = escape(label.text)
    if label.halo:
        halo_width = _n(max(label.size / 4.5, 2.0))
        return (
            f'<text {attrs} fill="#FFFFFF" stroke="#FFFFFF" stroke-width="{halo_width}"'
            f' stroke-linejoin="round">{text}</text>'
            f"<text {attrs} fill={quoteattr(label.colour)}>{text}</text>"
        )
    return f"<text {attrs} fill={quoteattr(label.colour)}>{text}</text>"


def to_svg(scene: Scene, background_href: str | None = None) -> str:
    """The scene as an SVG document (a ``str``).

    Parameters
    ----------
    scene
        What to draw.
    background_href
        Optional URL or data URI of the face image (a photo), stretched over the scene's image
        box whatever its own size (a photo's crop may be embedded at its native resolution).
    """
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{scene.width}" height="{scene.height}"'
        f' viewBox="0 0 {scene.width} {scene.height}" font-family={quoteattr(_FONT)}>',
        f"<title>{escape(scene.title)}</title>",
        f'<rect width="100%" height="100%" fill={quoteattr(scene.background)}/>',
    ]
    if background_href is not None:
        x, y, w, h = scene.image_box
        lines.append(
            f'<image x="{x}" y="{y}" width="{w}" height="{h}" preserveAspectRatio="none"'
            f" href={quoteattr(background_href)}/>"
        )
    for layer in scene.layers:
        lines.append(f"<g id={quoteattr(layer.name)}>")
        lines.extend(_shape(shape) for shape in layer.shapes)
        lines.append("</g>")
    lines.append("</svg>")
    return "\n".join(lines) + "\n"
