"""What the web app's daily pages show: Today, the patient list, one patient's record.

Each page is one reading unit of work with a few single-query reads (no query per row). A
patient's record is shown only after the read is written to the access log.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from dosemap.domain.errors import InvalidInputError
from dosemap.persistence.db import Database
from dosemap.persistence.repositories.accounts import AccessLine
from dosemap.persistence.repositories.clinic_day import (
    ExpiringLot,
    FollowUpDue,
    OpenVial,
    PatientRow,
    ScheduledSession,
)
from dosemap.persistence.request_path import RequestPath
from dosemap.persistence.unit_of_work import UnitOfWork, reading, writing
from dosemap.services._common import now
from dosemap.services.reporting import TimelineEvent, patient_timeline
from dosemap.services.sessions import product_figures
from dosemap.services.staff import MICRODOSE_PROCEDURE

__all__ = [
    "AccessLine",
    "ExpiringLot",
    "FollowUpDue",
    "OpenVial",
    "PatientRow",
    "ScheduledSession",
    "Today",
]

#: How far ahead the Today page looks for expiring lots (issue 12: "within 30 days").
LOTS_EXPIRING_WITHIN = timedelta(days=30)
TODAY_LIST_LIMIT = 200


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@dataclass(frozen=True)
class Today:
    """The clinic's day: sessions, follow-ups due, open vials, lots expiring soon."""

    clinic_name: str
    day: date
    at: datetime
    timezone: str
    sessions: list[ScheduledSession]
    followups_due: list[FollowUpDue]
    open_vials: list[OpenVial]
    lots_expiring: list[ExpiringLot]


def today(db: Database, clinic_id: uuid.UUID, at: datetime | None = None) -> Today:
    """The Today page of ``clinic_id`` at ``at`` (the day is the clinic's local day)."""
    at = at or now()
    with reading(db) as uow:
        clinic_name, clinic_tz = uow.clinic_day.clinic_name_and_timezone(clinic_id)
        zone = _zone(clinic_tz)
        day = at.astimezone(zone).date()
        start = datetime.combine(day, time.min, tzinfo=zone)
        q = uow.clinic_day
        listed = q.sessions_between(clinic_id, start, start + timedelta(days=1), TODAY_LIST_LIMIT)
        return Today(
            clinic_name=clinic_name,
            day=day,
            at=at,
            timezone=clinic_tz,
            sessions=_with_products(uow, clinic_id, listed),
            followups_due=q.followups_due(clinic_id, day, TODAY_LIST_LIMIT),
            open_vials=q.open_vials(clinic_id, TODAY_LIST_LIMIT),
            lots_expiring=q.lots_expiring(
                clinic_id, day, day + LOTS_EXPIRING_WITHIN, TODAY_LIST_LIMIT
            ),
        )


def _with_products(
    uow: UnitOfWork, clinic_id: uuid.UUID, listed: list[ScheduledSession]
) -> list[ScheduledSession]:
    """``listed`` with every product's planned units (one query; a session recorded before
    the products were kept has them derived from its plan)."""
    products = uow.clinic_day.planned_products(clinic_id, [s.session_id for s in listed])
    missing = [s.session_id for s in listed if s.session_id not in products]
    if missing:
        rows = [uow.sessions.get(clinic_id, i) for i in missing]
        for sid, figures in product_figures(uow, rows).items():
            products[sid] = [(f.product, f.planned_units) for f in figures]
    return [replace(s, products=tuple(products[s.session_id])) for s in listed]


def search_patients(
    db: Database,
    clinic_id: uuid.UUID,
    *,
    name: str = "",
    chart_number: str = "",
    date_of_birth: date | None = None,
    limit: int = 50,
) -> list[PatientRow]:
    """The clinic's patients matching a name, chart number and/or date of birth."""
    for field, text in (("name", name), ("chart_number", chart_number)):
        if any(ord(c) < 32 for c in text):
            raise InvalidInputError(field, "contains a control character", "printable text")
    with reading(db) as uow:
        return uow.clinic_day.patients(
            clinic_id,
            name=name.strip(),
            chart_number=chart_number.strip(),
            date_of_birth=date_of_birth,
            limit=limit,
        )


@dataclass(frozen=True)
class ConsentStatus:
    """Whether a consent is on file for the micro-dose procedure, and which."""

    on_file: bool
    text_version: str | None
    signed_at: datetime | None


@dataclass(frozen=True)
class PatientRecord:
    """One patient's record as the Patient page shows it."""

    patient_id: uuid.UUID
    chart_number: str
    given_name: str
    family_name: str
    date_of_birth: date
    sex: str | None
    phone: str | None
    email: str | None
    fitzpatrick_type: int | None
    skin_type: str | None
    version: int
    timezone: str  # the clinic's, for showing times
    timeline: list[TimelineEvent]
    consent: ConsentStatus
    latest_intake_answers: dict[str, object] | None
    latest_intake_at: datetime | None


def record_read(
    db: Database,
    *,
    clinic_id: uuid.UUID,
    user_id: uuid.UUID,
    entity: str,
    entity_id: uuid.UUID | str,
    via: str,
    at: datetime | None = None,
) -> None:
    """Write one read of a patient's data to the access log (its own small transaction)."""
    with writing(db) as uow:
        uow.access_log.append(
            at=at or now(),
            clinic_id=clinic_id,
            user_id=user_id,
            action="read",
            entity=entity,
            entity_id=str(entity_id),
            via=via,
        )


def record_reads(
    db: Database,
    *,
    clinic_id: uuid.UUID,
    user_id: uuid.UUID,
    entity: str,
    entity_ids: list[uuid.UUID],
    via: str,
    at: datetime | None = None,
) -> None:
    """Write one read per record (each listed once) to the access log, in one transaction:
    a page that lists several patients' data (a recall, the adverse events)."""
    stamp = at or now()
    with writing(db) as uow:
        for entity_id in dict.fromkeys(entity_ids):
            uow.access_log.append(
                at=stamp,
                clinic_id=clinic_id,
                user_id=user_id,
                action="read",
                entity=entity,
                entity_id=str(entity_id),
                via=via,
            )


def records_version(db: Database) -> str:
    """The records version: changes with every write to the clinical record (each write
    appends to the audit chain), so what a page showed at one version is right until it moves.
    """
    return RequestPath(db).records_version()


def patient_record(
    db: Database, clinic_id: uuid.UUID, patient_id: uuid.UUID, *, reader: uuid.UUID, via: str
) -> PatientRecord:
    """A patient's record for ``reader``; the read is in the access log before it is returned.

    Another clinic's patient is :class:`~dosemap.persistence.errors.NotFoundError` (and no
    access entry is written, as nothing was read).
    """
    record = unlogged_patient_record(db, clinic_id, patient_id)
    record_read(
        db, clinic_id=clinic_id, user_id=reader, entity="patient", entity_id=patient_id, via=via
    )
    return record


def unlogged_patient_record(
    db: Database, clinic_id: uuid.UUID, patient_id: uuid.UUID
) -> PatientRecord:
    """A patient's record WITHOUT writing the access log: the caller must log the read before
    showing it (the web app does, through :class:`~dosemap.services.access_log.AccessLogWriter`).
    """
    at = now()
    with reading(db) as uow:
        p = uow.patients.get(clinic_id, patient_id)
        timezone = uow.clinic_day.clinic_name_and_timezone(clinic_id)[1]
        intake = uow.patients.latest_intake(clinic_id, patient_id, at)
        consents = uow.reporting.consents_of(clinic_id, patient_id)
        on_file = uow.patients.consent_on_file(clinic_id, patient_id, MICRODOSE_PROCEDURE, at)
    timeline = patient_timeline(db, clinic_id, patient_id)
    micro = [c for c in consents if c.procedure == MICRODOSE_PROCEDURE]
    latest = max(micro, key=lambda c: c.signed_at) if micro else None
    return PatientRecord(
        patient_id=p.id,
        chart_number=p.chart_number,
        given_name=p.given_name,
        family_name=p.family_name,
        date_of_birth=p.date_of_birth,
        sex=p.sex,
        phone=p.phone,
        email=p.email,
        fitzpatrick_type=p.fitzpatrick_type,
        skin_type=p.skin_type,
        version=p.version,
        timezone=timezone,
        timeline=timeline,
        consent=ConsentStatus(
            on_file,
            latest.text_version if latest else None,
            latest.signed_at if latest else None,
        ),
        latest_intake_answers=dict(intake.answers) if intake is not None else None,
        latest_intake_at=intake.answered_at if intake is not None else None,
    )


def access_log(
    db: Database, clinic_id: uuid.UUID, limit: int = 200, entity_id: str | None = None
) -> list[AccessLine]:
    """The clinic's newest access-log entries."""
    with reading(db) as uow:
        return uow.access_log.recent(clinic_id, limit, entity_id)
