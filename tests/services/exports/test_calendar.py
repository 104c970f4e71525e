"""Follow-ups as iCalendar: one all-day event each, saying no more than the clinic allows."""

from __future__ import annotations

from datetime import date, timedelta

import icalendar
import pytest

from dosemap.domain.errors import InvalidInputError
from dosemap.services import staff
from dosemap.services.exports import calendar
from services.exports.conftest import Treated
from services.exports.test_csv import audit_actions
from support.clinic import T0

FROM, UNTIL = T0.date(), T0.date() + timedelta(days=200)


def _events(content: bytes) -> list[icalendar.Event]:
    cal = icalendar.Calendar.from_ical(content)
    return list(cal.walk("VEVENT"))


def _export(treated: Treated, **kwargs: object) -> bytes:
    c = treated.clinic
    return calendar.followups_ical(
        c.db,
        c.clinic_id,
        actor="t",
        due_from=FROM,
        due_until=UNTIL,
        **kwargs,  # type: ignore[arg-type]
    ).content


def test_one_all_day_event_per_open_followup(treated: Treated) -> None:
    events = _events(_export(treated))
    # Signing scheduled a review at 14 days and a retreatment at the product's interval.
    assert events[0].decoded("dtstart") == date(2026, 3, 16)
    assert len(events) == 2
    for e in events:
        start, end = e.decoded("dtstart"), e.decoded("dtend")
        assert isinstance(start, date) and end == start + timedelta(days=1)
        assert str(e["uid"]).endswith("@dosemap")
    assert "export_followups_ical" in audit_actions(treated)


def test_default_detail_is_chart_number_and_kind_only(treated: Treated) -> None:
    content = _export(treated)
    summaries = [str(e["summary"]) for e in _events(content)]
    assert summaries[0] == "Review due: C-0001"
    # Stamps and ids are machine values that may contain any digits (a DTSTAMP of 08:35:55).
    text = "\n".join(
        line
        for line in content.decode().splitlines()
        if not line.startswith(("DTSTAMP", "UID", "CREATED", "LAST-MODIFIED"))
    )
    for private in ("Pat", "Example", "555", "botox", "units", "1.2"):
        assert private not in text


def test_detail_none_names_no_patient(treated: Treated) -> None:
    content = _export(treated, detail="none")
    assert "C-0001" not in content.decode()
    assert {str(e["summary"]) for e in _events(content)} == {"Follow-up visit"}


def test_more_detail_than_the_clinic_allows_is_refused(treated: Treated) -> None:
    with pytest.raises(InvalidInputError) as err:
        _export(treated, detail="name")
    assert err.value.field == "detail"


def test_clinical_detail_when_the_clinic_allows_it(treated: Treated) -> None:
    c = treated.clinic
    staff.update_clinic_profile(
        c.db, c.clinic_id, staff.ClinicProfileInput(calendar_detail="clinical"), actor="t"
    )
    events = _events(_export(treated))
    assert str(events[0]["summary"]) == "Review due: Pat Example (C-0001)"
    retreat = str(events[1]["description"])
    assert "+1 555 0100" in retreat and "retreatment interval" in retreat


def test_window_and_determinism(treated: Treated) -> None:
    c = treated.clinic
    first = _export(treated)
    assert _export(treated) == first
    narrow = calendar.followups_ical(
        c.db, c.clinic_id, actor="t", due_from=FROM, due_until=FROM + timedelta(days=20)
    )
    assert len(_events(narrow.content)) == 1
    with pytest.raises(InvalidInputError):
        calendar.followups_ical(c.db, c.clinic_id, actor="t", due_from=UNTIL, due_until=FROM)
