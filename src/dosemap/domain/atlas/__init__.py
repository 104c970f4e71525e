"""The metric face atlas: template mesh, zones, danger zones, mesh anchors.

Modules: ``mesh`` (the mesh, anchors), ``zones`` (treatment zones as landmark rings), ``danger``
(danger zones, margins, ``danger_zone_hits``), ``surface`` (frames, signed distances,
``anchor_point``), ``patch`` (a zone unrolled flat, for true on-skin spacing), ``extension``
(the forehead continued above the mesh, anchored on real landmarks), ``locate`` (which zone a
point placed by hand lies in).
"""

from __future__ import annotations

from dosemap.domain.atlas.danger import DANGER_ZONES, DangerHit, DangerZone, danger_zone_hits
from dosemap.domain.atlas.surface import anchor_point
from dosemap.domain.atlas.zones import ZONE_ORDER, ZONES, Zone, zone

__all__ = [
    "DANGER_ZONES",
    "ZONES",
    "ZONE_ORDER",
    "DangerHit",
    "DangerZone",
    "Zone",
    "anchor_point",
    "danger_zone_hits",
    "zone",
]
