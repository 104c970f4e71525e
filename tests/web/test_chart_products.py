"""Chart mode's routes on a session of two products (issue 13): every product's points with its
marker and legend, a vial per product (the lot of another product refused, naming the field),
taps into the right product's plan, and the record's figures per product after signing."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from dosemap.domain.dosing import units_for_volume
from dosemap.persistence.unit_of_work import reading
from dosemap.resources import load_library
from dosemap.services import accounts, charting, sessions, vials
from dosemap.services.signin import SessionPolicy
from dosemap.web.security import SESSION_COOKIE
from support.clinic import T0
from support.products import open_dysport_vial, plan_two_products, two_products
from support.web import PASSWORD, WebWorld


def _injector(world: WebWorld) -> uuid.UUID:
    assert world.own.session_id is not None
    return sessions.get_session(world.db, world.own.clinic_id, world.own.session_id).injector_id


def _botox_vial(world: WebWorld) -> uuid.UUID:
    """A fresh open vial of the seeded Botox lot (the seeded vial is past beyond use)."""
    with reading(world.db) as uow:
        lot_id = uow.lots.numbered(world.own.clinic_id, "C1234A")[0].id
    return vials.open_vial(
        world.db, world.own.clinic_id,
        vials.VialInput(lot_id=lot_id, label="V-2", vial_units=Decimal(100),
                        diluent_ml=Decimal("2.5"),
                        reconstituted_at=datetime.now(UTC) - timedelta(hours=1)),
        load_library(), actor="test",
    ).id  # fmt: skip


def _signer(world: WebWorld) -> TestClient:
    """A prescriber signed in, linked to the clinic's injector (amending needs a person)."""
    account = accounts.create_account(
        world.db, world.own.clinic_id,
        accounts.AccountInput(username="a-signer", display_name="A Signer", role="prescriber",
                              password=PASSWORD, staff_id=_injector(world)),
        actor="test",
    )  # fmt: skip
    client = TestClient(world.app, follow_redirects=False)
    token = world.app.state.dosemap.sessions.create(
        account, pending_totp=False, policy=SessionPolicy()
    )
    client.cookies.set(SESSION_COOKIE, token)
    return client


def _chart_data(text: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', text, re.S)
    assert found
    return json.loads(found.group(1))


def test_the_chart_shows_every_products_points_with_a_legend_and_a_vial_each(
    world: WebWorld,
) -> None:
    session = two_products(load_library())
    row_id = plan_two_products(
        world.db, world.own.clinic_id, world.own.patient_id, _injector(world), session, T0
    )
    b_vial = _botox_vial(world)
    d_vial = open_dysport_vial(world.db, world.own.clinic_id, load_library())
    client = world.client("injector")
    page = client.get(f"/sessions/{row_id}/chart")
    assert page.status_code == 200
    data = _chart_data(page.text)
    plans = [[p["number"] for p in data["points"] if p["plan"] == i] for i in (0, 1)]
    assert plans == [[p.number for p in one.points] for one in session.plans]
    assert [p["shape"] for p in data["plans"]] == ["circle", "square"]  # not colour alone
    assert [p["vial_select"] for p in data["plans"]] == ["vial-select", "vial-select-1"]
    assert 'id="chart-legend"' in page.text
    legend = page.text[page.text.index('id="chart-legend"') :][:2000]
    assert "A · botox_cosmetic" in legend and "B · dysport" in legend
    assert f"{session.plans[1].mix.units_per_ml.normalize():f} U/mL" in legend  # its dilution
    # Each product's select offers only the open vials of that product.
    first = page.text[page.text.index('id="vial-select"') :].split("</select>")[0]
    second = page.text[page.text.index('id="vial-select-1"') :].split("</select>")[0]
    assert str(b_vial) in first and str(d_vial) not in first
    assert str(d_vial) in second and str(b_vial) not in second
    assert f"{len(data['points'])} points" in page.text

    def lot(plan: str, number: str):
        return client.post(
            f"/sessions/{row_id}/chart/vial",
            data={"plan": plan, "lot_number": number, "csrf_token": world.csrf(client)},
        )

    # The Botox lot typed for Dysport's vial: refused under Dysport's field, saying why.
    wrong = lot("1", "C1234A")
    assert wrong.status_code == 422
    assert 'id="lot-e-lot_number-1"' in wrong.text and 'id="lot-e-lot_number"' not in wrong.text
    assert "lot C1234A is botox_cosmetic, this plan is dysport" in wrong.text
    assert 'id="lot-number-1" name="lot_number" value="C1234A"' in wrong.text  # kept
    chosen = lot("1", "D-77")
    assert chosen.status_code == 200 and 'id="lot-status-1"' in chosen.text
    assert f'id="vial-select-1" class="vial-select" data-plan="1" data-chosen="{d_vial}"' in (
        chosen.text
    )
    # A bad product index: the chart page again, the error naming the field (not the
    # generic error page), no product's lot field marked.
    for plan, says in (("7", "no product 7 in this session"), ("x", "&#39;x&#39; is not a whole")):
        bad = lot(plan, "D-77")
        assert bad.status_code == 422 and 'id="chart-vials"' in bad.text, plan
        error = re.search(r'<p class="error" id="lot-e-plan" role="alert">([^<]*)</p>', bad.text)
        assert error is not None and "(plan)" in error[1] and says in error[1], plan
        assert "0 to 1" in error[1] and 'id="lot-e-lot_number' not in bad.text


def test_taps_go_to_their_products_plan_and_the_record_shows_each_product(
    world: WebWorld,
) -> None:
    library = load_library()
    session = two_products(library)
    botox, dysport = session.plans
    row_id = plan_two_products(
        world.db, world.own.clinic_id, world.own.patient_id, _injector(world), session, T0
    )
    b_vial = _botox_vial(world)
    d_vial = open_dysport_vial(world.db, world.own.clinic_id, library)
    client = world.client("injector")
    headers = {"X-CSRF-Token": world.csrf(client)}
    url = f"/api/v1/sessions/{row_id}/taps"

    def tap(number: int, vial: uuid.UUID, volume: str | None = None) -> dict[str, object]:
        return {"id": str(uuid.uuid4()), "point_number": number, "action": "done",
                "volume_ul": volume, "vial_id": str(vial),
                "tapped_at": datetime.now(UTC).isoformat()}  # fmt: skip

    queue = [tap(p.number, b_vial) for p in botox.points]
    queue += [tap(p.number, d_vial) for p in dysport.points]
    changed = dysport.points[0].number
    queue[len(botox.points)]["volume_ul"] = "8"
    bad = [*queue[:2], tap(changed, b_vial)]
    refused = client.post(url, json={"expected_version": 1, "taps": bad}, headers=headers)
    assert refused.status_code == 422 and "taps[2].vial_id" in refused.text, refused.text
    assert charting.session_plan(world.db, world.own.clinic_id, row_id).recorded_taps == ()
    version = 1
    for start in range(0, len(queue), 100):
        answer = client.post(
            url, json={"expected_version": version, "taps": queue[start : start + 100]},
            headers=headers,
        )  # fmt: skip
        assert answer.status_code == 200, answer.text
        version = answer.json()["version"]
    replay = client.post(url, json={"expected_version": 1, "taps": queue[:100]}, headers=headers)
    assert replay.status_code == 200 and replay.json()["duplicate"] is True
    finished = client.post(
        f"/sessions/{row_id}/chart/finish",
        data={"expected_version": str(version), "csrf_token": world.csrf(client)},
        follow_redirects=False,
    )
    assert finished.status_code == 303, finished.text[:500]
    sign = world.client("prescriber").get(f"/sessions/{row_id}/sign")
    assert sign.status_code == 200 and 'id="record-products"' in sign.text
    row = sessions.get_session(world.db, world.own.clinic_id, row_id)
    signed = sessions.sign_session(
        world.db, world.own.clinic_id, row_id, library, signer_id=_injector(world),
        expected_version=row.version, actor=str(_injector(world)),
    )  # fmt: skip
    record = client.get(f"/sessions/{row_id}/amend")
    assert record.status_code == 200
    table = record.text[record.text.index('id="record-products"') :].split("</table>")[0]
    d_units = sum(
        (units_for_volume(Decimal(8) if p.number == changed else p.volume_ul,
                          dysport.mix.units_per_ml) for p in dysport.points),
        Decimal(0),
    )  # fmt: skip
    assert 'data-product="dysport"' in table and "D-1" in table and "V-2" in table
    # Amend a Dysport point: its units at Dysport's dilution, not Botox's.
    signer = _signer(world)
    amended = signer.post(
        f"/sessions/{row_id}/amend",
        data={f"volume_{changed}": "5", "reason": "5 µL given", "csrf_token": world.csrf(signer),
              "expected_version": str(signed.version)},
        follow_redirects=False,
    )  # fmt: skip
    assert amended.status_code == 303, amended.text[:500]
    after = sessions.get_session(world.db, world.own.clinic_id, row_id)
    # The record the amend redirects to offers the stored version, one step past the signed
    # one (an amendment stepped it by three, so a device counting its own write was stale).
    page = signer.get(amended.headers["location"]).text
    shown = re.search(r'name="expected_version" value="(\d+)"', page)
    assert shown is not None and int(shown[1]) == after.version == signed.version + 1
    point = next(p for p in after.points if p.number == changed)
    assert point.units == units_for_volume(Decimal(5), dysport.mix.units_per_ml)
    figures = charting.record_figures(world.db, world.own.clinic_id, row_id)
    assert figures.products[1].units == d_units - units_for_volume(
        Decimal(3), dysport.mix.units_per_ml
    )


def test_a_second_products_ha_mix_shows_the_occlusion_steps_and_ha_danger_zones(
    world: WebWorld,
) -> None:
    session = two_products(load_library())
    botox, dysport = session.plans
    with_ha = dysport.model_copy(
        update={"mix": dysport.mix.model_copy(update={"contains_hyaluronic_acid": True})}
    )
    ha_second = session.model_copy(update={"plans": (botox, with_ha)})
    client = world.client("injector")
    pages = []
    for plan in (session, ha_second):
        row_id = plan_two_products(
            world.db, world.own.clinic_id, world.own.patient_id, _injector(world), plan, T0
        )
        pages.append(client.get(f"/sessions/{row_id}/chart").text)
    plain, ha = pages
    assert 'id="ha-steps"' not in plain and 'id="ha-steps"' in ha
    ha_only = [d for d in _chart_data(ha)["view"]["dangers"] if d["ha_only"]]
    assert ha_only and not [d for d in _chart_data(plain)["view"]["dangers"] if d["ha_only"]]
