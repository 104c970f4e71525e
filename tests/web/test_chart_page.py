"""Chart mode's forms: the immediate adverse event at the severity chosen, the vial by lot."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from dosemap.persistence.unit_of_work import reading
from dosemap.resources import load_library
from dosemap.services import sessions, vials
from dosemap.services.followups import SEVERITIES
from support.clinic import T0, make_plan
from support.web import WebWorld


def _events(world: WebWorld) -> list[tuple[str, str, str | None]]:
    with reading(world.db) as uow:
        return [
            (e.kind, e.severity, e.action)
            for e in uow.reporting.adverse_events_of_clinic(world.own.clinic_id, 100)
        ]


def _ha_session(world: WebWorld) -> uuid.UUID:
    toxin = make_plan()
    plan = toxin.model_copy(
        update={"mix": toxin.mix.model_copy(update={"contains_hyaluronic_acid": True})}
    )
    with reading(world.db) as uow:
        injector = next(
            s.id for s in uow.staff.of_clinic(world.own.clinic_id) if s.role == "injector"
        )
    return sessions.plan_session(
        world.db, world.own.clinic_id, patient_id=world.own.patient_id, injector_id=injector,
        plan=plan, scheduled_at=T0, actor="test",
    ).id  # fmt: skip


def test_the_injector_chooses_the_severity(world: WebWorld) -> None:
    client = world.client("injector")
    url = f"/sessions/{world.own.session_id}"
    page = client.get(f"{url}/chart")
    assert page.status_code == 200
    for severity in SEVERITIES:
        assert f'<option value="{severity}"' in page.text
    before = _events(world)
    answer = client.post(
        f"{url}/adverse-events",
        data={"kind": "swelling", "severity": "moderate", "description": "lower lid",
              "csrf_token": world.csrf(client)},
        follow_redirects=False,
    )  # fmt: skip
    assert answer.status_code == 303
    assert set(_events(world)) - set(before) == {("swelling", "moderate", "lower lid")}


def test_a_bad_severity_or_kind_is_a_field_error_and_nothing_is_written(world: WebWorld) -> None:
    client = world.client("injector")
    session_id = _ha_session(world)
    before = _events(world)
    for form, field, said in (
        ({"kind": "swelling", "severity": "catastrophic"}, "severity", "'catastrophic' is not one"),
        ({"kind": "swelling"}, "severity", "none chosen"),
        ({"kind": "sneezing", "severity": "mild"}, "kind", "'sneezing' is not one"),
    ):
        answer = client.post(
            f"/sessions/{session_id}/adverse-events",
            data={**form, "description": "kept", "csrf_token": world.csrf(client)},
        )
        assert answer.status_code == 422, answer.text[:300]
        text = answer.text.replace("&#39;", "'")
        assert f'id="ae-e-{field}"' in text and said in text, text[text.find("ae-e-") - 200 :][:600]
        if field == "severity":
            assert "allowed: mild, moderate, severe" in answer.text
        assert ">kept</textarea>" in answer.text  # what was typed is kept
        assert 'id="ha-steps"' in answer.text  # the occlusion steps stay in view
    assert _events(world) == before


def test_the_occlusion_steps_show_only_with_ha(world: WebWorld) -> None:
    client = world.client("injector")
    assert 'id="ha-steps"' in client.get(f"/sessions/{_ha_session(world)}/chart").text
    assert 'id="ha-steps"' not in client.get(f"/sessions/{world.own.session_id}/chart").text


def _open_vial(world: WebWorld, label: str, lot_number: str = "C1234A") -> uuid.UUID:
    library = load_library()
    cid = world.own.clinic_id
    with reading(world.db) as uow:
        found = uow.lots.numbered(cid, lot_number)
    lot_id = (
        found[0].id
        if found
        else vials.receive_lot(
            world.db, cid,
            vials.LotInput(product="botox_cosmetic", lot_number=lot_number,
                           expires_on=date.today() + timedelta(days=200)),
            library, actor="test",
        ).id
    )  # fmt: skip
    return vials.open_vial(
        world.db, cid,
        vials.VialInput(lot_id=lot_id, label=label, vial_units=Decimal(100),
                        diluent_ml=Decimal("2.5"), reconstituted_at=datetime.now(UTC)),
        library, actor="test",
    ).id  # fmt: skip


def test_the_vial_by_its_lot_number(world: WebWorld) -> None:
    client = world.client("injector")
    url = f"/sessions/{world.own.session_id}/chart/vial"

    def post(**form: str):
        return client.post(url, data={**form, "csrf_token": world.csrf(client)})

    # The seeded vial of lot C1234A is past its beyond-use time: refused, with the reason.
    refused = post(lot_number="C1234A")
    assert refused.status_code == 422
    assert 'id="lot-e-lot_number"' in refused.text and "V-1 was beyond use at" in refused.text
    other = _open_vial(world, "V-9", "L-OTHER")
    unknown = post(lot_number="NOPE")
    assert unknown.status_code == 422 and "no lot NOPE in this clinic" in unknown.text
    assert "allowed: the lot of an open vial of botox_cosmetic: L-OTHER" in unknown.text
    v2 = _open_vial(world, "V-2")
    one = post(lot_number="C1234A")
    assert one.status_code == 200
    assert f'<option value="{v2}" selected>' in one.text and f'data-chosen="{v2}"' in one.text
    assert f'<option value="{other}">' in one.text  # the other open vials stay on offer
    v3 = _open_vial(world, "V-3")
    several = post(lot_number="C1234A")
    assert several.status_code == 200 and 'id="lot-pick"' in several.text
    assert "data-chosen" not in several.text
    assert f'name="vial_id" value="{v2}"' in several.text
    assert f'name="vial_id" value="{v3}"' in several.text
    picked = post(lot_number="C1234A", vial_id=str(v3))
    assert f'<option value="{v3}" selected>' in picked.text and 'id="lot-status"' in picked.text
    wrong = post(lot_number="C1234A", vial_id=str(other))
    assert wrong.status_code == 422 and 'id="lot-e-vial_id"' in wrong.text
    assert "(allowed: V-2 · lot C1234A" in wrong.text and "V-3 · lot C1234A" in wrong.text
