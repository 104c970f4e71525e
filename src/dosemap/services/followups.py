"""Follow-ups (review, retreatment) and adverse events."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal, get_args

from pydantic import AwareDatetime, Field

from dosemap.domain.errors import InvalidInputError
from dosemap.persistence.db import Database
from dosemap.persistence.models import AdverseEvent, FollowUp, FollowUpContact
from dosemap.persistence.unit_of_work import reading, writing
from dosemap.services._common import Input, check_version, in_range, now, snap

AdverseKind = Literal[
    "bruising",
    "swelling",
    "erythema",
    "pain",
    "headache",
    "asymmetry",
    "ptosis",
    "brow_ptosis",
    "smile_asymmetry",
    "dysphagia",
    "infection",
    "suspected_vascular_occlusion",
    "allergic_reaction",
    "other",
]
AdverseSeverity = Literal["mild", "moderate", "severe"]
#: The severities an adverse event is recorded with (the Adverse events page and chart mode).
SEVERITIES: tuple[str, ...] = get_args(AdverseSeverity)


class AdverseEventInput(Input):
    """An adverse event after a session."""

    session_id: uuid.UUID | None = None
    kind: AdverseKind
    onset_at: AwareDatetime
    severity: AdverseSeverity
    action: str | None = Field(default=None, max_length=4000)
    outcome: str | None = Field(default=None, max_length=4000)


def record_adverse_event(
    db: Database,
    clinic_id: uuid.UUID,
    patient_id: uuid.UUID,
    data: AdverseEventInput,
    *,
    actor: str,
    recorded_by: uuid.UUID | None = None,
) -> AdverseEvent:
    """Record an adverse event (linked to the session when known)."""
    in_range("onset_at", data.onset_at)
    with writing(db) as uow:
        uow.patients.get(clinic_id, patient_id)
        if data.session_id is not None:
            sess = uow.sessions.get(clinic_id, data.session_id)
            if sess.patient_id != patient_id:
                raise InvalidInputError(
                    "session_id", "is another patient's session", "this patient's"
                )
        row = AdverseEvent(
            id=uuid.uuid4(),
            clinic_id=clinic_id,
            patient_id=patient_id,
            recorded_by=recorded_by,
            created_at=now(),
            **data.model_dump(),
        )
        uow.followups.add(row)
        uow.audit.record(
            clinic_id=clinic_id,
            actor=actor,
            action="create",
            entity="adverse_event",
            entity_id=row.id,
            before=None,
            after=row,
        )
        return row


class OutcomeInput(Input):
    """How an adverse event turned out (replaces the outcome recorded so far)."""

    outcome: str = Field(min_length=1, max_length=4000)
    expected_version: int = Field(ge=1)


def record_outcome(
    db: Database,
    clinic_id: uuid.UUID,
    event_id: uuid.UUID,
    data: OutcomeInput,
    *,
    actor: str,
) -> AdverseEvent:
    """Record how an adverse event turned out (the earlier text is kept by the audit digests)."""
    with writing(db) as uow:
        event = uow.followups.adverse_event(clinic_id, event_id)
        check_version(event, data.expected_version, "adverse_event")
        before = snap(event)
        event.outcome = data.outcome
        uow.audit.record(
            clinic_id=clinic_id,
            actor=actor,
            action="update",
            entity="adverse_event",
            entity_id=event.id,
            before=before,
            after=event,
        )
        return event


def adjust_followup(
    db: Database,
    clinic_id: uuid.UUID,
    followup_id: uuid.UUID,
    *,
    due_on: date,
    reason: str,
    expected_version: int,
    actor: str,
) -> FollowUp:
    """Move a follow-up's due date (the reason replaces the computed basis)."""
    if not reason.strip():
        raise InvalidInputError("reason", "is empty", "why the date moves")
    with writing(db) as uow:
        fu = uow.followups.get(clinic_id, followup_id)
        check_version(fu, expected_version, "followup")
        before = snap(fu)
        fu.due_on = due_on
        fu.basis = f"adjusted: {reason.strip()}"[:200]
        uow.audit.record(
            clinic_id=clinic_id,
            actor=actor,
            action="adjust",
            entity="followup",
            entity_id=fu.id,
            before=before,
            after=fu,
        )
        return fu


def complete_followup(
    db: Database,
    clinic_id: uuid.UUID,
    followup_id: uuid.UUID,
    *,
    at: datetime,
    expected_version: int,
    actor: str,
    cancelled: bool = False,
) -> FollowUp:
    """Mark a follow-up done (or cancelled)."""
    with writing(db) as uow:
        fu = uow.followups.get(clinic_id, followup_id)
        check_version(fu, expected_version, "followup")
        before = snap(fu)
        fu.status = "cancelled" if cancelled else "done"
        fu.completed_at = at
        uow.audit.record(
            clinic_id=clinic_id,
            actor=actor,
            action="complete",
            entity="followup",
            entity_id=fu.id,
            before=before,
            after=fu,
        )
        return fu


class ContactInput(Input):
    """The desk reached (or tried to reach) the patient about a follow-up."""

    note: str | None = Field(default=None, max_length=200)


class DoneInput(Input):
    """A follow-up marked done, against the version the person saw."""

    expected_version: int = Field(ge=1)


def mark_contacted(
    db: Database,
    clinic_id: uuid.UUID,
    followup_id: uuid.UUID,
    data: ContactInput,
    *,
    at: datetime,
    actor: str,
) -> FollowUpContact:
    """Note that the patient was contacted (the follow-up stays open until it is done)."""
    with writing(db) as uow:
        fu = uow.followups.get(clinic_id, followup_id)
        if fu.status != "open":
            raise InvalidInputError("followup", f"is {fu.status}", "an open follow-up")
        contact = FollowUpContact(
            id=uuid.uuid4(),
            clinic_id=clinic_id,
            followup_id=fu.id,
            contacted_at=at,
            contacted_by=actor[:80],
            note=data.note or None,
        )
        uow.followups.add(contact)
        uow.audit.record(
            clinic_id=clinic_id,
            actor=actor,
            action="contact",
            entity="followup_contact",
            entity_id=contact.id,
            before=None,
            after=contact,
        )
        return contact


@dataclass(frozen=True)
class DueFollowUp:
    """A follow-up due, with who to call."""

    followup_id: uuid.UUID
    version: int
    kind: str
    due_on: date
    basis: str
    patient_id: uuid.UUID
    chart_number: str
    patient_name: str
    phone: str | None
    email: str | None
    session_id: uuid.UUID
    contacted_at: datetime | None = None  # the latest contact, if any
    contact_note: str | None = None
    contacts: int = 0


def open_followups_due_before(
    db: Database, clinic_id: uuid.UUID, before: date
) -> list[tuple[uuid.UUID, int, date]]:
    """(id, version, due day) of open follow-ups due before ``before``, earliest first."""
    with reading(db) as uow:
        return [
            (fu.id, fu.version, fu.due_on)
            for fu, _ in uow.followups.open_due(clinic_id, before - timedelta(days=1))
        ]


def followups_due(
    db: Database, clinic_id: uuid.UUID, on_or_before: date, limit: int = 500
) -> list[DueFollowUp]:
    """Open follow-ups due on or before a day, earliest first."""
    with reading(db) as uow:
        rows = uow.followups.open_due(clinic_id, on_or_before, limit)
        contacts = uow.followups.contacts_of(clinic_id, [fu.id for fu, _ in rows])
        return [
            DueFollowUp(
                followup_id=fu.id,
                version=fu.version,
                kind=fu.kind,
                due_on=fu.due_on,
                basis=fu.basis,
                patient_id=p.id,
                chart_number=p.chart_number,
                patient_name=f"{p.given_name} {p.family_name}",
                phone=p.phone,
                email=p.email,
                session_id=fu.session_id,
                contacted_at=contacts[fu.id][-1].contacted_at if fu.id in contacts else None,
                contact_note=contacts[fu.id][-1].note if fu.id in contacts else None,
                contacts=len(contacts.get(fu.id, [])),
            )
            for fu, p in rows
        ]
