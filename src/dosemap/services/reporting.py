"""Questions the record answers fast: timeline, rolling units, lot recall, usage per month."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from dosemap.persistence.db import Database
from dosemap.persistence.unit_of_work import reading
from dosemap.services.sessions import product_figures, products_text


@dataclass(frozen=True)
class TimelineEvent:
    """One thing that happened to (or is due for) a patient."""

    at: datetime
    kind: str  # intake, consent, session, adverse_event, followup
    record_id: uuid.UUID
    summary: str


def patient_timeline(
    db: Database, clinic_id: uuid.UUID, patient_id: uuid.UUID
) -> list[TimelineEvent]:
    """Everything on a patient's record, oldest first."""
    with reading(db) as uow:
        uow.patients.get(clinic_id, patient_id)
        q = uow.reporting
        events: list[TimelineEvent] = []
        rows = uow.sessions.of_patient(clinic_id, patient_id)
        figures = product_figures(uow, rows)
        for row in rows:
            # Each product with its own units (charted, else planned): never added.
            events.append(
                TimelineEvent(
                    row.performed_at or row.scheduled_at,
                    "session",
                    row.id,
                    f"{row.status} {products_text(figures[row.id])}",
                )
            )
        for ae in q.adverse_events_of(clinic_id, patient_id):
            events.append(
                TimelineEvent(ae.onset_at, "adverse_event", ae.id, f"{ae.severity} {ae.kind}")
            )
        for it in q.intakes_of(clinic_id, patient_id):
            events.append(
                TimelineEvent(
                    it.answered_at, "intake", it.id, f"intake v{it.questionnaire_version}"
                )
            )
        for c in q.consents_of(clinic_id, patient_id):
            events.append(
                TimelineEvent(
                    c.signed_at, "consent", c.id, f"consent {c.procedure} v{c.text_version}"
                )
            )
        for fu in q.followups_of(clinic_id, patient_id):
            at = datetime.combine(fu.due_on, datetime.min.time(), tzinfo=UTC)
            events.append(TimelineEvent(at, "followup", fu.id, f"{fu.kind} due ({fu.status})"))
        return sorted(events, key=lambda e: (e.at, e.kind))


@dataclass(frozen=True)
class RollingUnits:
    """Botox-equivalent units charted in a window ending at ``as_of``."""

    as_of: datetime
    days: int
    botox_equivalent_units: Decimal
    sessions: int


def rolling_units(
    db: Database, clinic_id: uuid.UUID, patient_id: uuid.UUID, as_of: datetime, days: int = 90
) -> RollingUnits:
    """Botox-equivalent units across all products in the ``days`` before ``as_of``.

    Equivalents were computed with the core's conversion when each session was charted.
    """
    with reading(db) as uow:
        total, count = uow.reporting.equivalent_units_between(
            clinic_id, patient_id, as_of - timedelta(days=days), as_of
        )
        return RollingUnits(as_of, days, total, count)


@dataclass(frozen=True)
class RecallHit:
    """A patient who received a recalled lot, from which vial and session."""

    patient_id: uuid.UUID
    chart_number: str
    patient_name: str
    phone: str | None
    email: str | None
    session_id: uuid.UUID
    performed_at: datetime | None
    vial_id: uuid.UUID
    vial_label: str
    product: str
    lot_number: str
    units: Decimal


def lot_recall(db: Database, clinic_id: uuid.UUID, lot_number: str) -> list[RecallHit]:
    """Every patient who received ``lot_number``, with contact details, vial and session."""
    with reading(db) as uow:
        return [
            RecallHit(
                r.patient_id,
                r.chart_number,
                f"{r.given_name} {r.family_name}",
                r.phone,
                r.email,
                r.session_id,
                r.performed_at,
                r.vial_id,
                r.vial_label,
                r.product,
                r.lot_number,
                r.units,
            )
            for r in uow.reporting.recall(clinic_id, lot_number)
        ]


def units_per_product_month(
    db: Database, clinic_id: uuid.UUID, since: datetime, until: datetime
) -> dict[tuple[str, str], Decimal]:
    """Units charted per (product, ``YYYY-MM``) in UTC months."""
    with reading(db) as uow:
        out: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for product, month, total in uow.reporting.units_per_product_month(clinic_id, since, until):
            out[(product, month)] += total
        return dict(sorted(out.items()))
