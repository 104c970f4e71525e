"""Which zone a point on the face lies in, for a point placed or moved by hand.

A zone is its outline on the face (:func:`~dosemap.domain.atlas.extension.zone_outline`, the
extended forehead's included), and a point's distance to it is measured as the safety check's
zone-label rule (DM407) measures it: chords from the outline's edge on the face, negative inside.
So the zone chosen here is one that rule accepts, and a point left in no zone is one it blocks.

The choice, for a point now labelled ``current``:

1. a zone whose outline holds the point: ``current`` if it does (a point moved within its zone
   keeps it), else the one it lies deepest in (atlas order breaks ties);
2. else a zone within the tolerance (points near a shared edge): ``current`` first, else the
   nearest;
3. else none: the point is outside every zone (``None``). The caller keeps the point and its
   label, so every rule still judges it, and DM407 blocks until it is moved into a zone. A point
   added outside every zone has no label yet: it is labelled with the zone it is nearest
   (:func:`nearest_zone`), farther than the tolerance, so DM407 blocks it the same way.

A point being added has no ``current`` zone (``None``): rule 1 takes the zone it lies deepest
in, rule 2 the nearest within the tolerance.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal

import numpy as np
from numpy.typing import NDArray

from dosemap.domain.atlas.extension import zone_corners
from dosemap.domain.atlas.mesh import FaceMesh, resolve_anchors
from dosemap.domain.atlas.surface import Outline
from dosemap.domain.atlas.zones import ZONE_ORDER
from dosemap.domain.plan import MeshAnchor

FloatArray = NDArray[np.float64]


def zone_distances(
    mesh: FaceMesh,
    positions_mm: FloatArray,
    forehead_height_mm: Decimal | None,
    zone_ids: Sequence[str] = ZONE_ORDER,
) -> dict[str, FloatArray]:
    """Zone id -> each point's signed distance (mm) to the zone's outline, negative inside."""
    points = np.asarray(positions_mm, dtype=np.float64).reshape(-1, 3)
    found: dict[str, FloatArray] = {}
    for zone_id in zone_ids:
        corners = zone_corners(mesh, zone_id, forehead_height_mm)
        found[zone_id] = Outline.from_corners(corners).signed_distances(points)
    return found


def _nearest_first(distances: Mapping[str, float]) -> Callable[[str], tuple[float, int, str]]:
    rank = {z: k for k, z in enumerate(ZONE_ORDER)}

    def order(zone_id: str) -> tuple[float, int, str]:
        return (distances[zone_id], rank.get(zone_id, len(rank)), zone_id)

    return order


def choose_zone(
    distances: Mapping[str, float], current: str | None, tolerance_mm: float
) -> str | None:
    """The zone a point belongs to from its distances (see the module docstring); ``None``
    when it is farther than ``tolerance_mm`` outside every zone. ``current``: the point's zone
    now (``None`` for a point being added)."""
    order = _nearest_first(distances)
    for limit in (0.0, tolerance_mm):
        holding = [z for z, d in distances.items() if d <= limit]
        if current in holding:
            return current
        if holding:
            return min(holding, key=order)
    return None


def nearest_zone(distances: Mapping[str, float]) -> str:
    """The zone nearest a point (deepest inside, else least outside; atlas order breaks ties)."""
    return min(distances, key=_nearest_first(distances))


def distances_at(
    mesh: FaceMesh, anchor: MeshAnchor, forehead_height_mm: Decimal | None
) -> dict[str, float]:
    """Zone id -> the signed distance (mm) of the point at ``anchor`` to the zone's outline."""
    distances = zone_distances(
        mesh, resolve_anchors([anchor], mesh.vertices_mm), forehead_height_mm
    )
    return {z: float(d[0]) for z, d in distances.items()}


def locate_zone(
    mesh: FaceMesh,
    anchor: MeshAnchor,
    *,
    current: str | None,
    forehead_height_mm: Decimal | None,
    tolerance_mm: Decimal,
) -> str | None:
    """The zone the point at ``anchor`` lies in (see the module docstring)."""
    distances = distances_at(mesh, anchor, forehead_height_mm)
    return choose_zone(distances, current, float(tolerance_mm))
