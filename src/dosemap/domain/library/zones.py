"""Ids of the face zones that protocols and goals may name.

The atlas implements one polygon per id; the library validates names against this set.
"""

from __future__ import annotations

#: Every zone id, top of the face to the bottom, left before right: the order plans list them in.
ZONE_ORDER: tuple[str, ...] = (
    "forehead",
    "glabella",
    "temple_left",
    "temple_right",
    "crows_feet_left",
    "crows_feet_right",
    "infraorbital_left",
    "infraorbital_right",
    "nose",
    "medial_cheek_left",
    "medial_cheek_right",
    "lateral_cheek_left",
    "lateral_cheek_right",
    "perioral",
    "chin",
    "jawline_left",
    "jawline_right",
    "neck",
)

KNOWN_ZONES: frozenset[str] = frozenset(ZONE_ORDER)
