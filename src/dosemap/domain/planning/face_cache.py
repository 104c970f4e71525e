"""What planning computes from the face alone, kept between plans.

Unrolling a zone (stress majorisation), lifting 16 lattice placements onto the skin and clipping
them against the danger margins cost ~95 % of a full-face plan, and none of it depends on the
dose, the mix or the other zones: only on the face mesh, the zone (and the forehead height), the
lattice pitch, kind and offset, and the governing danger zones with their margins. Those are the
keys here, so a change of any of them (a clinic's own margins, a protocol's lattice kind) is a
different entry, never a stale one.

Still pure: an entry is a function of its key, the arrays are read-only, and a plan built from
the cache is byte for byte the plan built without it. The mesh is keyed by a digest of its
vertices and triangles, so the same face read twice shares an entry and a different face never
does. At most :data:`MAX_FACES` faces are kept (least recently used dropped first); a face keeps
at most :data:`MAX_ENTRIES` lattice placements (oldest dropped first).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar

import numpy as np

from dosemap.domain.atlas.extension import mesh_top_height_mm, planning_patch
from dosemap.domain.atlas.mesh import FaceMesh
from dosemap.domain.atlas.patch import ZonePatch
from dosemap.domain.atlas.surface import Outline
from dosemap.domain.planning.layout import (
    Candidates,
    CandidateSource,
    Clearance,
    clear_candidates,
    danger_outlines,
    treatable_area_mm2,
)

#: Faces kept: the template plus a few patients' photos open in the clinic at once.
MAX_FACES = 8
#: Lattice placements kept per face (17 zones × 16 offsets × a few pitches and margin sets).
MAX_ENTRIES = 4096

_K = TypeVar("_K")
_V = TypeVar("_V")
ClearanceKey = tuple[tuple[str, float], ...]


def clearance_key(clearances: tuple[Clearance, ...]) -> ClearanceKey:
    """The governing danger zones and their margins: what the clipping depends on."""
    return tuple((c.danger_zone, c.margin_mm) for c in clearances)


def mesh_digest(mesh: FaceMesh) -> str:
    """A digest of the face's vertices and triangles (shape, dtype and bytes)."""
    digest = hashlib.blake2b(digest_size=16)
    for array in (mesh.vertices_mm, mesh.triangles):
        digest.update(f"{array.shape}{array.dtype}".encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def _frozen(candidates: Candidates) -> Candidates:
    for array in (
        candidates.uv,
        candidates.positions_mm,
        candidates.vertices,
        candidates.weights,
        candidates.rows,
    ):
        array.setflags(write=False)
    return candidates


@dataclass(eq=False)
class FaceCache:
    """Everything cached for one face mesh."""

    mesh: FaceMesh
    _outlines: dict[str, tuple[Outline, ...]] | None = None
    _top_mm: float | None = None
    _patches: dict[tuple[str, Decimal | None], ZonePatch] = field(default_factory=dict)
    _areas: dict[Hashable, float] = field(default_factory=dict)
    _candidates: OrderedDict[Hashable, Candidates] = field(default_factory=OrderedDict)

    def danger_outlines(self) -> dict[str, tuple[Outline, ...]]:
        """Every danger zone's outlines on this face (a copy of the cached mapping)."""
        if self._outlines is None:
            self._outlines = danger_outlines(self.mesh)
        return dict(self._outlines)

    def mesh_top_height_mm(self) -> float:
        """How far the mesh's top at the midline is above the brows."""
        if self._top_mm is None:
            self._top_mm = mesh_top_height_mm(self.mesh)
        return self._top_mm

    def patch(self, zone_id: str, forehead_height_mm: Decimal | None) -> ZonePatch:
        """The zone unrolled as the planner lays points in it."""
        key = (zone_id, forehead_height_mm if zone_id == "forehead" else None)
        found = self._patches.get(key)
        if found is None:
            found = planning_patch(self.mesh, zone_id, key[1])
            self._patches[key] = found
        return found

    def treatable_area_mm2(
        self, zone_id: str, forehead_height_mm: Decimal | None, clearances: tuple[Clearance, ...]
    ) -> float:
        """The zone's area left once the governing danger margins are taken out."""
        patch = self.patch(zone_id, forehead_height_mm)
        key = (zone_id, forehead_height_mm, clearance_key(clearances))
        found = self._areas.get(key)
        if found is None:
            found = treatable_area_mm2(patch, clearances)
            self._areas[key] = found
        return found

    def candidate_source(
        self,
        zone_id: str,
        forehead_height_mm: Decimal | None,
        *,
        hexagonal: bool,
        clearances: tuple[Clearance, ...],
    ) -> CandidateSource:
        """The clear lattice placements of one zone, computed once per pitch and offset."""
        patch = self.patch(zone_id, forehead_height_mm)
        fixed = (zone_id, forehead_height_mm, hexagonal, clearance_key(clearances))

        def source(pitch_mm: float, offset: tuple[float, float]) -> Candidates:
            key = (*fixed, pitch_mm, offset)
            found = self._candidates.get(key)
            if found is None:
                found = _frozen(
                    clear_candidates(
                        patch, pitch_mm, hexagonal=hexagonal, offset=offset, clearances=clearances
                    )
                )
                self._candidates[key] = found
                _trim(self._candidates, MAX_ENTRIES)
            return found

        return source


_FACES: OrderedDict[str, FaceCache] = OrderedDict()


def face_cache(mesh: FaceMesh) -> FaceCache:
    """The cache of ``mesh`` (by content), the most recently used kept longest."""
    key = mesh_digest(mesh)
    # Pop and put back (each one atomic): safe when web requests plan on several threads.
    found = _FACES.pop(key, None) or FaceCache(mesh)
    _FACES[key] = found
    _trim(_FACES, MAX_FACES)
    return found


def _trim(entries: OrderedDict[_K, _V], limit: int) -> None:
    """Drop the oldest entries beyond ``limit`` (another thread may be trimming too)."""
    while len(entries) > limit:
        try:
            entries.popitem(last=False)
        except KeyError:
            return


def clear_face_caches() -> None:
    """Forget every cached face (tests comparing cold and warm plans)."""
    _FACES.clear()
