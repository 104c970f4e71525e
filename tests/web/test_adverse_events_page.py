"""The Adverse events page: the clinic's list (access-logged), recording one from a patient,
its outcome, the CSV download."""

from __future__ import annotations

from dosemap.persistence.unit_of_work import reading
from dosemap.services.clinic_day import access_log
from support.web import OTHER_CLINIC_MARKER, WebWorld


def _events(world: WebWorld) -> int:
    with reading(world.db) as uow:
        return len(uow.reporting.adverse_events_of_clinic(world.own.clinic_id, 100))


def test_the_list_shows_the_clinics_events_and_logs_each_patient(world: WebWorld) -> None:
    page = world.client("auditor").get("/adverse-events")
    assert page.status_code == 200
    assert "Example, Pat" in page.text and "bruising" in page.text and "cold compress" in page.text
    assert OTHER_CLINIC_MARKER not in page.text and "swelling" not in page.text
    assert "Record outcome" not in page.text  # the auditor only reads
    [entry] = access_log(world.db, world.own.clinic_id)
    assert (entry.username, entry.entity_id, entry.via) == (
        "a-auditor",
        str(world.own.patient_id),
        "page:adverse_events",
    )
    none = world.client("auditor").get("/adverse-events?severity=severe")
    assert "No adverse event recorded of this severity" in none.text
    bad = world.client("auditor").get("/adverse-events?severity=awful")
    assert bad.status_code == 422 and 'id="a-e-severity"' in bad.text


def test_record_one_from_the_patients_record(world: WebWorld) -> None:
    client = world.client("injector")
    record = client.get(f"/patients/{world.own.patient_id}").text
    link = f"/patients/{world.own.patient_id}/adverse-events/new"
    assert link in record
    assert link not in world.client("front_desk").get(f"/patients/{world.own.patient_id}").text
    form = client.get(link)
    assert form.status_code == 200 and "signed botox_cosmetic" in form.text
    csrf = world.csrf(client)
    url = f"/patients/{world.own.patient_id}/adverse-events"
    good = {
        "csrf_token": csrf,
        "session_id": str(world.own.records["session_id"]),
        "kind": "headache",
        "onset_at": "2026-03-03T08:00",
        "severity": "moderate",
        "action": "paracetamol",
    }
    before = _events(world)
    for bad, field in (
        ({"kind": "hiccups"}, "kind"),
        ({"onset_at": "yesterday"}, "onset_at"),
        ({"severity": "awful"}, "severity"),
        ({"session_id": str(world.other.records["session_id"])}, None),
    ):
        response = client.post(url, data={**good, **bad})
        if field is None:  # another clinic's session is not found
            assert response.status_code == 404
        else:
            assert response.status_code == 422 and f'id="ae-e-{field}"' in response.text, field
    assert _events(world) == before
    ok = client.post(url, data=good)
    assert ok.status_code == 303 and _events(world) == before + 1
    assert "headache" in client.get("/adverse-events").text


def test_record_the_outcome_with_a_stale_version_refused(world: WebWorld) -> None:
    client = world.client("prescriber")
    csrf = world.csrf(client)
    event_id = world.own.records["adverse_event_id"]
    empty = client.post(
        f"/adverse-events/{event_id}/outcome",
        data={"csrf_token": csrf, "outcome": "", "expected_version": "1"},
    )
    assert empty.status_code == 422 and f'id="o-{event_id}-e-outcome"' in empty.text
    ok = client.post(
        f"/adverse-events/{event_id}/outcome",
        data={"csrf_token": csrf, "outcome": "fully resolved day 5", "expected_version": "1"},
    )
    assert ok.status_code == 303
    assert "fully resolved day 5" in client.get("/adverse-events").text
    stale = client.post(
        f"/adverse-events/{event_id}/outcome",
        data={"csrf_token": csrf, "outcome": "again", "expected_version": "1"},
    )
    assert stale.status_code == 409


def test_the_csv_downloads_audited_and_logged(world: WebWorld) -> None:
    response = world.client("auditor").get("/adverse-events/export/adverse_events.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "bruising" in response.text and "C-0001" in response.text
    assert "swelling" not in response.text
    [entry] = access_log(world.db, world.own.clinic_id)
    assert (entry.entity, entry.entity_id) == ("export", "adverse_events_csv")
