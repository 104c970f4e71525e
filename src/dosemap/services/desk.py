"""What the clinic desk's pages show that needs more than one service: a recall for a person
(every patient listed is access-logged), the clinic's adverse events."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field

from dosemap.domain.errors import InvalidInputError
from dosemap.persistence.db import Database
from dosemap.persistence.repositories.accounts import AccessLine
from dosemap.persistence.repositories.reporting import AdverseEventLine
from dosemap.persistence.unit_of_work import reading
from dosemap.services._common import Input
from dosemap.services.clinic_day import record_reads
from dosemap.services.reporting import RecallHit, lot_recall
from dosemap.services.sessions import product_figures, products_text


@dataclass(frozen=True)
class Recall:
    """A recall of one lot number: which lots carry it and who received them."""

    lot_number: str
    lots: list[tuple[str, date]]  # (product, expires on) of each lot with this number
    hits: list[RecallHit]

    @property
    def patients(self) -> int:
        """How many distinct patients received the lot."""
        return len({h.patient_id for h in self.hits})


def recall_for_reader(
    db: Database,
    clinic_id: uuid.UUID,
    lot_number: str,
    *,
    reader: uuid.UUID,
    via: str,
    at: datetime | None = None,
) -> Recall:
    """:func:`lot_recall` for a person: every patient listed is a patient read, written to the
    access log (one transaction for all of them) before the list is returned.

    A lot number the clinic never received is :class:`InvalidInputError` on ``lot_number``.
    """
    number = lot_number.strip()
    if not number:
        raise InvalidInputError("lot_number", "is empty", "the lot number on the vial's box")
    with reading(db) as uow:
        lots = uow.lots.numbered(clinic_id, number)
    if not lots:
        raise InvalidInputError(
            "lot_number", f"no lot {number!r} was received here", "a lot on the Vials page"
        )
    hits = lot_recall(db, clinic_id, number)
    record_reads(
        db,
        clinic_id=clinic_id,
        user_id=reader,
        entity="patient",
        entity_ids=[h.patient_id for h in hits],
        via=via,
        at=at,
    )
    return Recall(number, [(lot.product, lot.expires_on) for lot in lots], hits)


@dataclass(frozen=True)
class PatientSessions:
    """A patient's name and sessions, for a form that records something about one."""

    patient_id: uuid.UUID
    chart_number: str
    name: str
    timezone: str
    # id, when, "status product units" (each product's own: "charted botox_cosmetic 24 U ·
    # dysport 30 U")
    sessions: list[tuple[uuid.UUID, datetime, str]]


def patient_sessions_for_reader(
    db: Database, clinic_id: uuid.UUID, patient_id: uuid.UUID, *, reader: uuid.UUID, via: str
) -> PatientSessions:
    """The patient's sessions, newest first (the read is access-logged; another clinic's
    patient is :class:`~dosemap.persistence.errors.NotFoundError`)."""
    with reading(db) as uow:
        p = uow.patients.get(clinic_id, patient_id)
        timezone = uow.clinics.get(clinic_id).timezone
        rows = uow.sessions.of_patient(clinic_id, patient_id)
        figures = product_figures(uow, rows)
    record_reads(
        db, clinic_id=clinic_id, user_id=reader, entity="patient", entity_ids=[p.id], via=via
    )
    sessions = sorted(
        (
            (
                r.id,
                r.performed_at or r.scheduled_at,
                # Each product with its own units (never added across products).
                f"{r.status} {products_text(figures[r.id])}",
            )
            for r in rows
        ),
        key=lambda s: s[1],
        reverse=True,
    )
    return PatientSessions(
        p.id, p.chart_number, f"{p.given_name} {p.family_name}", timezone, sessions
    )


@dataclass(frozen=True)
class ClinicAdverseEvents:
    """The clinic's adverse events as the Adverse events page lists them."""

    timezone: str
    events: list[AdverseEventLine]


def adverse_events_for_reader(
    db: Database,
    clinic_id: uuid.UUID,
    *,
    reader: uuid.UUID,
    via: str,
    severity: str | None = None,
    limit: int = 200,
) -> ClinicAdverseEvents:
    """The clinic's adverse events, newest first; each patient listed is access-logged."""
    with reading(db) as uow:
        timezone = uow.clinics.get(clinic_id).timezone
        events = uow.reporting.adverse_events_of_clinic(clinic_id, limit, severity)
    record_reads(
        db,
        clinic_id=clinic_id,
        user_id=reader,
        entity="patient",
        entity_ids=[e.patient_id for e in events],
        via=via,
    )
    return ClinicAdverseEvents(timezone, events)


@dataclass(frozen=True)
class AccessRow:
    """An access-log entry with the patient it names, when it names one of the clinic's."""

    line: AccessLine
    patient: tuple[str, str] | None  # (chart number, "Family, Given")


class AccessFilter(Input):
    """The Audit page's filters of the access log (all optional)."""

    username: str | None = Field(default=None, max_length=80)
    entity: Literal["patient", "export"] | None = None
    entity_id: str | None = Field(default=None, max_length=80)
    since: date | None = None
    until: date | None = None


#: The most access-log entries one view shows.
ACCESS_LOG_LIMIT = 300


def access_log_view(
    db: Database, clinic_id: uuid.UUID, filters: AccessFilter
) -> tuple[str, list[AccessRow]]:
    """(the clinic's time zone, entries matching ``filters``, newest first) with the patients
    they name (three queries). Days are the clinic's local days, ``until`` included."""
    with reading(db) as uow:
        timezone = uow.clinics.get(clinic_id).timezone
        zone = ZoneInfo(timezone)
        user_id = None
        if filters.username:
            account = uow.accounts.by_username(filters.username)
            if account is None or account.clinic_id != clinic_id:
                raise InvalidInputError("username", "is not a login of this clinic", "a username")
            user_id = account.id
        since = datetime.combine(filters.since, time.min, zone) if filters.since else None
        until = (
            datetime.combine(filters.until + timedelta(days=1), time.min, zone)
            if filters.until
            else None
        )
        lines = uow.access_log.filtered(
            clinic_id,
            limit=ACCESS_LOG_LIMIT,
            user_id=user_id,
            entity=filters.entity,
            entity_id=filters.entity_id,
            since=since,
            until=until,
        )
        ids = [
            as_id
            for line in lines
            if line.entity == "patient"
            if (as_id := _uuid_or_none(line.entity_id)) is not None
        ]
        labels = uow.reporting.patient_labels(clinic_id, ids)
    rows = [
        AccessRow(line, labels.get(_uuid_or_none(line.entity_id) or uuid.UUID(int=0)))
        for line in lines
    ]
    return timezone, rows


def _uuid_or_none(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None
