"""A backend-neutral picture of a plan: shapes in pixels, grouped in named layers.

:func:`build_plan_scene` turns a plan and a 2D projection of the face landmarks into polygons,
circles, lines and labels; :mod:`dosemap.render.svg` and :mod:`dosemap.render.raster` only draw
them. The landmarks can be the template face seen from the front
(:func:`template_projection`) or a photo's pixel landmarks: every zone, danger zone and point
is placed through landmark indices and mesh anchors, so the same plan lands on either.

Pixel frame: x to the right, y down, origin top-left of the whole canvas. The face (or photo)
occupies :attr:`Scene.image_box`; a header band above it holds the title and a footer band
below it the legend, scale bar and the off-label line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from dosemap.domain import display
from dosemap.domain.atlas.danger import DANGER_ZONES, DangerZone
from dosemap.domain.atlas.mesh import FaceMesh, resolve_anchors
from dosemap.domain.atlas.zones import ZONES
from dosemap.domain.library.models import DangerMargin
from dosemap.domain.plan import MeshAnchor, Plan
from dosemap.render.points import DIGIT_EM, RADIUS_MAX, point_marks
from dosemap.render.skin_scale import ZoneSkinScale, zone_skin_scale

FloatArray = npt.NDArray[np.float64]
Point = tuple[float, float]
Ring = Sequence[MeshAnchor]

# Okabe-Ito palette: distinguishable with the common colour-vision deficiencies.
ZONE_COLOURS = ("#0072B2", "#009E73", "#E69F00", "#56B4E9", "#CC79A7", "#D55E00", "#F0E442")
DANGER_COLOUR = "#C0392B"
POINT_COLOUR = "#1B2A49"
TEXT_COLOUR = "#111111"
OFF_SKIN_COLOUR = "#E67E00"  # points not on visible skin (Okabe-Ito orange, darkened)
HEADER_PX = 150


@dataclass(frozen=True)
class PolygonShape:
    """A closed polygon; ``fill_opacity`` 0 draws the outline only."""

    points: tuple[Point, ...]
    stroke: str | None
    stroke_width: float = 2.0
    fill: str | None = None
    fill_opacity: float = 0.0
    dashed: bool = False
    holes: tuple[tuple[Point, ...], ...] = ()


@dataclass(frozen=True)
class CircleShape:
    """A filled circle with an outline."""

    centre: Point
    radius: float
    fill: str
    stroke: str = "#FFFFFF"
    stroke_width: float = 1.5


@dataclass(frozen=True)
class LineShape:
    """A straight line."""

    start: Point
    end: Point
    stroke: str
    stroke_width: float = 2.0


@dataclass(frozen=True)
class Label:
    """Text at ``position``; ``anchor`` is where the position sits on the text line.

    ``halo`` draws a white outline under the glyphs so text stays legible over a photo.
    """

    position: Point
    text: str
    size: float
    colour: str = TEXT_COLOUR
    anchor: str = "start"  # "start" | "middle" | "end"
    bold: bool = False
    halo: bool = False


Shape = PolygonShape | CircleShape | LineShape | Label


@dataclass(frozen=True)
class Layer:
    """Shapes drawn together, in order (``zones``, ``danger``, ``points``, ``legend`` …)."""

    name: str
    shapes: tuple[Shape, ...]


@dataclass(frozen=True)
class Scene:
    """A complete picture: canvas size, where the face image goes, and the layers in order."""

    width: int
    height: int
    image_box: tuple[int, int, int, int]  # x, y, width, height of the face / photo area
    layers: tuple[Layer, ...]
    title: str = ""
    background: str = "#FFFFFF"
    metadata: Mapping[str, str] = field(default_factory=dict)


def template_projection(
    mesh: FaceMesh,
    px_per_mm: float = 8.0,
    pad_mm: float = 6.0,
    *,
    beyond_mm: FloatArray | None = None,
) -> tuple[FloatArray, tuple[int, int], float]:
    """The template face seen from the front: landmarks in pixels, image size, mm per pixel.

    The frontal view puts the patient's left on the viewer's right, as a photo does.
    ``beyond_mm`` (K×3) are points off the mesh that the picture must hold too (the forehead
    planned above the mesh).
    """
    xy = mesh.vertices_mm[:, :2]
    bounds = xy if beyond_mm is None else np.vstack([xy, beyond_mm[:, :2]])
    low = bounds.min(axis=0) - pad_mm
    high = bounds.max(axis=0) + pad_mm
    pixels = np.column_stack([(xy[:, 0] - low[0]) * px_per_mm, (high[1] - xy[:, 1]) * px_per_mm])
    size = (
        int(np.ceil((high[0] - low[0]) * px_per_mm)),
        int(np.ceil((high[1] - low[1]) * px_per_mm)),
    )
    return pixels, size, 1.0 / px_per_mm


def darker(colour: str, factor: float = 0.62) -> str:
    """A darker shade of a ``#RRGGBB`` colour, for text in that colour on white.

    Examples
    --------
    >>> darker("#F0E442")
    '#958D29'
    """
    text = colour.lstrip("#")
    r, g, b = (round(int(text[i : i + 2], 16) * factor) for i in (0, 2, 4))
    return f"#{r:02X}{g:02X}{b:02X}"


def _fmt(value: Decimal, places: int = display.UNITS_PLACES) -> str:
    """A Decimal for people: at most ``places`` decimals, no exponent (``18``, ``0.2``)."""
    return display.number(value, places)


def _units(value: Decimal) -> str:
    return display.units(value)


def _shift(points: FloatArray, dx: float, dy: float) -> tuple[Point, ...]:
    shifted: list[list[float]] = (points + np.array([dx, dy])).tolist()  # one conversion
    return tuple((x, y) for x, y in shifted)


def _ring_points(
    landmarks: FloatArray, ring: Sequence[int], dx: float, dy: float
) -> tuple[Point, ...]:
    return _shift(landmarks[list(ring)], dx, dy)


def _centroid(points: Sequence[Point]) -> Point:
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    return (sum(xs) / len(xs), sum(ys) / len(ys))


#: MediaPipe's face-oval landmarks, drawn faintly on the template so it reads as a face.
FACE_OVAL = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)  # fmt: skip
CONTEXT_COLOUR = "#9AA0A6"


def _danger_zones_for(plan: Plan, candidates: Iterable[DangerZone]) -> list[DangerZone]:
    zones = {z.zone for z in plan.summary.zones}
    has_ha = plan.mix.contains_hyaluronic_acid
    return [
        d
        for d in sorted(candidates, key=lambda d: d.id)
        if any(d.governs(z, has_ha) for z in sorted(zones))
    ]


def _text_width(text: str, size: float) -> float:
    """Rough rendered width of ``text`` in DejaVu Sans at ``size`` px (for layout only)."""
    return 0.6 * size * len(text)


def _box_distances(boxes: FloatArray, points: FloatArray) -> FloatArray:
    """Smallest distance from the points (K×2) to each axis-aligned box (B×4: x0, y0, x1, y1)."""
    if len(points) == 0:
        return np.full(len(boxes), np.inf)
    px, py = points[:, 0], points[:, 1]
    x0, y0, x1, y1 = (boxes[:, k, None] for k in range(4))
    dx = np.maximum(np.maximum(x0 - px, 0.0), px - x1)
    dy = np.maximum(np.maximum(y0 - py, 0.0), py - y1)
    distances: FloatArray = np.hypot(dx, dy).min(axis=1)
    return distances


def _label_candidates(outline: Sequence[Point], push: float) -> tuple[FloatArray, int, Point]:
    """Places to try for a label (C×2, best first on ties), how many of them are inside or on
    the outline, and the outline's centroid.

    The centroid, then each vertex, edge midpoint and vertex-centroid midpoint; then, for a
    zone its points fill (foreshortened on a turned face), a place just outside each vertex.
    """
    cx, cy = _centroid(outline)
    ring = np.asarray(outline, dtype=np.float64)
    centre = np.array([cx, cy])
    following = np.roll(ring, -1, axis=0)
    inside = np.stack([ring, (ring + following) / 2, (ring + centre) / 2], axis=1).reshape(-1, 2)
    away = ring - centre
    length = np.hypot(away[:, 0], away[:, 1])
    length[length == 0] = 1.0
    outside = ring + away / length[:, None] * push
    return np.vstack([centre[None], inside, outside]), 1 + len(inside), (cx, cy)


Box = tuple[float, float, float, float]  # x0, y0, x1, y1

BOLD_EM = 0.66  # average advance of bold DejaVu Sans, in ems (layout only)
ASCENT_EM, DESCENT_EM = 0.76, 0.24  # glyph extent above and below the baseline


def label_box(label: Label) -> Box:
    """The box a label's glyphs fill (estimated from DejaVu Sans' metrics), in pixels."""
    digits = all(c.isdigit() or c in ",–" for c in label.text)
    em = DIGIT_EM if digits and label.bold else (BOLD_EM if label.bold else 0.6)
    width = em * label.size * len(label.text)
    x, y = label.position
    x0 = {"start": x, "middle": x - width / 2, "end": x - width}[label.anchor]
    bottom = y + (0.04 if digits else DESCENT_EM) * label.size
    return (x0, y - ASCENT_EM * label.size, x0 + width, bottom)


def _place_label(
    text: str,
    size: float,
    outline: Sequence[Point],
    obstacles: FloatArray,
    taken: list[Box],
    radius: float,
    width: float = float("inf"),
    *,
    bold: bool = False,
) -> Point | None:
    """Where to put a zone's label (the middle of its baseline): inside or on its outline,
    clear of points and labels, within the canvas ``width``. Places outside the outline are
    used only where every place inside or on it would cover points. All candidates are scored
    at once (numpy). ``None`` when every place would overlap a label or a disc in ``taken``:
    the caller leaves the label out (and says so) rather than print it over another."""
    text_w = (BOLD_EM if bold else 0.6) * size * len(text)
    half_w = text_w / 2
    candidates, inside, (cx, cy) = _label_candidates(outline, half_w + radius)
    for push in (2.0, 3.5):  # further out, for a turned face's crowded far side
        more, _, _ = _label_candidates(outline, (half_w + radius) * push)
        candidates = np.vstack([candidates, more[inside:]])
    x = np.minimum(np.maximum(candidates[:, 0], half_w), width - half_w)  # whole text on canvas
    y = candidates[:, 1]  # the box's middle; the baseline sits below it
    top, bottom = y - 0.5 * size, y + 0.5 * size
    boxes = np.column_stack([x - half_w, top, x + half_w, bottom])
    clearance = np.minimum(_box_distances(boxes, obstacles) - radius, 12.0)
    overlap = np.zeros(len(boxes), dtype=bool)
    if taken:
        t = np.asarray(taken, dtype=np.float64)
        overlap = (
            (boxes[:, 0, None] < t[:, 2])
            & (t[:, 0] < boxes[:, 2, None])
            & (boxes[:, 1, None] < t[:, 3])
            & (t[:, 1] < boxes[:, 3, None])
        ).any(axis=1)
    score = clearance - np.where(overlap, 1000.0, 0.0) - 0.01 * np.hypot(x - cx, y - cy)
    score[inside:] -= 12.0
    best = int(np.argmax(score))  # the first of equals, as the candidates are ordered
    if overlap[best]:
        return None
    bx, by = float(x[best]), float(y[best])
    taken.append((bx - half_w, by - 0.5 * size, bx + half_w, by + 0.5 * size))
    return bx, by + (ASCENT_EM - 0.5) * size


def build_plan_scene(
    plan: Plan,
    landmarks_2d: FloatArray,
    *,
    image_size: tuple[int, int],
    danger_zones: Iterable[DangerZone] = DANGER_ZONES.values(),
    mm_per_px: float | None = None,
    product_name: str | None = None,
    treatable: Mapping[str, Sequence[tuple[Ring, Sequence[Ring]]]] | None = None,
    face_outline: bool = True,
    scale: float = 1.0,
    zone_outlines: Mapping[str, Ring] | None = None,
    margins: Mapping[str, DangerMargin] | None = None,
    depth_px: FloatArray | None = None,
    off_skin: Mapping[int, str] | None = None,
) -> Scene:
    """The picture of ``plan`` over a face whose landmarks are ``landmarks_2d``.

    Parameters
    ----------
    plan
        The plan to draw.
    landmarks_2d
        N×2 landmark positions in pixels of the face image (x right, y down), N ≥ 468.
    image_size
        (width, height) of the face image (the template projection or the photo) in pixels.
    danger_zones
        Danger zones to shade; only those that govern a zone of the plan are drawn.
    mm_per_px
        Millimetres per pixel at the face, for the scale bar; ``None`` leaves the bar out.
    product_name
        Product name for the title (defaults to the product id).
    treatable
        Zone id -> the parts of the zone left after the danger margins, each as (outline,
        holes) of mesh anchors (:func:`dosemap.domain.planning.regions.treatable_outlines`);
        drawn tinted in the zone's colour.
    face_outline
        Draw the face oval faintly (for the template; a photo shows the face itself).
    scale
        Size factor for text, points and line widths (1.0 suits a face about 1200 px wide).
    zone_outlines
        Zone id -> the zone's outline as mesh anchors, where it differs from the atlas ring
        (:func:`dosemap.domain.planning.regions.zone_outlines`: the forehead planned above
        the mesh); other zones are drawn through their landmark rings.
    margins
        The library's danger margins to label (``Library.danger_margins``); by default the
        embedded library's.
    depth_px
        Each landmark's depth in the units of the picture's x (MediaPipe's ``z`` scaled like
        the landmarks; the template's z over its mm per pixel). With it and ``mm_per_px`` the
        footer draws, for each zone, scale bars true on the skin there
        (:mod:`dosemap.render.skin_scale`).
    off_skin
        Point number -> why it is not on visible skin in this photo (hair or a fringe over
        it, :mod:`dosemap.imaging.visibility`): ringed in orange and listed in the footer.
    """
    width, height = image_size
    if margins is None:
        from dosemap.resources import load_library

        margins = load_library().danger_margins

    def zone_outline(zone_id: str) -> tuple[Point, ...]:
        anchors = (zone_outlines or {}).get(zone_id)
        if anchors is None:
            return _ring_points(landmarks_2d, ZONES[zone_id].ring, dx, dy)
        return _shift(resolve_anchors(list(anchors), landmarks_2d), dx, dy)

    canvas_w = max(width, int(1000 * scale))
    dx, dy = (canvas_w - width) / 2.0, float(HEADER_PX * scale)
    plan_zones = [z.zone for z in plan.summary.zones]
    colour = {z: ZONE_COLOURS[k % len(ZONE_COLOURS)] for k, z in enumerate(plan_zones)}
    dangers = _danger_zones_for(plan, danger_zones)
    layers: list[Layer] = []

    if face_outline:
        oval = _ring_points(landmarks_2d, FACE_OVAL, dx, dy)
        layers.append(Layer("face", (PolygonShape(oval, CONTEXT_COLOUR, 1.5 * scale),)))

    zone_shapes: list[Shape] = []
    for zone_id in plan_zones:
        for outer, holes in (treatable or {}).get(zone_id, ()):
            zone_shapes.append(
                PolygonShape(
                    _shift(resolve_anchors(list(outer), landmarks_2d), dx, dy),
                    None,
                    0,
                    fill=colour[zone_id],
                    fill_opacity=0.22,
                    holes=tuple(
                        _shift(resolve_anchors(list(h), landmarks_2d), dx, dy) for h in holes
                    ),
                )
            )
        outline = zone_outline(zone_id)
        zone_shapes.append(PolygonShape(outline, colour[zone_id], 2.5 * scale))
    layers.append(Layer("zones", tuple(zone_shapes)))

    danger_shapes: list[Shape] = []
    for danger in dangers:
        for ring in danger.rings:
            danger_shapes.append(
                PolygonShape(
                    _ring_points(landmarks_2d, ring, dx, dy),
                    DANGER_COLOUR,
                    1.5 * scale,
                    fill=DANGER_COLOUR,
                    fill_opacity=0.28,
                    dashed=True,
                )
            )
    layers.append(Layer("danger", tuple(danger_shapes)))

    # Points: circle area proportional to units, numbered in injection order; discs shrink
    # where the points crowd on screen (a turned face) so they never overlap.
    point_shapes: list[Shape] = []
    centres = np.zeros((0, 2))
    radius_max = RADIUS_MAX * scale
    taken: list[Box] = []
    disc_boxes: list[Box] = []
    view_notes: list[str] = []
    if plan.points:
        centres = resolve_anchors([p.anchor for p in plan.points], landmarks_2d) + np.array(
            [dx, dy]
        )
        top = max(p.units for p in plan.points)
        shares = [float(p.units / top) if top > 0 else 1.0 for p in plan.points]
        marks, taken = point_marks(centres, shares, [p.number for p in plan.points], scale)
        disc_boxes = [
            (m.centre[0] - m.radius, m.centre[1] - m.radius, m.centre[0] + m.radius,
             m.centre[1] + m.radius)
            for m in marks
        ]  # fmt: skip
        shared = [m.text for m in marks if len(m.numbers) > 1]
        if shared:
            view_notes.append(
                "points too foreshortened to tell apart in this view share one mark: "
                + "; ".join(shared)
            )
        unlabelled = [m.text for m in marks if m.text_at is None]
        if unlabelled:
            view_notes.append(f"no room in this view to number points {'; '.join(unlabelled)}")
        for mark in marks:
            stroke = min(1.5 * scale, mark.radius / 4)
            point_shapes.append(
                CircleShape(mark.centre, mark.radius, POINT_COLOUR, "#FFFFFF", stroke)
            )
        for mark in marks:  # a number set far from its disc is joined to it by a line
            if mark.leader is not None:
                point_shapes.append(LineShape(*mark.leader, POINT_COLOUR, 1.5 * scale))
        for mark in marks:  # numbers after every disc, so a number beside one is not covered
            if mark.text_at is None:
                continue
            point_shapes.append(
                Label(
                    mark.text_at,
                    mark.text,
                    mark.text_size,
                    "#FFFFFF" if mark.inside else POINT_COLOUR,
                    "middle",
                    bold=True,
                    halo=not mark.inside,
                )
            )
    if off_skin and plan.points:
        # An orange dashed ring just outside the disc of each mark with a point under hair.
        for mark in marks:
            if not off_skin.keys() & set(mark.numbers):
                continue
            (cx, cy), ring_r = mark.centre, mark.radius + 3.5 * scale
            angles = np.linspace(0.0, 2.0 * np.pi, 24, endpoint=False)
            circle = tuple(
                (cx + ring_r * float(np.cos(a)), cy + ring_r * float(np.sin(a))) for a in angles
            )
            point_shapes.append(PolygonShape(circle, OFF_SKIN_COLOUR, 3 * scale, dashed=True))
        numbers = sorted(off_skin)
        view_notes.insert(
            0,
            f"points {_number_list(numbers)} (orange rings) are not on visible skin in this "
            "photo (hair or a fringe over them?): check on the patient before injecting",
        )
    layers.append(Layer("points", tuple(point_shapes)))

    # Zone names go where they cover no point, no number and no other name; danger names
    # likewise. Every disc is an obstacle box, so a name never sits over a number.
    label_shapes: list[Shape] = []
    left_out: list[str] = []
    taken = [*taken, *disc_boxes]
    for zone_id in plan_zones:
        name = ZONES[zone_id].name
        outline = zone_outline(zone_id)
        position = _place_label(
            name, 22 * scale, outline, centres, taken, radius_max, canvas_w, bold=True
        )
        if position is None:
            left_out.append(name)
            continue
        label_shapes.append(
            Label(position, name, 22 * scale, darker(colour[zone_id]), "middle", True, True)
        )
    for danger in dangers:
        # on the skin: the picture foreshortens sloping skin (the footer says how much)
        text = (
            f"{danger.name.split(' (')[0]} ≥{_fmt(margins[danger.id].margin_mm.value)} mm on skin"
        )
        ring = max(danger.rings, key=lambda r: float(landmarks_2d[list(r), 0].mean()))
        outline = _ring_points(landmarks_2d, ring, dx, dy)
        position = _place_label(text, 17 * scale, outline, centres, taken, radius_max, canvas_w)
        if position is None:
            left_out.append(text)
            continue
        label_shapes.append(Label(position, text, 17 * scale, DANGER_COLOUR, "middle", halo=True))
    if left_out:
        view_notes.append(
            "no room in this view for the names " + "; ".join(left_out) + " (see the table "
            "and margins below)"
        )
    layers.append(Layer("labels", tuple(label_shapes)))

    skin_scales: list[ZoneSkinScale] = []
    if depth_px is not None and mm_per_px:
        flat = np.asarray(landmarks_2d[:, :2], dtype=np.float64) + np.array([dx, dy])
        for zone_id in plan_zones:
            polygon = np.asarray(zone_outline(zone_id), dtype=np.float64)
            found = zone_skin_scale(zone_id, polygon, flat, depth_px)
            if found is not None:
                skin_scales.append(found)
    layers.append(Layer("header", tuple(_header(plan, canvas_w, scale, product_name))))
    footer, bottom = _footer(
        plan,
        canvas_w,
        dy + height,
        scale,
        mm_per_px,
        [(d, margins[d.id]) for d in dangers],
        colour,
        product_name,
        view_notes,
        skin_scales,
    )
    layers.append(Layer("footer", tuple(footer)))
    entries = _entries_word(plan)
    return Scene(
        width=canvas_w,
        height=int(bottom + 12 * scale),
        image_box=(int(dx), int(dy), width, height),
        layers=tuple(layers),
        title=f"dosemap plan: {plan.summary.needle_entries} {entries}, "
        f"{_units(plan.summary.total_units)}",
        metadata={"protocol": plan.protocol or "", "product": plan.product},
    )


def _entries_word(plan: Plan) -> str:
    return "stamps" if "stamp" in plan.technique or "device" in plan.technique else "entries"


def _per_point(plan: Plan) -> str:
    pairs = sorted({(p.volume_ul, p.units) for p in plan.points})
    if len(pairs) == 1:
        volume, units = pairs[0]
        return f"{_fmt(volume)} µL = {_fmt(units, 3)} U per point"
    return "µL per point varies by zone (see table)"


def _header(plan: Plan, width: int, scale: float, product_name: str | None) -> list[Shape]:
    mix = plan.mix
    name = product_name or plan.product
    line1 = (
        f"{name} {_fmt(mix.stock_vial_units)} U + {_fmt(mix.stock_diluent_ml)} mL"
        f" → {_fmt(mix.units_per_ml)} U/mL · {_per_point(plan)}"
    )
    line2 = (
        f"{plan.summary.needle_entries} {_entries_word(plan)} · "
        f"{_units(plan.summary.total_units)} · {_fmt(plan.summary.total_volume_ul)} µL · "
        f"{_fmt(plan.spacing_mm)} mm apart · {plan.technique.replace('_', ' ')}"
    )
    shapes: list[Shape] = [
        Label((width / 2, 50 * scale), line1, 30 * scale, TEXT_COLOUR, "middle", bold=True),
        Label((width / 2, 92 * scale), line2, 25 * scale, TEXT_COLOUR, "middle"),
    ]
    if mix.contains_hyaluronic_acid:
        shapes.append(
            Label(
                (width / 2, 128 * scale),
                "Mix contains hyaluronic acid: vascular danger zones kept clear",
                22 * scale,
                DANGER_COLOUR,
                "middle",
                bold=True,
            )
        )
    return shapes


def _footer(
    plan: Plan,
    width: int,
    top: float,
    scale: float,
    mm_per_px: float | None,
    dangers: Sequence[tuple[DangerZone, DangerMargin]],
    colour: Mapping[str, str],
    product_name: str | None,
    view_notes: Sequence[str] = (),
    skin_scales: Sequence[ZoneSkinScale] = (),
) -> tuple[list[Shape], float]:
    shapes: list[Shape] = []
    x = 24 * scale
    size = 22 * scale
    line_h = 31 * scale
    chars = int((width - 2 * x) / _text_width("x", size))
    y = top + 34 * scale

    def text(line: str, colour_: str = TEXT_COLOUR, bold: bool = False, indent: float = 0) -> None:
        nonlocal y
        for part in _wrap(line, chars - int(indent / _text_width("x", size))):
            shapes.append(Label((x + indent, y), part, size, colour_, bold=bold))
            y += line_h

    # Legend: point symbol and danger swatch.
    shapes.append(CircleShape((x + 14 * scale, y - 7 * scale), 16 * scale, POINT_COLOUR))
    shapes.append(
        Label((x + 14 * scale, y - 1 * scale), "n", 17 * scale, "#FFFFFF", "middle", True)
    )
    word = _entries_word(plan).removesuffix("s").replace("entrie", "entry")
    shapes.append(Label((x + 40 * scale, y), f"{word} n · {_per_point(plan)}", size))
    swatch_x = x + width / 2
    shapes.append(
        PolygonShape(
            (
                (swatch_x, y - 18 * scale),
                (swatch_x + 30 * scale, y - 18 * scale),
                (swatch_x + 30 * scale, y + 4 * scale),
                (swatch_x, y + 4 * scale),
            ),
            DANGER_COLOUR,
            1.5 * scale,
            fill=DANGER_COLOUR,
            fill_opacity=0.28,
            dashed=True,
        )
    )
    shapes.append(Label((swatch_x + 40 * scale, y), "danger zone: keep the margin", size))
    y += line_h * 1.4

    # Per-zone table.
    for z in plan.summary.zones:
        shapes.append(
            PolygonShape(
                (
                    (x, y - 15 * scale),
                    (x + 18 * scale, y - 15 * scale),
                    (x + 18 * scale, y + 3 * scale),
                    (x, y + 3 * scale),
                ),
                colour[z.zone],
                1.5 * scale,
                fill=colour[z.zone],
                fill_opacity=0.5,
            )
        )
        area = f"{z.area_mm2:.0f} mm²"
        if z.treatable_area_mm2 is not None:
            area = f"{z.treatable_area_mm2:.0f} of {z.area_mm2:.0f} mm² clear"
        text(
            f"{ZONES[z.zone].name}: {z.points} {_entries_word(plan)} · {_units(z.units)} · "
            f"{_fmt(z.volume_ul)} µL · {area}",
            indent=28 * scale,
        )
    y += line_h * 0.3

    stock_name = f"stock ({product_name or plan.product})"
    draw = ", ".join(
        f"{_fmt(line.volume_ml, 3)} mL "
        + (stock_name if line.ingredient.startswith("stock:") else line.ingredient)
        for line in plan.summary.draw_up
    )
    vials = plan.summary.vials_needed
    text(
        f"Draw up: {draw} (with dead space) · {vials} vial{'s' if vials != 1 else ''} "
        f"of {_fmt(plan.mix.stock_vial_units)} U, {_units(plan.summary.units_left_in_vials)} left"
    )
    margins = "; ".join(
        f"{d.name.split(' (')[0]} ≥{_fmt(m.margin_mm.value)} mm [{m.margin_mm.tag.value}]"
        for d, m in dangers
    )
    text(f"Margins: {margins}", DANGER_COLOUR)
    y += line_h * 0.3

    text(
        "Distances and margins are on the skin, along the face's curve, not on this flat "
        "picture: sloping skin (forehead, sides of nose and cheeks) looks shorter here."
    )
    if mm_per_px:
        bar_px = 20.0 / mm_per_px
        shapes.extend(_bar((x, y), bar_px, 0.0, scale))
        shapes.append(
            Label((x + bar_px + 12 * scale, y + 6 * scale), "20 mm, flat, at the eyes", size)
        )
        y += line_h * 1.4
    if mm_per_px and skin_scales:
        text("Measure in a zone with its own bars: 10 mm on the skin, up and across the face")
        y += 4 * scale
        for zone_scale in skin_scales:
            up_px = 10.0 / mm_per_px * zone_scale.vertical
            across_px = 10.0 / mm_per_px * zone_scale.horizontal
            row_h = max(up_px, line_h)
            shapes.extend(_bar((x + 8 * scale, y - line_h * 0.8 + row_h), up_px, 90.0, scale))
            bar_y = y - line_h * 0.8 + row_h / 2
            shapes.extend(_bar((x + 30 * scale, bar_y), across_px, 0.0, scale))
            name = ZONES[zone_scale.zone].name
            shapes.append(
                Label(
                    (x + 44 * scale + across_px, bar_y + 7 * scale),
                    f"{name}: 10 mm on skin (picture {zone_scale.vertical:.0%} up, "
                    f"{zone_scale.horizontal:.0%} across)",
                    size,
                    darker(colour[zone_scale.zone]),
                )
            )
            y += row_h + 10 * scale
        y += line_h * 0.4

    citation = plan.protocol_citation or "none (parameters entered by hand)"
    text(f"Off-label intradermal use; protocol: {citation}", bold=True)
    for note in (*plan.notes, *view_notes):
        text(f"Note: {note}")
    return shapes, y


def _number_list(numbers: Sequence[int]) -> str:
    """``1-3, 7`` from [1, 2, 3, 7]."""
    parts: list[str] = []
    start = 0
    for k in range(1, len(numbers) + 1):
        if k == len(numbers) or numbers[k] != numbers[k - 1] + 1:
            run = numbers[start:k]
            parts.append(f"{run[0]}–{run[-1]}" if len(run) > 2 else ", ".join(map(str, run)))
            start = k
    return ", ".join(parts)


def _bar(start: Point, length: float, angle_deg: float, scale: float) -> list[Shape]:
    """A scale bar with end and middle ticks: along x (0°) or upwards from ``start`` (90°)."""
    x, y = start
    upright = angle_deg == 90.0
    end = (x, y - length) if upright else (x + length, y)
    shapes: list[Shape] = [LineShape(start, end, TEXT_COLOUR, 4 * scale)]
    tick = 8 * scale
    for k in (0.0, 0.5, 1.0):
        if upright:
            at = y - length * k
            shapes.append(LineShape((x - tick, at), (x + tick, at), TEXT_COLOUR, 2 * scale))
        else:
            at = x + length * k
            shapes.append(LineShape((at, y - tick), (at, y + tick), TEXT_COLOUR, 2 * scale))
    return shapes


def _wrap(text: str, width: int) -> list[str]:
    """Greedy word wrap to ``width`` characters.

    Examples
    --------
    >>> _wrap("one two three", 7)
    ['one two', 'three']
    """
    lines: list[str] = []
    current = ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        lines.append(current)
    return lines
