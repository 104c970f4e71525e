"""Questions the record answers fast: timeline, rolling units, lot recall, usage per month."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from dosemap.persistence.db import Database
from dosemap.persistence.models import (
    AdverseEvent,
    Consent,
    FollowUp,
    Intake,
    Patient,
    ProductLot,
    SessionVialUsage,
    TreatmentSession,
    Vial,
)
from dosemap.services._common import get_scoped


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
    with db.read() as s:
        get_scoped(s, Patient, clinic_id, patient_id)
        events: list[TimelineEvent] = []
        for row in s.execute(
            select(
                TreatmentSession.id,
                TreatmentSession.status,
                TreatmentSession.product,
                TreatmentSession.scheduled_at,
                TreatmentSession.performed_at,
                TreatmentSession.total_units,
                TreatmentSession.planned_units,
            ).where(
                TreatmentSession.clinic_id == clinic_id, TreatmentSession.patient_id == patient_id
            )
        ):
            units = row.total_units if row.total_units is not None else row.planned_units
            events.append(
                TimelineEvent(
                    row.performed_at or row.scheduled_at,
                    "session",
                    row.id,
                    f"{row.status} {row.product} {units} U",
                )
            )
        for ae in s.execute(
            select(AdverseEvent).where(
                AdverseEvent.clinic_id == clinic_id, AdverseEvent.patient_id == patient_id
            )
        ).scalars():
            events.append(
                TimelineEvent(ae.onset_at, "adverse_event", ae.id, f"{ae.severity} {ae.kind}")
            )
        for it in s.execute(
            select(Intake.id, Intake.answered_at, Intake.questionnaire_version).where(
                Intake.clinic_id == clinic_id, Intake.patient_id == patient_id
            )
        ):
            events.append(
                TimelineEvent(
                    it.answered_at, "intake", it.id, f"intake v{it.questionnaire_version}"
                )
            )
        for c in s.execute(
            select(Consent.id, Consent.signed_at, Consent.procedure, Consent.text_version).where(
                Consent.clinic_id == clinic_id, Consent.patient_id == patient_id
            )
        ):
            events.append(
                TimelineEvent(
                    c.signed_at, "consent", c.id, f"consent {c.procedure} v{c.text_version}"
                )
            )
        for fu in s.execute(
            select(FollowUp).where(
                FollowUp.clinic_id == clinic_id, FollowUp.patient_id == patient_id
            )
        ).scalars():
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
    with db.read() as s:
        total, count = s.execute(
            select(func.sum(TreatmentSession.botox_equivalent_units), func.count()).where(
                TreatmentSession.clinic_id == clinic_id,
                TreatmentSession.patient_id == patient_id,
                TreatmentSession.performed_at > as_of - timedelta(days=days),
                TreatmentSession.performed_at <= as_of,
                TreatmentSession.status.in_(("charted", "signed")),
            )
        ).one()
        return RollingUnits(as_of, days, Decimal(total or 0) + 0, int(count))


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
    with db.read() as s:
        rows = s.execute(
            select(
                Patient.id,
                Patient.chart_number,
                Patient.given_name,
                Patient.family_name,
                Patient.phone,
                Patient.email,
                TreatmentSession.id,
                TreatmentSession.performed_at,
                Vial.id,
                Vial.label,
                ProductLot.product,
                ProductLot.lot_number,
                SessionVialUsage.units,
            )
            .select_from(ProductLot)
            .join(Vial, Vial.lot_id == ProductLot.id)
            .join(SessionVialUsage, SessionVialUsage.vial_id == Vial.id)
            .join(TreatmentSession, TreatmentSession.id == SessionVialUsage.session_id)
            .join(Patient, Patient.id == TreatmentSession.patient_id)
            .where(ProductLot.clinic_id == clinic_id, ProductLot.lot_number == lot_number)
            .order_by(Patient.family_name, Patient.given_name, TreatmentSession.performed_at)
        ).all()
        return [
            RecallHit(
                pid,
                chart,
                f"{given} {family}",
                phone,
                email,
                sid,
                performed,
                vid,
                label,
                product,
                lot,
                units,
            )
            for (
                pid,
                chart,
                given,
                family,
                phone,
                email,
                sid,
                performed,
                vid,
                label,
                product,
                lot,
                units,
            ) in rows
        ]


def units_per_product_month(
    db: Database, clinic_id: uuid.UUID, since: datetime, until: datetime
) -> dict[tuple[str, str], Decimal]:
    """Units charted per (product, ``YYYY-MM``) in UTC months."""
    with db.read() as s:
        if db.is_sqlite:
            month = func.strftime("%Y-%m", TreatmentSession.performed_at)
        else:
            month = func.to_char(func.timezone("UTC", TreatmentSession.performed_at), "YYYY-MM")
        rows = s.execute(
            select(
                TreatmentSession.product,
                month.label("month"),
                func.sum(TreatmentSession.total_units),
            )
            .where(
                TreatmentSession.clinic_id == clinic_id,
                TreatmentSession.performed_at >= since,
                TreatmentSession.performed_at < until,
                TreatmentSession.status.in_(("charted", "signed")),
            )
            .group_by(TreatmentSession.product, month)
        ).all()
        out: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for product, m, total in rows:
            out[(product, str(m))] += Decimal(total or 0)
        return dict(sorted(out.items()))
