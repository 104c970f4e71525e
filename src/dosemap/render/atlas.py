"""A picture of the face atlas itself: every zone, every danger zone, optionally the landmarks.

For checking the atlas by eye: on the template (``template_projection``) or on a photo's
landmarks, to see that zones sit where an injector expects them.
"""

from __future__ import annotations

from dosemap.domain.atlas.danger import DANGER_ZONES
from dosemap.domain.atlas.zones import ZONE_ORDER, ZONES
from dosemap.render.scene import (
    CONTEXT_COLOUR,
    DANGER_COLOUR,
    FACE_OVAL,
    ZONE_COLOURS,
    FloatArray,
    Label,
    Layer,
    PolygonShape,
    Scene,
    Shape,
    darker,
)

HA_COLOUR = "#7B3FA0"


def _ring(landmarks: FloatArray, ring: tuple[int, ...]) -> tuple[tuple[float, float], ...]:
    return tuple((float(x), float(y)) for x, y in landmarks[list(ring)])


def _centre(points: tuple[tuple[float, float], ...]) -> tuple[float, float]:
    return (
        sum(p[0] for p in points) / len(points),
        sum(p[1] for p in points) / len(points),
    )


def build_atlas_scene(
    landmarks_2d: FloatArray,
    *,
    image_size: tuple[int, int],
    indices: bool = False,
    scale: float = 1.0,
) -> Scene:
    """Zones (tinted, named), danger zones (red; HA-only ones purple) and landmark numbers.

    Parameters
    ----------
    landmarks_2d
        N×2 landmark positions in pixels (x right, y down).
    image_size
        (width, height) of the face image in pixels.
    indices
        Also write every landmark's index (small), for choosing zone corners.
    scale
        Size factor for text and lines.
    """
    zones: list[Shape] = [PolygonShape(_ring(landmarks_2d, FACE_OVAL), CONTEXT_COLOUR, 1.5 * scale)]
    labels: list[Shape] = []
    for k, zone_id in enumerate(ZONE_ORDER):
        pts = _ring(landmarks_2d, ZONES[zone_id].ring)
        colour = ZONE_COLOURS[k % len(ZONE_COLOURS)]
        zones.append(PolygonShape(pts, colour, 2 * scale, fill=colour, fill_opacity=0.25))
        labels.append(
            Label(_centre(pts), zone_id, 13 * scale, darker(colour), "middle", True, True)
        )
    danger: list[Shape] = []
    for d in sorted(DANGER_ZONES.values(), key=lambda d: (d.requires_ha, d.id)):
        colour = HA_COLOUR if d.requires_ha else DANGER_COLOUR
        for ring in d.rings:
            pts = _ring(landmarks_2d, ring)
            danger.append(
                PolygonShape(
                    pts, colour, 1.5 * scale, fill=colour, fill_opacity=0.12, dashed=d.requires_ha
                )
            )
    numbers: list[Shape] = []
    if indices:
        for i, (x, y) in enumerate(landmarks_2d.tolist()):
            numbers.append(Label((x, y), str(i), 8 * scale, "#333333", "middle"))
    width, height = image_size
    return Scene(
        width=width,
        height=height,
        image_box=(0, 0, width, height),
        layers=(
            Layer("zones", tuple(zones)),
            Layer("danger", tuple(danger)),
            Layer("landmarks", tuple(numbers)),
            Layer("labels", tuple(labels)),
        ),
        title="dosemap face atlas",
    )
