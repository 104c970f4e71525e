"""Treatment zones of the metric face atlas, as rings of Face Mesh landmark indices.

A zone is a closed polygon whose corners are landmarks, so the same zone lands on the template
face, on a photo's landmarks and on the next visit's landmarks without re-drawing. Paired zones
are written once for the patient's LEFT side (x > 0) and mirrored through
:data:`~dosemap.domain.atlas._mirror.MIRROR`.

The rings were picked by drawing the canonical mesh with its indices and the zones over it
(``dosemap plan --png`` draws them too). They leave deliberate gaps: the nasolabial fold, the
eyelids, the lips' vermilion and the nostrils belong to no zone.

``neck`` is in the library's zone list, but the canonical face mesh stops at the chin and the
mandible: there is no neck to draw a polygon on, so the atlas refuses it
(:func:`zone` raises) instead of inventing one.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from dosemap.domain.atlas._mirror import MIRROR
from dosemap.domain.errors import InvalidInputError, UnknownNameError
from dosemap.domain.library.zones import ZONE_ORDER as LIBRARY_ZONE_ORDER


@dataclass(frozen=True)
class Zone:
    """A treatment zone: id, display name, and its outline as a ring of landmark indices.

    ``ring`` is ordered around the outline and not closed (the last corner joins the first).
    ``side`` is ``"left"``/``"right"`` for the patient's side, ``None`` on the midline.
    """

    id: str
    name: str
    ring: tuple[int, ...]
    side: str | None = None


def mirror_ring(ring: tuple[int, ...]) -> tuple[int, ...]:
    """The mirror image of a ring, reversed so it keeps its orientation.

    Examples
    --------
    >>> mirror_ring((263, 362, 374))
    (145, 133, 33)
    """
    return tuple(MIRROR[i] for i in reversed(ring))


def _symmetric(half: tuple[int, ...]) -> tuple[int, ...]:
    """Close a midline ring given as: top midline landmark, left half, bottom midline landmark."""
    inner = half[1:-1]
    return half + tuple(MIRROR[i] for i in reversed(inner))


# Left-side (patient's left, x > 0) rings. Numbers are MediaPipe Face Mesh landmarks.
_LEFT: dict[str, tuple[str, tuple[int, ...]]] = {
    "temple": ("temple", (298, 332, 284, 251, 389, 368, 383, 300, 293)),
    "crows_feet": ("crow's feet", (342, 353, 383, 368, 264, 447, 345, 340, 446)),
    "infraorbital": (
        "infraorbital",
        (464, 453, 452, 451, 450, 449, 448, 261, 446, 340, 346, 347, 348, 349, 350, 357, 465),
    ),
    "medial_cheek": (
        "medial cheek",
        (343, 357, 350, 349, 348, 347, 280, 425, 266, 371, 429, 420, 437),
    ),
    "lateral_cheek": (
        "lateral cheek",
        (347, 346, 340, 345, 447, 366, 401, 435, 416, 434, 427, 425, 280),
    ),
    "jawline": ("jawline", (432, 434, 416, 435, 288, 397, 365, 379, 378, 395, 431, 422)),
}

# Midline rings: top midline landmark, the left half, bottom midline landmark.
_MIDLINE: dict[str, tuple[str, tuple[int, ...]]] = {
    "forehead": ("forehead", (10, 338, 297, 332, 298, 293, 334, 296, 336, 9)),
    "glabella": ("glabella", (9, 336, 285, 417, 168)),
    "nose": ("nose", (168, 417, 465, 343, 437, 420, 429, 358, 327, 326, 2)),
    "perioral": ("perioral", (2, 326, 327, 391, 322, 410, 287, 422, 424, 406, 313, 18)),
    "chin": ("chin", (18, 313, 406, 424, 431, 395, 369, 400, 377, 152)),
}

#: Zones the library knows but the template mesh cannot hold, with the reason.
UNSUPPORTED_ZONES: MappingProxyType[str, str] = MappingProxyType(
    {
        "neck": (
            "the canonical face mesh ends at the jawline and has no neck; plan the neck by hand "
            "(the library's neck caps still apply)"
        ),
    }
)


def _build() -> dict[str, Zone]:
    zones: dict[str, Zone] = {}
    for zone_id, (name, half) in _MIDLINE.items():
        zones[zone_id] = Zone(zone_id, name, _symmetric(half))
    for stem, (name, ring) in _LEFT.items():
        zones[f"{stem}_left"] = Zone(f"{stem}_left", f"{name} (left)", ring, "left")
        zones[f"{stem}_right"] = Zone(
            f"{stem}_right", f"{name} (right)", mirror_ring(ring), "right"
        )
    return dict(sorted(zones.items()))


#: Every atlas zone by id, in id order.
ZONES: MappingProxyType[str, Zone] = MappingProxyType(_build())

#: Zone ids the template holds, in the order a plan lists them (the library's order).
ZONE_ORDER: tuple[str, ...] = tuple(z for z in LIBRARY_ZONE_ORDER if z not in UNSUPPORTED_ZONES)


def zone(zone_id: str, field: str = "zone") -> Zone:
    """The atlas zone ``zone_id``.

    Raises
    ------
    InvalidInputError
        ``zone_id`` is a known zone the template cannot hold (``neck``), with the reason.
    UnknownNameError
        ``zone_id`` is not a zone at all.
    """
    if zone_id in UNSUPPORTED_ZONES:
        raise InvalidInputError(
            field, f"{zone_id!r} is not in the face atlas: {UNSUPPORTED_ZONES[zone_id]}"
        )
    try:
        return ZONES[zone_id]
    except KeyError:
        raise UnknownNameError(field, zone_id, ZONES.keys()) from None
