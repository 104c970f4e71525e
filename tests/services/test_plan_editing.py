"""Editing a plan: each edit, its refusals, and the property that edits keep a plan whole."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import dosemap.cli as cli
from dosemap.domain import dosing
from dosemap.domain.atlas.danger import danger_zone_hits
from dosemap.domain.atlas.locate import choose_zone, zone_distances
from dosemap.domain.atlas.mesh import resolve_anchor
from dosemap.domain.atlas.surface import anchor_point
from dosemap.domain.atlas.zones import ZONE_ORDER
from dosemap.domain.errors import InvalidInputError
from dosemap.domain.plan import (
    MeshAnchor,
    Plan,
    PlannedPoint,
    PlanRequest,
    SessionPlan,
    combine_plans,
)
from dosemap.domain.plan_edit import (
    AddPoint,
    DeletePoint,
    MovePoint,
    RespaceZone,
    SetPointVolume,
    SetZoneVolume,
    apply_edit,
    apply_edits,
    apply_edits_to,
    placed_point,
)
from dosemap.domain.plan_review import PlanReview, review_plan
from dosemap.domain.planning import build_plan
from dosemap.domain.safety.finding import ZONE_MISMATCH
from dosemap.resources import load_library, template_mesh
from dosemap.services.plan_editing import (
    edit_plan_file,
    load_plan,
    parse_edits,
    plan_file_text,
    save_plan,
)

MESH = template_mesh()
LIBRARY = load_library()
BASE = build_plan(
    PlanRequest(
        zones=("forehead", "glabella", "medial_cheek_left", "medial_cheek_right"),
        protocol="diaspro_2020_grid",
    ),
    LIBRARY,
    MESH,
)
#: Where the left brow is: a forehead point moved here breaks the 20 mm brow margin.
# Inside the eyebrow outline: a block (within the brow's margin band is a warning).
BROW = MeshAnchor(vertices=(334, 296, 282), weights=(0.4, 0.3, 0.3))


def _totals_are_the_points(plan: Plan) -> None:
    points = plan.points
    assert [p.number for p in points] == list(range(1, len(points) + 1))
    assert plan.summary.needle_entries == len(points)
    assert plan.summary.total_units == sum((p.units for p in points), Decimal(0))
    assert plan.summary.total_volume_ul == sum((p.volume_ul for p in points), Decimal(0))
    for z in plan.summary.zones:
        mine = [p for p in points if p.zone == z.zone]
        assert z.points == len(mine)
        assert z.units == sum((p.units for p in mine), Decimal(0))
    for p in points:
        assert p.units == dosing.units_for_volume(p.volume_ul, plan.mix.units_per_ml)
        assert np.allclose(resolve_anchor(p.anchor, MESH.vertices_mm), p.position_mm, atol=0.006)


def test_a_plan_rebuilt_without_edits_is_the_planners_plan() -> None:
    assert apply_edits(BASE, [], LIBRARY, MESH) == BASE
    from dosemap.domain.plan_edit import rebuild

    assert rebuild(BASE, BASE.points, MESH) == BASE


def test_move_into_the_brow_margin_blocks_and_moving_back_clears() -> None:
    first = BASE.points[0]
    assert first.zone == "forehead"
    clean = review_plan(BASE, LIBRARY, mesh=MESH)
    assert not any(f.finding.code.startswith("DM2") for f in clean.findings)
    moved = apply_edit(BASE, MovePoint(number=1, anchor=BROW), LIBRARY, MESH)
    hits = danger_zone_hits(moved, MESH, LIBRARY.margins_mm())
    assert [h.point for h in hits] == [1]
    review = review_plan(moved, LIBRARY, mesh=MESH)
    assert review.blocked
    assert 1 in review.point_codes
    back = apply_edit(moved, MovePoint(number=1, anchor=first.anchor), LIBRARY, MESH)
    assert back == BASE
    assert not review_plan(back, LIBRARY, mesh=MESH).blocked


def test_add_goes_last_in_its_zone_and_delete_renumbers() -> None:
    glabella = [p for p in BASE.points if p.zone == "glabella"]
    anchor = glabella[0].anchor
    added = apply_edit(BASE, AddPoint(zone="glabella", anchor=anchor), LIBRARY, MESH)
    assert added.summary.needle_entries == BASE.summary.needle_entries + 1
    new = added.points[glabella[-1].number]  # right after the zone's last point
    assert new.zone == "glabella" and new.anchor == anchor
    assert new.volume_ul == glabella[0].volume_ul
    _totals_are_the_points(added)
    removed = apply_edit(added, DeletePoint(number=new.number), LIBRARY, MESH)
    assert removed == BASE


def test_add_to_a_zone_not_in_the_plan_adds_its_summary_row() -> None:
    chin = anchor_point(MESH, MESH.vertices_mm[152] + np.array([0.0, 8.0, 0.0]))
    added = apply_edit(BASE, AddPoint(zone="chin", anchor=chin), LIBRARY, MESH)
    rows = {z.zone: z for z in added.summary.zones}
    assert rows["chin"].points == 1 and rows["chin"].area_mm2 > 0
    assert [p.zone for p in added.points][-1] == "chin"
    _totals_are_the_points(added)


def test_volumes_of_a_point_and_a_zone() -> None:
    one = apply_edit(BASE, SetPointVolume(number=2, volume_ul=Decimal("12.5")), LIBRARY, MESH)
    assert one.points[1].volume_ul == Decimal("12.5")
    assert one.summary.total_volume_ul == BASE.summary.total_volume_ul - (
        BASE.points[1].volume_ul - Decimal("12.5")
    )
    zone = apply_edit(BASE, SetZoneVolume(zone="glabella", volume_ul=Decimal(20)), LIBRARY, MESH)
    assert {p.volume_ul for p in zone.points if p.zone == "glabella"} == {Decimal(20)}
    # Shown as the injector typed it: "20", never the exponent form "2E+1".
    assert {str(p.volume_ul) for p in zone.points if p.zone == "glabella"} == {"20"}
    twenty = apply_edit(BASE, SetPointVolume(number=2, volume_ul=Decimal("20.0")), LIBRARY, MESH)
    assert str(twenty.points[1].volume_ul) == "20"
    _totals_are_the_points(one)
    _totals_are_the_points(zone)


def test_respacing_thins_and_densifies_and_keeps_the_margins() -> None:
    count = sum(1 for p in BASE.points if p.zone == "medial_cheek_left")
    thin = apply_edit(
        BASE, RespaceZone(zone="medial_cheek_left", spacing_mm=Decimal(14)), LIBRARY, MESH
    )
    dense = apply_edit(
        BASE, RespaceZone(zone="medial_cheek_left", spacing_mm=Decimal(7)), LIBRARY, MESH
    )
    assert sum(1 for p in thin.points if p.zone == "medial_cheek_left") < count
    assert sum(1 for p in dense.points if p.zone == "medial_cheek_left") > count
    for plan in (thin, dense):
        _totals_are_the_points(plan)
        assert danger_zone_hits(plan, MESH, LIBRARY.margins_mm()) == []
        assert [p for p in plan.points if p.zone == "forehead"] == [
            p for p in BASE.points if p.zone == "forehead"
        ]


def _moved(plan: Plan, edit: MovePoint, before: Plan | None = None) -> PlannedPoint:
    point = placed_point(plan, edit, before)
    assert point is not None
    return point


def test_a_point_moved_into_another_zone_takes_that_zone_and_its_totals_follow() -> None:
    cheek = next(p for p in BASE.points if p.zone == "medial_cheek_left")
    edit = MovePoint(number=1, anchor=cheek.anchor)  # a forehead point dragged onto the cheek
    moved = apply_edit(BASE, edit, LIBRARY, MESH)
    point = _moved(moved, edit)
    assert point.zone == "medial_cheek_left"
    before = {z.zone: z for z in BASE.summary.zones}
    after = {z.zone: z for z in moved.summary.zones}
    unit = BASE.points[0].units
    assert after["forehead"].points == before["forehead"].points - 1
    assert after["forehead"].units == before["forehead"].units - unit
    assert after["medial_cheek_left"].points == before["medial_cheek_left"].points + 1
    assert after["medial_cheek_left"].units == before["medial_cheek_left"].units + unit
    # Last in its new zone's injection order; the check finds it where it is, unblocked.
    assert point.number == max(p.number for p in moved.points if p.zone == "medial_cheek_left")
    review = review_plan(moved, LIBRARY, mesh=MESH)
    assert not any(r.finding.code == ZONE_MISMATCH.code for r in review.findings)
    _totals_are_the_points(moved)


def test_a_point_moved_within_its_zone_keeps_its_zone_and_number() -> None:
    other = BASE.points[3]
    assert other.zone == "forehead"
    edit = MovePoint(number=1, anchor=other.anchor)
    moved = apply_edit(BASE, edit, LIBRARY, MESH)
    assert moved.points[0].zone == "forehead" and moved.points[0].anchor == other.anchor
    assert _moved(moved, edit).number in (1, 4)  # two points now share that spot


#: The side of the face by the ear (landmark 93): in no zone, nor near one.
OFF_EVERY_ZONE = MeshAnchor(vertices=(93, 93, 93), weights=(1.0, 0.0, 0.0))


def test_a_point_moved_outside_every_zone_is_kept_and_blocked_until_moved_into_one() -> None:
    edit = MovePoint(number=1, anchor=OFF_EVERY_ZONE)
    moved = apply_edit(BASE, edit, LIBRARY, MESH)
    point = _moved(moved, edit)
    assert point.zone == "forehead" and point.number == 1  # kept, still counted somewhere
    assert moved.summary.needle_entries == BASE.summary.needle_entries
    review = review_plan(moved, LIBRARY, mesh=MESH)
    mismatch = [r.finding for r in review.findings if r.finding.code == ZONE_MISMATCH.code]
    assert [f.point_numbers for f in mismatch] == [(1,)] and review.blocked
    back = apply_edit(moved, MovePoint(number=1, anchor=BASE.points[0].anchor), LIBRARY, MESH)
    assert back == BASE


def test_a_zone_named_with_the_move_is_kept_and_judged() -> None:
    cheek = next(p for p in BASE.points if p.zone == "medial_cheek_left").anchor
    beside = cheek.model_copy(update={"weights": (0.34, 0.33, 0.33)})  # not on another point
    edit = MovePoint(number=1, anchor=beside, zone="forehead")
    moved = apply_edit(BASE, edit, LIBRARY, MESH)
    assert _moved(moved, edit).zone == "forehead"
    review = review_plan(moved, LIBRARY, mesh=MESH)
    assert any(r.finding.code == ZONE_MISMATCH.code for r in review.findings)


def test_choosing_a_zone_prefers_the_current_then_the_deepest_then_the_nearest() -> None:
    assert choose_zone({"forehead": -1.0, "glabella": -4.0}, "forehead", 3.0) == "forehead"
    assert choose_zone({"forehead": 2.0, "glabella": -4.0}, "forehead", 3.0) == "glabella"
    assert choose_zone({"chin": -2.0, "glabella": -4.0}, "forehead", 3.0) == "glabella"
    assert choose_zone({"forehead": 2.0, "glabella": 1.0}, "forehead", 3.0) == "forehead"
    assert choose_zone({"forehead": 5.0, "glabella": 1.0}, "forehead", 3.0) == "glabella"
    assert choose_zone({"forehead": 5.0, "glabella": 3.5}, "forehead", 3.0) is None


def test_an_added_point_takes_the_zone_it_lies_in_and_that_zones_usual_volume() -> None:
    glabella = [p for p in BASE.points if p.zone == "glabella"]
    spot = glabella[0].anchor.model_copy(update={"weights": (0.34, 0.33, 0.33)})
    tuned = apply_edit(
        BASE, SetZoneVolume(zone="glabella", volume_ul=Decimal("12.5")), LIBRARY, MESH
    )
    added = apply_edit(tuned, AddPoint(anchor=spot), LIBRARY, MESH)
    new = placed_point(added, AddPoint(anchor=spot), tuned)
    assert new is not None and new.zone == "glabella"
    assert new.number == max(p.number for p in added.points if p.zone == "glabella")
    assert new.volume_ul == Decimal("12.5")  # the zone's own µL, not the preset's
    review = review_plan(added, LIBRARY, mesh=MESH)
    assert new.number not in {
        n for r in review.findings if r.finding.code == ZONE_MISMATCH.code
        for n in r.finding.point_numbers
    }  # fmt: skip
    _totals_are_the_points(added)


def test_a_point_added_in_a_zone_without_points_gets_the_planners_volume() -> None:
    chin = anchor_point(MESH, MESH.vertices_mm[152] + np.array([0.0, 8.0, 0.0]))
    tuned = apply_edit(BASE, SetZoneVolume(zone="forehead", volume_ul=Decimal(7)), LIBRARY, MESH)
    added = apply_edit(tuned, AddPoint(anchor=chin), LIBRARY, MESH)
    new = added.points[-1]
    assert new.zone == "chin"
    preset = LIBRARY.protocol("diaspro_2020_grid").volume_per_point_ul.value
    assert new.volume_ul == preset != Decimal(7)
    assert {z.zone: z.points for z in added.summary.zones}["chin"] == 1
    _totals_are_the_points(added)


def test_a_point_added_outside_every_zone_is_kept_labelled_nearest_and_blocked() -> None:
    edit = AddPoint(anchor=OFF_EVERY_ZONE)
    added = apply_edit(BASE, edit, LIBRARY, MESH)
    point = placed_point(added, edit, BASE)
    assert point is not None
    # From the anchor, as placed (position_mm is rounded: a point on a shared edge could flip).
    distances = zone_distances(MESH, resolve_anchor(point.anchor, MESH.vertices_mm)[None], None)
    nearest = min(ZONE_ORDER, key=lambda z: float(distances[z][0]))
    assert point.zone == nearest
    assert added.summary.needle_entries == BASE.summary.needle_entries + 1
    review = review_plan(added, LIBRARY, mesh=MESH)
    mismatch = [r.finding for r in review.findings if r.finding.code == ZONE_MISMATCH.code]
    assert [f.point_numbers for f in mismatch] == [(point.number,)] and review.blocked
    _totals_are_the_points(added)


def test_a_zone_named_with_the_add_is_kept_and_judged() -> None:
    cheek = next(p for p in BASE.points if p.zone == "medial_cheek_left").anchor
    beside = cheek.model_copy(update={"weights": (0.34, 0.33, 0.33)})
    added = apply_edit(BASE, AddPoint(zone="forehead", anchor=beside), LIBRARY, MESH)
    point = placed_point(added, AddPoint(zone="forehead", anchor=beside), BASE)
    assert point is not None and point.zone == "forehead"
    review = review_plan(added, LIBRARY, mesh=MESH)
    assert any(
        point.number in r.finding.point_numbers
        for r in review.findings
        if r.finding.code == ZONE_MISMATCH.code
    )


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (DeletePoint(number=999), "number"),
        (SetPointVolume(number=1, volume_ul=Decimal(0)), "volume_ul"),
        (SetPointVolume(number=1, volume_ul=Decimal("10.05")), "volume_ul"),
        (SetPointVolume(number=1, volume_ul=Decimal(500)), "volume_ul"),
        (AddPoint(zone="ear", anchor=BROW), "zone"),
        (AddPoint(zone="neck", anchor=BROW), "zone"),
        (
            AddPoint(zone="chin", anchor=MeshAnchor(vertices=(0, 1, 999), weights=(1, 0, 0))),
            "anchor.vertices",
        ),
        (
            AddPoint(zone="chin", anchor=MeshAnchor(vertices=(0, 1, 2), weights=(0.9, 0.9, 0))),
            "anchor.weights",
        ),
        (RespaceZone(zone="glabella", spacing_mm=Decimal(1)), "spacing_mm"),
        (SetZoneVolume(zone="chin", volume_ul=Decimal(10)), "zone"),
    ],
)
def test_bad_edits_name_the_field_and_change_nothing(edit: object, field: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        apply_edits(BASE, [edit], LIBRARY, MESH)  # type: ignore[list-item]
    assert caught.value.field == f"edits[0].{field}"


def test_edits_parse_from_the_editors_json_with_field_errors() -> None:
    edits = parse_edits([{"op": "move", "number": 3, "anchor": BROW.model_dump()}])
    assert edits == [MovePoint(number=3, anchor=BROW)]
    with pytest.raises(InvalidInputError) as caught:
        parse_edits([{"op": "move", "number": 0, "anchor": BROW.model_dump()}])
    assert caught.value.field == "0.move.number"
    with pytest.raises(InvalidInputError):
        parse_edits([{"op": "teleport"}])


# --- the property: any sequence of edits keeps the plan whole, and the CLI agrees ----------

_TRIANGLES = MESH.triangles


@st.composite
def anchors(draw: st.DrawFn) -> MeshAnchor:
    triangle = _TRIANGLES[draw(st.integers(0, len(_TRIANGLES) - 1))]
    a = draw(st.integers(0, 100))
    b = draw(st.integers(0, 100 - a))
    weights = (a / 100, b / 100, (100 - a - b) / 100)
    return MeshAnchor(vertices=tuple(int(v) for v in triangle), weights=weights)  # type: ignore[arg-type]


numbers = st.integers(1, 70)
volumes = st.integers(50, 500).map(lambda t: Decimal(t) / 10)
zones = st.sampled_from(ZONE_ORDER)
edits = st.one_of(
    st.builds(AddPoint, zone=st.none() | zones, anchor=anchors(), volume_ul=st.none() | volumes),
    st.builds(MovePoint, number=numbers, anchor=anchors(), zone=st.none() | zones),
    st.builds(DeletePoint, number=numbers),
    st.builds(SetPointVolume, number=numbers, volume_ul=volumes),
    st.builds(SetZoneVolume, zone=zones, volume_ul=volumes),
    st.builds(RespaceZone, zone=zones, spacing_mm=st.integers(6, 20).map(Decimal)),
)


def _moved_into_its_zone(
    before: Plan, edit: MovePoint | AddPoint, after: Plan, review: PlanReview
) -> None:
    """A moved or added point is in the zone it lies in; else kept, with its zone (an added
    one: the nearest), and blocked."""
    point = placed_point(after, edit, before)
    assert point is not None
    if isinstance(edit, MovePoint):
        was = next(p for p in before.points if p.number == edit.number).zone
    else:
        was = None
    # From the anchor, as placed (position_mm is rounded: a point on a shared edge could flip).
    distances = zone_distances(MESH, resolve_anchor(point.anchor, MESH.vertices_mm)[None], None)
    tolerance = float(LIBRARY.figure("zone_label_tolerance_mm").value)
    near = {z: float(d[0]) for z, d in distances.items()}
    expected = choose_zone(near, was, tolerance)
    mismatched = {
        n for r in review.findings if r.finding.code == ZONE_MISMATCH.code
        for n in r.finding.point_numbers
    }  # fmt: skip
    what = "added" if was is None else "moved"
    event(f"{what} into another zone" if point.zone != was else f"{what}, zone kept")
    if expected is None:
        event(f"{what} outside every zone")
        assert point.zone == (was or min(near, key=near.__getitem__))
        assert point.number in mismatched
    else:
        assert point.zone == expected and point.number not in mismatched


runner = CliRunner()


@settings(max_examples=60)
@given(sequence=st.lists(edits, min_size=1, max_size=6))
def test_any_edits_leave_totals_equal_to_the_points_and_the_cli_agrees(
    sequence: list[object], tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("plan") / "plan.json"
    save_plan(path, BASE)
    applied: list[object] = []
    for edit in sequence:
        before = load_plan(path)
        try:
            result = edit_plan_file(path, [edit], LIBRARY)  # type: ignore[list-item]
        except InvalidInputError:
            assert load_plan(path) == apply_edits(BASE, applied, LIBRARY, MESH)  # type: ignore[arg-type]
            continue
        applied.append(edit)
        if isinstance(edit, MovePoint | AddPoint) and edit.zone is None:
            _moved_into_its_zone(before, edit, result.plan, result.review)  # type: ignore[arg-type]
    event(f"{len(applied)} of {len(sequence)} edits applied")
    plan = load_plan(path)
    assert path.read_text(encoding="utf-8") == plan_file_text(plan)
    _totals_are_the_points(plan)
    review = review_plan(plan, LIBRARY, mesh=MESH)
    assert review.summary_matches_plan
    out = runner.invoke(cli.app, ["check", str(path), "--json"])
    assert out.exit_code == (1 if review.blocked else 0), out.output
    reported = json.loads(out.stdout)
    assert reported["findings"] == [r.finding.model_dump(mode="json") for r in review.findings]


def test_a_saved_file_is_what_the_cli_writes(tmp_path: Path) -> None:
    out = tmp_path / "cli.json"
    result = runner.invoke(
        cli.app,
        ["plan", "--zones", "forehead,glabella,medial_cheek_left,medial_cheek_right",
         "--protocol", "diaspro_2020_grid", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    mine = tmp_path / "mine.json"
    save_plan(mine, BASE)
    assert mine.read_bytes() == out.read_bytes()


def test_acknowledgements_who_when_why_beside_the_plan_file(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from dosemap.domain.plan_review import Acknowledgement
    from dosemap.services.plan_editing import acknowledge, acknowledgements_path

    path = tmp_path / "plan.json"
    save_plan(path, BASE)
    review = review_plan(BASE, LIBRARY, mesh=MESH)
    warning = next(r.finding for r in review.findings if r.finding.severity.value == "warn")
    at = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    ack = Acknowledgement(
        code=warning.code,
        zone=warning.zone,
        point_numbers=warning.point_numbers,
        by="Dr A. Injector",
        at=at,
        reason="intake taken on paper, reviewed",
    )
    kept = acknowledge(path, LIBRARY, ack)
    assert kept == [ack]
    assert path.read_text(encoding="utf-8") == plan_file_text(BASE)  # the plan file untouched
    assert json.loads(acknowledgements_path(path).read_text())[0]["by"] == "Dr A. Injector"
    after = edit_plan_file(path, [], LIBRARY).review
    assert after.unacknowledged_warnings == review.unacknowledged_warnings - 1
    shown = next(r for r in after.findings if r.finding == warning)
    assert shown.acknowledgement == ack  # still listed, with who, when and why

    # A block cannot be acknowledged, nor a warning that is not there.
    moved = edit_plan_file(path, [MovePoint(number=1, anchor=BROW)], LIBRARY).review
    block = next(r.finding for r in moved.findings if r.finding.severity.value == "block")
    with pytest.raises(InvalidInputError, match="blocks"):
        acknowledge(path, LIBRARY, ack.model_copy(update={"code": block.code,
                    "zone": block.zone, "point_numbers": block.point_numbers}))  # fmt: skip
    with pytest.raises(InvalidInputError, match="no current warning"):
        acknowledge(path, LIBRARY, ack.model_copy(update={"code": "DM999-NOPE"}))


# --- a session of several products (plan file format 2) ------------------------------------

DYSPORT = build_plan(
    PlanRequest(zones=("lateral_cheek_left",), protocol="kesty_2021_forehead_30"), LIBRARY, MESH
)
SESSION = combine_plans([BASE, DYSPORT])


def _session_whole(session: SessionPlan) -> None:
    numbers = [p.number for p in session.points]
    assert numbers == list(range(1, len(numbers) + 1))  # numbers run on across the products
    for plan in session.plans:
        first = plan.points[0].number if plan.points else 1
        points = tuple(p.model_copy(update={"number": p.number - first + 1}) for p in plan.points)
        shifted = plan.model_copy(update={"points": points})
        _totals_are_the_points(shifted)


def test_session_edits_act_on_the_chosen_products_plan_only() -> None:
    assert SESSION.products == ("botox_cosmetic", "dysport")
    first_dysport = SESSION.plans[1].points[0].number
    glabella = next(p for p in BASE.points if p.zone == "glabella")
    added = apply_edits_to(
        SESSION, [AddPoint(zone="glabella", anchor=glabella.anchor)], LIBRARY, MESH
    )
    assert isinstance(added, SessionPlan)
    assert added.plans[0].summary.needle_entries == BASE.summary.needle_entries + 1
    assert added.plans[1].summary == DYSPORT.summary  # the other product untouched
    assert added.plans[1].points[0].number == first_dysport + 1  # renumbered to run on
    _session_whole(added)
    volume = SetZoneVolume(zone="lateral_cheek_left", volume_ul=Decimal(20))
    changed = apply_edits_to(added, [volume], LIBRARY, MESH, plan_index=1)
    assert isinstance(changed, SessionPlan)
    assert {p.volume_ul for p in changed.plans[1].points} == {Decimal(20)}
    assert changed.plans[0] == added.plans[0]
    _session_whole(changed)


def test_a_session_edit_naming_another_products_point_is_refused() -> None:
    dysport_point = SESSION.plans[1].points[0].number
    with pytest.raises(InvalidInputError, match="dysport") as caught:
        apply_edits_to(SESSION, [DeletePoint(number=dysport_point)], LIBRARY, MESH)
    assert caught.value.field == "edits[0].number"
    with pytest.raises(InvalidInputError) as caught:
        apply_edits_to(SESSION, [DeletePoint(number=1)], LIBRARY, MESH, plan_index=2)
    assert caught.value.field == "plan"


@settings(max_examples=25)
@given(
    sequence=st.lists(st.tuples(st.integers(0, 1), edits), min_size=1, max_size=5),
)
def test_any_session_edits_keep_each_products_totals_and_the_cli_agrees(
    sequence: list[tuple[int, object]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("session") / "session.json"
    save_plan(path, SESSION)
    for index, edit in sequence:
        before = path.read_bytes()
        try:
            edit_plan_file(path, [edit], LIBRARY, plan_index=index)  # type: ignore[list-item]
        except InvalidInputError:
            assert path.read_bytes() == before  # nothing half-written
    session = load_plan(path)
    assert isinstance(session, SessionPlan)
    assert path.read_text(encoding="utf-8") == plan_file_text(session)
    _session_whole(session)
    review = review_plan(session, LIBRARY, mesh=MESH)
    assert review.summary_matches_plan
    assert [t.product for t in review.products] == ["botox_cosmetic", "dysport"]
    assert [t.summary for t in review.products] == [p.summary for p in session.plans]
    out = runner.invoke(cli.app, ["check", str(path), "--json"])
    assert out.exit_code == (1 if review.blocked else 0), out.output
    reported = json.loads(out.stdout)
    assert reported["findings"] == [r.finding.model_dump(mode="json") for r in review.findings]


def test_the_point_placed_on_another_points_anchor_is_the_one_moved_or_added() -> None:
    """Dropped exactly on another point's anchor (same zone, same µL): the status line names
    the point moved or added, not the one that was there (given the plan before the edit)."""
    forehead = [p for p in BASE.points if p.zone == "forehead"]
    first, later = forehead[0], forehead[3]
    assert first.volume_ul == later.volume_ul
    for mover, onto in ((first, later), (later, first)):
        edit = MovePoint(number=mover.number, anchor=onto.anchor)
        moved = apply_edit(BASE, edit, LIBRARY, MESH)
        there = sorted(p.number for p in moved.points if p.anchor == onto.anchor)
        assert there == sorted((mover.number, onto.number))  # both there, numbers kept
        assert _moved(moved, edit, BASE).number == mover.number
    cheek = next(p for p in BASE.points if p.zone == "medial_cheek_left")
    into = MovePoint(number=first.number, anchor=cheek.anchor)  # into another zone
    moved = apply_edit(BASE, into, LIBRARY, MESH)
    last_of_cheek = [p for p in moved.points if p.zone == "medial_cheek_left"][-1]
    assert _moved(moved, into, BASE) == last_of_cheek and last_of_cheek.anchor == cheek.anchor
    add = AddPoint(anchor=later.anchor)
    added = apply_edit(BASE, add, LIBRARY, MESH)
    new = placed_point(added, add, BASE)
    assert new is not None and new.number == forehead[-1].number + 1 != later.number
