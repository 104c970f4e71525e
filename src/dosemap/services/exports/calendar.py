"""Follow-ups as an iCalendar file (RFC 5545): one all-day event per open follow-up due in a
window, for the clinic's calendar.

A calendar is often shared and synced to phones, so it says only what the clinic's
``calendar_detail`` allows (:data:`CALENDAR_DETAIL`):

``none``      "Follow-up visit": no patient, no reason.
``chart``     the visit's kind and the chart number (the default).
``name``      also the patient's name and phone.
``clinical``  also the reason the date was set (e.g. the product's retreatment interval).

Doses, zones and findings are never written. The same follow-ups give the same bytes: each
event's UID is the follow-up's id and its DTSTAMP the follow-up's creation time.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import get_args

import icalendar

from dosemap.domain.errors import InvalidInputError
from dosemap.persistence.db import Database
from dosemap.persistence.models import FollowUp, Patient
from dosemap.persistence.unit_of_work import writing
from dosemap.services.exports._common import ExportFile, record_export, stamp_for_name
from dosemap.services.staff import CalendarDetail

CALENDAR_DETAIL: tuple[str, ...] = get_args(CalendarDetail)
MEDIA_TYPE = "text/calendar; charset=utf-8"
_KIND = {"review": "Review", "retreatment": "Retreatment"}


def _event(fu: FollowUp, patient: Patient, detail: str, clinic_name: str) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", f"{fu.id}@dosemap")
    event.add("dtstamp", fu.created_at)
    event.add("dtstart", fu.due_on)
    event.add("dtend", fu.due_on + timedelta(days=1))
    event.add("transp", "TRANSPARENT")  # a due day, not a booked slot
    kind = _KIND.get(fu.kind, fu.kind)
    if detail == "none":
        event.add("summary", "Follow-up visit")
        return event
    summary = f"{kind} due: {patient.chart_number}"
    lines = [f"{kind} due on {fu.due_on.isoformat()} ({clinic_name})."]
    if detail in ("name", "clinical"):
        summary = f"{kind} due: {patient.given_name} {patient.family_name} ({patient.chart_number})"
        if patient.phone:
            lines.append(f"Phone: {patient.phone}")
    if detail == "clinical":
        lines.append(f"Why this date: {fu.basis}")
    event.add("summary", summary)
    event.add("description", "\n".join(lines))
    return event


def followups_ical(
    db: Database,
    clinic_id: uuid.UUID,
    *,
    actor: str,
    due_from: date,
    due_until: date,
    detail: CalendarDetail | None = None,
) -> ExportFile:
    """Open follow-ups due in ``[due_from, due_until]`` as an iCalendar file.

    ``detail`` may only narrow what the clinic's setting allows (a clinic that allows names may
    export a calendar without them; never the other way round).
    """
    if due_until < due_from:
        raise InvalidInputError("until", "is before the start", f"a day on or after {due_from}")
    with writing(db) as uow:
        clinic = uow.clinics.get(clinic_id)
        allowed = clinic.calendar_detail
        chosen = detail or allowed
        if chosen not in CALENDAR_DETAIL:
            raise InvalidInputError("detail", f"is {chosen!r}", ", ".join(CALENDAR_DETAIL))
        if CALENDAR_DETAIL.index(chosen) > CALENDAR_DETAIL.index(allowed):
            raise InvalidInputError(
                "detail",
                f"{chosen} is more than the clinic allows ({allowed})",
                ", ".join(CALENDAR_DETAIL[: CALENDAR_DETAIL.index(allowed) + 1]),
            )
        cal = icalendar.Calendar()
        cal.add("prodid", "-//dosemap//follow-ups//EN")
        cal.add("version", "2.0")
        cal.add("calscale", "GREGORIAN")
        cal.add("x-wr-calname", f"{clinic.name} follow-ups")
        for fu, patient in uow.exports.followups(
            clinic_id, status="open", due_from=due_from, due_until=due_until
        ):
            cal.add_component(_event(fu, patient, chosen, clinic.name))
        record_export(uow, clinic_id, actor=actor, what="followups_ical")
    name = f"dosemap_followups_{stamp_for_name(due_from)}-{stamp_for_name(due_until)}.ics"
    return ExportFile(cal.to_ical(), name, MEDIA_TYPE)
