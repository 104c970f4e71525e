"""The plan editor on a session of several products (plan file format 2): edits act on the
chosen product's plan, totals are shown per product, findings for the whole session."""

from __future__ import annotations

import uuid
from decimal import Decimal

from httpx import Response

from dosemap.domain.plan import PlanRequest, SessionPlan, combine_plans, read_plan_document
from dosemap.domain.planning import build_plan
from dosemap.resources import load_library, template_mesh
from dosemap.services import sessions
from support.clinic import T0
from support.web import WebWorld


def _two_products(world: WebWorld) -> tuple[uuid.UUID, SessionPlan]:
    library, mesh = load_library(), template_mesh()
    botox = build_plan(
        PlanRequest(zones=("forehead", "glabella"), protocol="diaspro_2020_grid"), library, mesh
    )
    dysport = build_plan(
        PlanRequest(zones=("lateral_cheek_left",), protocol="kesty_2021_forehead_30"),
        library,
        mesh,
    )
    session = combine_plans([botox, dysport])
    row = sessions.plan_session(
        world.db, world.own.clinic_id, patient_id=world.own.patient_id,
        injector_id=_injector(world), plan=session, scheduled_at=T0, actor="test",
    )  # fmt: skip
    return row.id, session


def _injector(world: WebWorld) -> uuid.UUID:
    assert world.own.session_id is not None
    return sessions.get_session(world.db, world.own.clinic_id, world.own.session_id).injector_id


def _edit(
    world: WebWorld, session_id: uuid.UUID, version: int, plan: int, edit: dict[str, object]
) -> Response:
    client = world.client("injector")
    return client.post(
        f"/api/v1/sessions/{session_id}/plan/edits",
        json={"expected_version": version, "plan": plan, "edits": [edit]},
        headers={"X-CSRF-Token": world.csrf(client)},
    )


def test_the_editor_shows_every_product_and_edits_the_chosen_ones_plan(world: WebWorld) -> None:
    session_id, session = _two_products(world)
    page = world.client("injector").get(f"/sessions/{session_id}/plan")
    assert page.status_code == 200
    assert 'id="plan-select"' in page.text
    assert "botox_cosmetic" in page.text and "dysport" in page.text
    assert page.text.count('class="product-totals"') == 2

    volume = {"op": "set_zone_volume", "zone": "lateral_cheek_left", "volume_ul": "20"}
    answer = _edit(world, session_id, 1, 1, volume)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["panel_html"].count('class="product-totals"') == 2
    # Only the chosen product's points changed (the answer has every point on a cache miss).
    changed = body.get("changed", body.get("points"))
    assert changed and {p["plan"] for p in changed} <= {0, 1}
    assert {p["plan"] for p in changed if Decimal(p["volume_ul"]) == 20} == {1}
    stored = read_plan_document(
        sessions.get_session(world.db, world.own.clinic_id, session_id).plan
    )
    assert isinstance(stored, SessionPlan)  # the file keeps its format
    assert stored.plans[0] == session.plans[0]
    assert {p.volume_ul for p in stored.plans[1].points} == {Decimal(20)}
    assert stored.plans[1].summary.total_volume_ul == 20 * len(stored.plans[1].points)

    # A point of the other product, with the first product chosen: refused, nothing written.
    dysport_point = stored.plans[1].points[0].number
    refused = _edit(world, session_id, 2, 0, {"op": "delete", "number": dysport_point})
    assert refused.status_code == 422
    assert "dysport" in refused.text
    assert sessions.get_session(world.db, world.own.clinic_id, session_id).version == 2


def test_a_one_product_session_has_no_product_choice(world: WebWorld) -> None:
    page = world.client("injector").get(f"/sessions/{world.own.session_id}/plan")
    assert page.status_code == 200
    assert 'id="plan-select"' not in page.text
    assert page.text.count('class="product-totals"') == 1
