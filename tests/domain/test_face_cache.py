"""The planner's face cache: warm plans are the cold plans, keys separate what differs."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from dosemap.domain.atlas.mesh import FaceMesh
from dosemap.domain.atlas.zones import ZONE_ORDER
from dosemap.domain.plan import PlanRequest
from dosemap.domain.planning import build_plan
from dosemap.domain.planning import face_cache as cache_module
from dosemap.domain.planning.face_cache import (
    MAX_FACES,
    clear_face_caches,
    face_cache,
    mesh_digest,
)
from dosemap.domain.planning.layout import Clearance, clearances_for
from dosemap.resources import load_library, template_mesh

MESH = template_mesh()
LIBRARY = load_library()

REQUESTS = {
    "full face, hexagonal": PlanRequest(zones=ZONE_ORDER, protocol="diaspro_2020_grid"),
    "full face, stamp": PlanRequest(
        zones=ZONE_ORDER, protocol="diaspro_2020_grid", technique="multi_needle_device"
    ),
    "forehead above the mesh": PlanRequest(
        zones=("forehead",), protocol="kesty_2021_forehead_30", forehead_height_mm=Decimal(55)
    ),
    "HA mix, 6 mm": PlanRequest(
        zones=("glabella", "medial_cheek_left", "medial_cheek_right", "nose"),
        protocol="wu_microbotox_20",
        spacing_mm=Decimal(6),
        adjuncts={"ha_skin_booster": Decimal("0.5")},
        working_units_per_ml=Decimal(10),
    ),
}


def _bumped(mesh: FaceMesh, dx_mm: float) -> FaceMesh:
    """The same face with its left half shifted sideways: another patient's face."""
    vertices = mesh.vertices_mm.copy()
    vertices[vertices[:, 0] > 0, 0] += dx_mm
    return FaceMesh(vertices, mesh.triangles.copy())


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_a_warm_plan_is_the_cold_plan_byte_for_byte(name: str) -> None:
    request = REQUESTS[name]
    clear_face_caches()
    cold = build_plan(request, LIBRARY, MESH).model_dump_json()
    warm = build_plan(request, LIBRARY, MESH).model_dump_json()
    # A plan of other zones in between fills the cache with other placements.
    build_plan(PlanRequest(zones=("chin", "forehead"), protocol="diaspro_2020_grid"), LIBRARY, MESH)
    again = build_plan(request, LIBRARY, MESH).model_dump_json()
    assert warm == cold
    assert again == cold


def test_another_face_gets_its_own_entry_never_a_stale_one() -> None:
    request = REQUESTS["full face, hexagonal"]
    other = _bumped(MESH, 3.0)
    assert mesh_digest(other) != mesh_digest(MESH)
    build_plan(request, LIBRARY, MESH)  # template cached first
    on_other = build_plan(request, LIBRARY, other)
    clear_face_caches()
    assert build_plan(request, LIBRARY, other) == on_other
    assert on_other.points != build_plan(request, LIBRARY, MESH).points


def test_the_same_face_read_twice_shares_its_entry() -> None:
    copy = FaceMesh(MESH.vertices_mm.copy(), MESH.triangles.copy())
    assert face_cache(copy) is face_cache(MESH)


def test_other_margins_are_another_key() -> None:
    cache = face_cache(MESH)
    strict = clearances_for("forehead", False, cache.danger_outlines(), LIBRARY.margins_mm())
    loose = tuple(Clearance(c.danger_zone, c.outlines, c.margin_mm / 2) for c in strict)
    kwargs = {"hexagonal": True}
    tight = cache.candidate_source("forehead", None, clearances=strict, **kwargs)(8.0, (0.0, 0.0))
    wide = cache.candidate_source("forehead", None, clearances=loose, **kwargs)(8.0, (0.0, 0.0))
    assert len(wide.positions_mm) > len(tight.positions_mm)
    square = cache.candidate_source("forehead", None, hexagonal=False, clearances=strict)
    assert not np.array_equal(square(8.0, (0.0, 0.0)).uv, tight.uv)
    assert cache.treatable_area_mm2("forehead", None, loose) > cache.treatable_area_mm2(
        "forehead", None, strict
    )


def test_cached_arrays_cannot_be_changed_by_a_caller() -> None:
    cache = face_cache(MESH)
    clearances = clearances_for("chin", False, cache.danger_outlines(), LIBRARY.margins_mm())
    found = cache.candidate_source("chin", None, hexagonal=True, clearances=clearances)(
        10.0, (0.25, 0.5)
    )
    with pytest.raises(ValueError, match="read-only"):
        found.positions_mm[0, 0] = 0.0


def test_at_most_max_faces_are_kept_the_least_recent_dropped() -> None:
    clear_face_caches()
    template = face_cache(MESH)
    for k in range(MAX_FACES):
        face_cache(_bumped(MESH, 0.1 * (k + 1)))
        face_cache(MESH)  # the template stays the most recently used
    assert len(cache_module._FACES) == MAX_FACES
    assert face_cache(MESH) is template
    assert mesh_digest(_bumped(MESH, 0.1)) not in cache_module._FACES
