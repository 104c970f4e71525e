"""Chart mode's forms: the immediate adverse event at the severity chosen, the vial by lot."""

from __future__ import annotations

import uuid

from dosemap.persistence.unit_of_work import reading
from dosemap.services import sessions
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
