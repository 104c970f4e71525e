"""The Recall page: a lot's patients with contacts; each patient listed is access-logged."""

from __future__ import annotations

from dosemap.services.clinic_day import access_log
from support.web import OTHER_CLINIC_MARKER, WebWorld


def test_a_lot_lists_its_patients_and_logs_each_read(world: WebWorld) -> None:
    client = world.client("front_desk")
    page = client.get("/recall")
    assert page.status_code == 200 and 'value="C1234A"' in page.text
    assert "B-LOT-9" not in page.text
    found = client.post("/recall", data={"csrf_token": world.csrf(client), "lot_number": "C1234A"})
    assert found.status_code == 200
    assert (
        "Example" in found.text and "pat@example.org" in found.text and "1 patient<" in found.text
    )
    entries = access_log(world.db, world.own.clinic_id, entity_id=str(world.own.patient_id))
    assert [(e.username, e.entity, e.via) for e in entries] == [
        ("a-front-desk", "patient", "page:recall")
    ]


def test_an_unknown_or_other_clinics_lot_is_named_and_nothing_is_logged(world: WebWorld) -> None:
    client = world.client("auditor")
    csrf = world.csrf(client)
    for number in ("NOPE", "B-LOT-9", " "):
        response = client.post("/recall", data={"csrf_token": csrf, "lot_number": number})
        assert response.status_code == 422, number
        assert 'id="r-e-lot_number"' in response.text
        assert OTHER_CLINIC_MARKER not in response.text
    assert access_log(world.db, world.own.clinic_id) == []
    assert access_log(world.db, world.other.clinic_id) == []
