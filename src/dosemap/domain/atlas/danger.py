"""Danger zones: outlines on the face that droplets keep a cited distance away from.

Each danger zone is a set of landmark outlines (one per side, or one on the midline), a margin in
millimetres with its source and evidence tag, the treatment zones the rule governs, and whether
it applies only to a mix containing hyaluronic acid (vascular-occlusion areas, clinical.md §4.2).
Distances are measured on the face (see :mod:`dosemap.domain.atlas.surface`) from the outline's
edge; a point inside the outline has a negative distance.

The margins, their sources, evidence tags and grades (hard / band) are library data
(``60_safety.toml``, ``[danger_margins.<id>]``), clinic-overridable; this module holds only
the geometry and which treatment zones each rule governs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

import numpy as np

from dosemap.domain.atlas.mesh import FaceMesh, FloatArray, resolve_anchors
from dosemap.domain.atlas.surface import Outline
from dosemap.domain.atlas.zones import ZONES, mirror_ring
from dosemap.domain.plan import Plan


@dataclass(frozen=True)
class DangerZone:
    """An area droplets keep a margin away from (the margin is library data:
    ``[danger_margins.<id>]``, see :data:`Margins`).

    ``applies_to`` lists the treatment zones the rule governs (``None``: every zone).
    """

    id: str
    name: str
    rings: tuple[tuple[int, ...], ...]
    rule: str
    applies_to: tuple[str, ...] | None = None
    requires_ha: bool = False

    def governs(self, zone_id: str, mix_contains_ha: bool) -> bool:
        """Whether this rule applies to a point in ``zone_id`` for such a mix."""
        if self.requires_ha and not mix_contains_ha:
            return False
        return self.applies_to is None or zone_id in self.applies_to


def _both(left: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
    return (left, mirror_ring(left))


_BROW = (336, 296, 334, 293, 300, 276, 283, 282, 295, 285)
_CENTRAL_BROW = (296, 334, 282, 295)
_ORBIT = (413, 441, 442, 443, 444, 445, 342, 446, 261, 448, 449, 450, 451, 452, 453, 464)
_EYELIDS = (263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249)
_LIPS = (0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146, 61, 185, 40, 39, 37)
_NOSTRIL = (457, 438, 439, 455, 460, 328, 462, 461, 458)
_MODIOLUS = (410, 436, 432, 422, 287)
_MEDIAL_CANTHUS = (413, 441, 414, 398, 362, 382, 341, 453, 464)
_NASOLABIAL_FOLD = (327, 423, 426, 436, 432, 287, 410, 322, 391)

_UPPER_FACE = ("forehead", "glabella", "temple_left", "temple_right")
_EYE_SURROUND = ("crows_feet_left", "crows_feet_right", "infraorbital_left", "infraorbital_right")
_LOWER_FACE = (
    "medial_cheek_left",
    "medial_cheek_right",
    "lateral_cheek_left",
    "lateral_cheek_right",
    "perioral",
    "chin",
    "jawline_left",
    "jawline_right",
)


_ALL: tuple[DangerZone, ...] = (
    DangerZone(
        "brow",
        "eyebrows",
        _both(_BROW),
        "forehead droplets kept the margin above the brow (brow ptosis)",
        applies_to=("forehead",),
    ),
    DangerZone(
        "central_brow",
        "central eyebrow",
        _both(_CENTRAL_BROW),
        "glabellar droplets kept the margin from the central brow (lid and brow ptosis)",
        applies_to=("glabella",),
    ),
    DangerZone(
        "orbital_rim",
        "orbital rim",
        _both(_ORBIT),
        "upper-face droplets kept the margin outside the orbital rim (eyelid ptosis)",
        applies_to=_UPPER_FACE,
    ),
    DangerZone(
        "orbital_rim_lower_lateral",
        "orbital rim (lateral and lower)",
        _both(_ORBIT),
        "crow's-feet and infraorbital droplets outside the orbital rim (lower-lid weakness, "
        "ectropion, diplopia)",
        applies_to=_EYE_SURROUND,
    ),
    DangerZone(
        "lateral_canthus",
        "lateral canthus",
        _both(_EYELIDS),
        "crow's-feet droplets kept temporal to the lateral canthus, clear of the lids (the "
        "label's lateral-canthus distance)",
        applies_to=("crows_feet_left", "crows_feet_right"),
    ),
    DangerZone(
        "eyelids",
        "eyelids",
        _both(_EYELIDS),
        "no droplet within the margin of the lid margin (levator and orbicularis spread)",
    ),
    DangerZone(
        "lips",
        "lips (vermilion)",
        (_LIPS,),
        "no droplet in the vermilion or within its margin (orbicularis oris, labial arteries)",
    ),
    DangerZone(
        "nostrils",
        "nostrils",
        _both(_NOSTRIL),
        "no droplet in a nostril or within its margin",
    ),
    DangerZone(
        "smile_muscles",
        "modiolus (zygomaticus, risorius, depressor insertions)",
        _both(_MODIOLUS),
        "lower-face droplets kept the margin from the modiolus (smile asymmetry)",
        applies_to=_LOWER_FACE,
    ),
    DangerZone(
        "ha_glabella",
        "glabella (HA: blindness risk)",
        (ZONES["glabella"].ring,),
        "no hyaluronic-acid mix in the glabella (supratrochlear, supraorbital arteries)",
        requires_ha=True,
    ),
    DangerZone(
        "ha_nose",
        "nose (HA)",
        (ZONES["nose"].ring,),
        "no hyaluronic-acid mix on the nose (dorsal nasal, angular arteries)",
        requires_ha=True,
    ),
    DangerZone(
        "ha_medial_canthus",
        "medial canthus (HA)",
        _both(_MEDIAL_CANTHUS),
        "no hyaluronic-acid mix near the medial canthus (angular-ophthalmic link)",
        requires_ha=True,
    ),
    DangerZone(
        "ha_nasolabial_fold",
        "nasolabial fold (HA)",
        _both(_NASOLABIAL_FOLD),
        "no hyaluronic-acid mix near the nasolabial fold (facial, angular arteries)",
        requires_ha=True,
    ),
    DangerZone(
        "ha_temple",
        "temple (HA)",
        (ZONES["temple_left"].ring, ZONES["temple_right"].ring),
        "no hyaluronic-acid mix in the temple (superficial temporal artery)",
        requires_ha=True,
    ),
    DangerZone(
        "ha_infraorbital",
        "infraorbital / tear trough (HA)",
        (ZONES["infraorbital_left"].ring, ZONES["infraorbital_right"].ring),
        "no hyaluronic-acid mix in the infraorbital area (infraorbital, angular branches)",
        requires_ha=True,
    ),
)

#: Every danger zone by id.
DANGER_ZONES: Mapping[str, DangerZone] = MappingProxyType({d.id: d for d in _ALL})

Margins = Mapping[str, Decimal]
"""Danger-zone id -> margin in mm: the library's ``danger_margins`` (``Library.margins_mm()``),
the same figures for the planner and the checker."""


def margin_of(danger: DangerZone, margins: Margins) -> Decimal:
    """The margin of ``danger``; a library without it is a programming error, said plainly."""
    try:
        return margins[danger.id]
    except KeyError:
        raise KeyError(f"no margin for danger zone {danger.id!r} in the library") from None


@dataclass(frozen=True)
class DangerHit:
    """A planned point too close to (or inside) a danger zone that governs it.

    ``distance_mm`` is measured from the danger outline's edge, negative inside it; the point
    breaks the rule when ``distance_mm < margin_mm``.
    """

    point: int
    danger_zone: str
    distance_mm: float
    margin_mm: Decimal
    because_of_ha: bool


def outlines(danger: DangerZone, landmarks_mm: FloatArray) -> tuple[Outline, ...]:
    """The danger zone's outlines on a landmark set (N×3, mm)."""
    return tuple(Outline.from_corners(landmarks_mm[list(ring)]) for ring in danger.rings)


def signed_distances(
    danger: DangerZone, landmarks_mm: FloatArray, points: FloatArray
) -> FloatArray:
    """Signed distance (mm) of each surface point (K×3) to the nearest outline of ``danger``."""
    parts = [outline.signed_distances(points) for outline in outlines(danger, landmarks_mm)]
    result: FloatArray = np.min(np.vstack(parts), axis=0)
    return result


def distances_below(
    danger: DangerZone, landmarks_mm: FloatArray, points: FloatArray, limit_mm: float
) -> FloatArray:
    """:func:`signed_distances` where it is below ``limit_mm``, ``+inf`` elsewhere (see
    :meth:`~dosemap.domain.atlas.surface.Outline.signed_distances_below`): the nearest outline's
    distance is below the limit only when it is, so the minimum is the same."""
    parts = [
        outline.signed_distances_below(points, limit_mm)
        for outline in outlines(danger, landmarks_mm)
    ]
    result: FloatArray = np.min(np.vstack(parts), axis=0)
    return result


def danger_zone_hits(
    plan: Plan,
    mesh: FaceMesh,
    margins: Margins,
    *,
    within_mm: float = 0.0,
    tolerance_mm: Decimal = Decimal(0),
) -> list[DangerHit]:
    """Points of ``plan`` that break (or come within ``within_mm`` of breaking) a danger rule.

    How distances are measured (the planner keeps its points clear the same way): from the
    danger outline's edge to the point, both on the face surface, as a straight (chord) distance
    in 3D (:meth:`~dosemap.domain.atlas.surface.Outline.signed_distances`), negative inside. A
    point breaks the rule when its distance is below ``margin - tolerance_mm``: the tolerance
    absorbs position rounding (0.01 mm) and the model's own imprecision, so that a point the
    planner placed at the margin never trips the check.

    Points are placed on ``mesh`` through their anchors, so the check holds on any face of the
    MediaPipe topology (the template, a patient's fitted mesh). HA-only zones count only when the
    plan's mix contains hyaluronic acid.

    Returns
    -------
    list[DangerHit]
        Ordered by point number, then danger-zone id.
    """
    if not plan.points:
        return []
    positions = resolve_anchors([p.anchor for p in plan.points], mesh.vertices_mm)
    has_ha = plan.mix.contains_hyaluronic_acid
    zones = [p.zone for p in plan.points]
    distinct = set(zones)
    hits: list[DangerHit] = []
    for danger in sorted(DANGER_ZONES.values(), key=lambda d: d.id):
        governs = {z: danger.governs(z, has_ha) for z in distinct}
        governed = [i for i, z in enumerate(zones) if governs[z]]
        if not governed:
            continue
        margin = margin_of(danger, margins)
        limit = float(margin - tolerance_mm) + within_mm
        dist = distances_below(danger, mesh.vertices_mm, positions[governed], limit)
        for index, d in zip(governed, dist.tolist(), strict=True):
            if d < limit:
                hits.append(
                    DangerHit(
                        point=plan.points[index].number,
                        danger_zone=danger.id,
                        distance_mm=round(d, 2),
                        margin_mm=margin,
                        because_of_ha=danger.requires_ha,
                    )
                )
    hits.sort(key=lambda h: (h.point, h.danger_zone))
    return hits
