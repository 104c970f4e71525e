"""Acknowledging a session's safety findings: who saw a warning or notice, when, and why they
went ahead. A blocking finding cannot be acknowledged; it is resolved (the chart changed).

The treatment record PDF and the FHIR export (DetectedIssue) show every acknowledgement.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from dosemap.domain.errors import InvalidInputError
from dosemap.domain.library.catalog import Library
from dosemap.persistence.db import Database
from dosemap.persistence.errors import RecordLockedError
from dosemap.persistence.models import FindingAcknowledgement
from dosemap.persistence.unit_of_work import reading, writing
from dosemap.services._common import Input, now
from dosemap.services.sessions import evaluate_session


class AcknowledgementInput(Input):
    """Which finding (its code, and its zone and points when it names them) and why the
    clinician goes ahead; matched as the plan editor matches (``plan_review.finding_key``)."""

    code: str = Field(min_length=1, max_length=60)
    zone: str | None = Field(default=None, max_length=60)
    point_numbers: tuple[int, ...] = ()
    reason: str = Field(min_length=1, max_length=2000)


def acknowledge_finding(
    db: Database,
    clinic_id: uuid.UUID,
    session_id: uuid.UUID,
    data: AcknowledgementInput,
    library: Library,
    *,
    by: uuid.UUID,
    actor: str,
    at: datetime | None = None,
) -> FindingAcknowledgement:
    """Record that ``by`` acknowledged the session's finding ``data.code`` (before signing)."""
    with writing(db) as uow:
        row = uow.sessions.get(clinic_id, session_id)
        if row.status == "signed":
            raise RecordLockedError(f"session {row.id} is signed: acknowledge before signing")
        person = uow.staff.get(clinic_id, by)
        if person.role not in ("injector", "admin"):
            raise InvalidInputError("by", f"staff role is {person.role}", "injector or admin")
        found = evaluate_session(uow, row, library)
        key = (data.code, data.zone, tuple(data.point_numbers))
        findings = [f for f in found if (f.code, f.zone, tuple(f.point_numbers)) == key]
        if not findings:
            present = sorted({f.code + (f" in {f.zone}" if f.zone else "") for f in found})
            raise InvalidInputError(
                "code",
                f"{data.code} is not a finding of this session",
                ", ".join(present) or "none",
            )
        finding = findings[0]
        if finding.severity == "block":
            raise InvalidInputError(
                "code", f"{data.code} blocks signing", "resolve it; only warnings and notices"
            )
        points = " ".join(str(n) for n in data.point_numbers)
        earlier = uow.exports.acknowledgements([session_id])
        if any(
            (a.code, a.zone, a.point_numbers) == (data.code, data.zone, points) for a in earlier
        ):
            raise InvalidInputError("code", f"{data.code} is already acknowledged", "another code")
        ack = FindingAcknowledgement(
            id=uuid.uuid4(),
            clinic_id=clinic_id,
            session_id=session_id,
            code=finding.code,
            zone=finding.zone,
            point_numbers=points,
            severity=str(finding.severity),
            title=finding.title[:400],
            acknowledged_by=by,
            acknowledged_at=at or now(),
            reason=data.reason,
        )
        uow.sessions.add(ack)
        uow.audit.record(
            clinic_id=clinic_id,
            actor=actor,
            action="acknowledge",
            entity="finding_acknowledgement",
            entity_id=ack.id,
            before=None,
            after=ack,
        )
        return ack


def acknowledgements(
    db: Database, clinic_id: uuid.UUID, session_id: uuid.UUID
) -> list[FindingAcknowledgement]:
    """A session's acknowledgements, oldest first."""
    with reading(db) as uow:
        uow.sessions.get(clinic_id, session_id)
        return uow.exports.acknowledgements([session_id])
