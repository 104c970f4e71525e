"""The Follow-ups page: due and overdue, contacted, done, the calendar download."""

from __future__ import annotations

from dosemap.persistence.unit_of_work import reading
from dosemap.services import audit as audit_trail
from dosemap.services.clinic_day import access_log
from dosemap.services.followups import followups_due
from support.desk import FAR_AHEAD
from support.web import OTHER_CLINIC_MARKER, WebWorld


def _open(world: WebWorld) -> list:  # type: ignore[type-arg]
    return followups_due(world.db, world.own.clinic_id, FAR_AHEAD)


def test_the_page_lists_overdue_follow_ups_with_contacts(world: WebWorld) -> None:
    page = world.client("front_desk").get("/followups?within=0")
    assert page.status_code == 200
    assert "Pat Example" in page.text and "overdue" in page.text  # signed in March 2026
    assert "tel:+15550100" in page.text and "mailto:pat@example.org" in page.text
    assert OTHER_CLINIC_MARKER not in page.text
    bad = world.client("front_desk").get("/followups?within=5")
    assert bad.status_code == 422 and 'id="f-e-within"' in bad.text


def test_mark_contacted_keeps_it_open_then_done_closes_it(world: WebWorld) -> None:
    client = world.client("front_desk")
    csrf = world.csrf(client)
    first = _open(world)[0]
    long_note = client.post(
        f"/followups/{first.followup_id}/contacted",
        data={"csrf_token": csrf, "expected_version": str(first.version), "note": "x" * 201},
    )
    assert long_note.status_code == 422 and f'id="n-{first.followup_id}-e-note"' in long_note.text
    assert _open(world)[0].contacted_at is None
    ok = client.post(
        f"/followups/{first.followup_id}/contacted",
        data={"csrf_token": csrf, "expected_version": str(first.version), "note": "left a message"},
    )
    assert ok.status_code == 303
    now_first = _open(world)[0]
    assert now_first.followup_id == first.followup_id and now_first.contact_note == "left a message"
    assert "left a message" in client.get("/followups?within=90").text
    stale = client.post(
        f"/followups/{first.followup_id}/done",
        data={"csrf_token": csrf, "expected_version": str(first.version + 1)},
    )
    assert stale.status_code == 409
    done = client.post(
        f"/followups/{first.followup_id}/done",
        data={"csrf_token": csrf, "expected_version": str(now_first.version)},
    )
    assert done.status_code == 303
    assert first.followup_id not in {f.followup_id for f in _open(world)}
    checkpoints = world.app.state.dosemap.settings.records.checkpoints_location
    assert audit_trail.verify(world.db, checkpoints).ok  # the contact is an audited record
    again = client.post(
        f"/followups/{first.followup_id}/contacted",
        data={"csrf_token": csrf, "note": "too late"},
    )
    assert again.status_code == 422 and "an open follow-up" in again.text


def test_the_calendar_downloads_and_is_logged(world: WebWorld) -> None:
    client = world.client("front_desk")
    response = client.get(
        "/followups/export/followups.ics?due_from=2026-01-01&due_until=2026-12-31"
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    assert "attachment" in response.headers["content-disposition"]
    assert "BEGIN:VEVENT" in response.text and OTHER_CLINIC_MARKER not in response.text
    [entry] = access_log(world.db, world.own.clinic_id)
    assert (entry.entity, entry.via) == ("export", "page:followups")
    bad = client.get("/followups/export/followups.ics?due_from=01.01.2026")
    assert bad.status_code == 422 and 'id="c-e-due_from"' in bad.text
    backwards = client.get(
        "/followups/export/followups.ics?due_from=2026-12-31&due_until=2026-01-01"
    )
    assert backwards.status_code == 422 and "is before the start" in backwards.text
    with reading(world.db) as uow:
        assert uow.audit.verify().ok
