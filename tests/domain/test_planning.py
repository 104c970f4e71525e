"""The microdroplet planner: exact totals, true on-skin spacing, danger margins, determinism."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dosemap.domain import dosing
from dosemap.domain.atlas.danger import DANGER_ZONES, danger_zone_hits, signed_distances
from dosemap.domain.atlas.mesh import resolve_anchors
from dosemap.domain.atlas.zones import ZONE_ORDER
from dosemap.domain.errors import InvalidInputError, UnknownNameError
from dosemap.domain.plan import MeshAnchor, Plan, PlanRequest
from dosemap.domain.planning import build_plan
from dosemap.resources import load_library, template_mesh

MESH = template_mesh()
LIBRARY = load_library()
MARGINS = LIBRARY.margins_mm()
#: Positions are rounded to 0.01 mm: two points can lose up to 0.0142 mm of their distance.
ROUNDING_TOLERANCE_MM = 0.015

FACE = ("forehead", "medial_cheek_left", "medial_cheek_right", "lateral_cheek_left",
        "lateral_cheek_right")  # fmt: skip


def _plan(**fields: object) -> Plan:
    request = PlanRequest.model_validate({"protocol": "diaspro_2020_grid", **fields})
    return build_plan(request, LIBRARY, MESH)


def _min_distance(plan: Plan) -> float:
    pos = np.array([p.position_mm for p in plan.points])
    dist = np.linalg.norm(pos[:, None] - pos[None], axis=2)
    dist[np.diag_indices(len(pos))] = np.inf
    return float(dist.min())


requests = st.fixed_dictionaries(
    {
        "zones": st.lists(st.sampled_from(ZONE_ORDER), min_size=1, max_size=4, unique=True).map(
            tuple
        ),
        "spacing_mm": st.integers(70, 160).map(lambda t: Decimal(t) / 10),
        "volume_per_point_ul": st.integers(5, 50).map(Decimal),
        "mix": st.sampled_from(
            [
                {},
                {"adjuncts": {"lidocaine": Decimal("0.1")}, "working_units_per_ml": Decimal(16)},
                {"adjuncts": {"ha_skin_booster": Decimal("0.5")}, "working_units_per_ml": 10},
                {"technique": "multi_needle_device"},
            ]
        ),
    }
).map(lambda f: {**{k: v for k, v in f.items() if k != "mix"}, **f["mix"]})


class TestProperties:
    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(fields=requests)
    def test_plan_properties(self, fields):
        try:
            plan = _plan(**fields)
        except InvalidInputError as exc:  # every zone emptied by its danger margins
            assert "no point fits" in str(exc)
            return
        points = plan.points
        # Units and volumes: the totals are the exact sums of the points.
        assert sum((p.units for p in points), Decimal(0)) == plan.summary.total_units
        assert sum((p.volume_ul for p in points), Decimal(0)) == plan.summary.total_volume_ul
        assert sum((z.units for z in plan.summary.zones), Decimal(0)) == plan.summary.total_units
        for p in points:
            assert p.units == dosing.units_for_volume(p.volume_ul, plan.mix.units_per_ml)
        # Spacing is a floor on the skin (3D chord ≤ geodesic, so the chord is checked).
        if len(points) > 1:
            assert _min_distance(plan) >= float(fields["spacing_mm"]) - ROUNDING_TOLERANCE_MM
        # No point inside a danger zone or its margin.
        assert danger_zone_hits(plan, MESH, MARGINS) == []
        # Anchors and positions agree.
        resolved = resolve_anchors([p.anchor for p in points], MESH.vertices_mm)
        assert np.allclose(resolved, [p.position_mm for p in points], atol=0.01)
        # Determinism: the same request gives the same file, byte for byte.
        assert _plan(**fields).model_dump_json() == plan.model_dump_json()


class TestFullFace:
    def test_forehead_and_cheeks_at_1_cm_is_50_to_100_entries(self):
        plan = _plan(zones=FACE, spacing_mm=Decimal(10))
        assert 50 <= plan.summary.needle_entries <= 100
        counts = {z.zone: z.points for z in plan.summary.zones}
        assert counts["medial_cheek_left"] == counts["medial_cheek_right"] > 0
        assert counts["lateral_cheek_left"] == counts["lateral_cheek_right"] > 0

    def test_forehead_stays_20_mm_above_the_brows(self):
        plan = _plan(zones=("forehead",))
        forehead = np.array([p.position_mm for p in plan.points])
        brow = signed_distances(DANGER_ZONES["brow"], MESH.vertices_mm, forehead)
        assert brow.min() >= 20.0
        # The template's forehead stops at landmark 10, well below a real hairline: said so.
        assert forehead[:, 1].max() <= MESH.vertices_mm[10, 1]
        assert any("landmark 10" in note for note in plan.notes)

    def test_points_are_numbered_in_order_top_row_first(self):
        plan = _plan(zones=("forehead",))
        assert [p.number for p in plan.points] == list(range(1, len(plan.points) + 1))
        heights = [p.position_mm[1] for p in plan.points]
        assert heights[0] >= heights[-1]


class TestRequests:
    def test_goals_give_their_zones_and_the_neck_is_a_note(self):
        plan = build_plan(
            PlanRequest(protocol="wu_microbotox_24"), LIBRARY, MESH
        )  # the preset lists the neck
        assert "neck" not in {z.zone for z in plan.summary.zones}
        assert any(note.startswith("neck left out") for note in plan.notes)

    def test_zone_target_sets_the_droplet_volume(self):
        plan = _plan(zones=("lateral_cheek_left",), zone_target_units={"lateral_cheek_left": "8"})
        zone = plan.summary.zones[0]
        per_point_step = dosing.units_for_volume(Decimal("0.1"), plan.mix.units_per_ml)
        assert abs(zone.units - Decimal(8)) <= per_point_step * zone.points / 2
        assert len({p.volume_ul for p in plan.points}) == 1

    def test_unreachable_target_names_the_zone(self):
        with pytest.raises(InvalidInputError, match=r"zone_target_units\[forehead\]"):
            _plan(zones=("forehead",), zone_target_units={"forehead": "500"})

    def test_target_for_a_zone_not_planned_is_refused(self):
        with pytest.raises(InvalidInputError, match=r"zone_target_units\[chin\]"):
            _plan(zones=("forehead",), zone_target_units={"chin": "2"})

    def test_without_a_protocol_every_parameter_is_needed(self):
        with pytest.raises(InvalidInputError, match="product"):
            build_plan(PlanRequest(zones=("chin",)), LIBRARY, MESH)

    def test_unknown_zone_and_protocol(self):
        with pytest.raises(UnknownNameError, match=r"zones\[0\]"):
            _plan(zones=("cheeks",))
        with pytest.raises(UnknownNameError, match="protocol"):
            build_plan(PlanRequest(zones=("chin",), protocol="nope"), LIBRARY, MESH)

    def test_stamp_technique_uses_a_square_lattice_at_the_device_pitch(self):
        plan = _plan(zones=("lateral_cheek_left",), technique="multi_needle_device")
        assert plan.spacing_mm == Decimal(10)
        # The preset's 10 µL needle droplet does not carry over to the device's stamp.
        assert {p.volume_ul for p in plan.points} == {Decimal(20)}
        assert _min_distance(plan) >= 10 - ROUNDING_TOLERANCE_MM

    def test_cost_from_the_vial_price(self):
        plan = _plan(zones=FACE, vial_price="350", currency="EUR")
        assert plan.summary.estimated_cost == Decimal(350) * plan.summary.vials_needed


class TestHyaluronicAcid:
    def test_ha_mix_keeps_the_vascular_areas_clear(self):
        plan = _plan(
            zones=("glabella", "nose", "medial_cheek_left"),
            adjuncts={"ha_skin_booster": "0.25"},
            working_units_per_ml="12.5",
        )
        assert plan.mix.contains_hyaluronic_acid
        counts = {z.zone: z.points for z in plan.summary.zones}
        assert counts["glabella"] == counts["nose"] == 0
        assert counts["medial_cheek_left"] > 0
        assert danger_zone_hits(plan, MESH, MARGINS) == []

    def test_ha_zones_are_hits_only_for_an_ha_mix(self):
        toxin_only = _plan(zones=("nose",))
        assert toxin_only.summary.zones[0].points > 0
        assert danger_zone_hits(toxin_only, MESH, MARGINS) == []
        with_ha = toxin_only.model_copy(
            update={"mix": toxin_only.mix.model_copy(update={"contains_hyaluronic_acid": True})}
        )
        hits = danger_zone_hits(with_ha, MESH, MARGINS)
        assert {h.danger_zone for h in hits} >= {"ha_nose"}
        assert all(h.because_of_ha for h in hits if h.danger_zone.startswith("ha_"))


class TestDangerHits:
    def test_a_point_on_the_brow_is_reported_inside(self):
        plan = _plan(zones=("forehead",))
        brow_anchor = MeshAnchor(vertices=(334, 296, 282), weights=(0.4, 0.3, 0.3))
        moved = plan.points[0].model_copy(update={"anchor": brow_anchor})
        bad = plan.model_copy(update={"points": (moved, *plan.points[1:])})
        hits = danger_zone_hits(bad, MESH, MARGINS)
        brow = [h for h in hits if h.danger_zone == "brow"]
        assert [h.point for h in brow] == [1]
        assert brow[0].distance_mm < 0 and brow[0].margin_mm == Decimal(20)
        assert not brow[0].because_of_ha

    def test_within_reports_near_misses(self):
        plan = _plan(zones=("forehead",))
        assert danger_zone_hits(plan, MESH, MARGINS) == []
        near = danger_zone_hits(plan, MESH, MARGINS, within_mm=5.0)
        assert near and all(h.distance_mm >= float(h.margin_mm) for h in near)


class TestOtherFaces:
    """A patient's face is not the symmetric template: the guarantees must still hold."""

    def test_spacing_and_margins_hold_on_an_asymmetric_face(self):
        from dosemap.domain.atlas.mesh import FaceMesh

        rng = np.random.default_rng(7)
        v = MESH.vertices_mm.copy()
        # Wider on the left, a longer midface, and 0.5 mm of landmark noise.
        v[:, 0] *= np.where(v[:, 0] > 0, 1.08, 0.97)
        v[:, 1] *= 1.05
        v += rng.normal(0.0, 0.5, v.shape)
        face = FaceMesh(vertices_mm=v, triangles=MESH.triangles.copy())
        zones = (*FACE, "chin", "jawline_left", "jawline_right")
        request = PlanRequest(zones=zones, protocol="diaspro_2020_grid")
        plan = build_plan(request, LIBRARY, face)
        assert danger_zone_hits(plan, face, MARGINS) == []
        assert _min_distance(plan) >= 10 - ROUNDING_TOLERANCE_MM
        resolved = resolve_anchors([p.anchor for p in plan.points], face.vertices_mm)
        assert np.allclose(resolved, [p.position_mm for p in plan.points], atol=0.01)


class TestTreatableOutlines:
    def test_points_lie_in_their_zones_treatable_outline(self):
        from shapely import Point, Polygon

        from dosemap.domain.planning.regions import treatable_outlines

        plan = _plan(zones=(*FACE, "perioral"))
        outlines = treatable_outlines(plan, MESH, MARGINS)
        frontal = MESH.vertices_mm[:, :2]
        for point in plan.points:
            parts = [
                Polygon(
                    resolve_anchors(list(outer), frontal),
                    [resolve_anchors(list(h), frontal) for h in holes],
                )
                for outer, holes in outlines[point.zone]
            ]
            where = Point(point.position_mm[:2])
            # The outline is traced on a 1 mm grid: allow that much.
            assert min(part.distance(where) for part in parts) <= 1.0, point.number


@given(st.lists(st.booleans(), min_size=36, max_size=36))
def test_row_runs_cover_exactly_the_allowed_cells(allowed):
    from shapely import box, union_all

    from dosemap.domain.planning.regions import _row_runs

    # A 6×6 square grid, row-major with u ascending, as lattice_in lays it out.
    v, u = np.divmod(np.arange(36), 6)
    uv = np.column_stack([u, v]).astype(float)
    ok = np.array(allowed)
    runs = _row_runs(uv[ok], v[ok], 1.0, 0.51)
    cells = [box(a - 0.51, b - 0.51, a + 0.51, b + 0.51) for a, b in uv[ok].tolist()]
    if not cells:
        assert runs == []
        return
    assert len(runs) <= len(cells)
    assert union_all(runs).symmetric_difference(union_all(cells)).area < 1e-9
