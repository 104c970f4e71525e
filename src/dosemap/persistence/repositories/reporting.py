"""Read-only questions across aggregates: a patient's timeline, rolling units, lot recall,
units per product and month."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, func, select

from dosemap.persistence.models import (
    AdverseEvent,
    Consent,
    FollowUp,
    IntakeRecord,
    Patient,
    ProductLot,
    SessionVialUsage,
    TreatmentSession,
    Vial,
)
from dosemap.persistence.repositories._base import Repository
from dosemap.persistence.repositories.sessions import PERFORMED


@dataclass(frozen=True)
class SessionLine:
    """A session as a timeline shows it."""

    id: uuid.UUID
    status: str
    product: str
    scheduled_at: datetime
    performed_at: datetime | None
    total_units: Decimal | None
    planned_units: Decimal


@dataclass(frozen=True)
class IntakeLine:
    """An intake as a timeline shows it."""

    id: uuid.UUID
    answered_at: datetime
    questionnaire_version: str


@dataclass(frozen=True)
class ConsentLine:
    """A consent as a timeline shows it."""

    id: uuid.UUID
    signed_at: datetime
    procedure: str
    text_version: str


@dataclass(frozen=True)
class RecallLine:
    """One vial of a lot charted in one session, with the patient to call."""

    patient_id: uuid.UUID
    chart_number: str
    given_name: str
    family_name: str
    phone: str | None
    email: str | None
    session_id: uuid.UUID
    performed_at: datetime | None
    vial_id: uuid.UUID
    vial_label: str
    product: str
    lot_number: str
    units: Decimal


@dataclass(frozen=True)
class AdverseEventLine:
    """An adverse event with the patient it happened to (the clinic's list)."""

    id: uuid.UUID
    version: int
    onset_at: datetime
    kind: str
    severity: str
    action: str | None
    outcome: str | None
    session_id: uuid.UUID | None
    patient_id: uuid.UUID
    chart_number: str
    given_name: str
    family_name: str


class Reporting(Repository):
    """Queries that read several aggregates at once (never write)."""

    def sessions_of(self, clinic_id: uuid.UUID, patient_id: uuid.UUID) -> list[SessionLine]:
        """The patient's sessions, any status."""
        rows = self.session.execute(
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
        )
        return [SessionLine(*row) for row in rows]

    def adverse_events_of(self, clinic_id: uuid.UUID, patient_id: uuid.UUID) -> list[AdverseEvent]:
        """The patient's adverse events."""
        return list(
            self.session.execute(
                select(AdverseEvent).where(
                    AdverseEvent.clinic_id == clinic_id, AdverseEvent.patient_id == patient_id
                )
            ).scalars()
        )

    def adverse_events_of_clinic(
        self, clinic_id: uuid.UUID, limit: int, severity: str | None = None
    ) -> list[AdverseEventLine]:
        """The clinic's adverse events with their patients, newest onset first."""
        q = (
            select(
                AdverseEvent.id,
                AdverseEvent.version,
                AdverseEvent.onset_at,
                AdverseEvent.kind,
                AdverseEvent.severity,
                AdverseEvent.action,
                AdverseEvent.outcome,
                AdverseEvent.session_id,
                Patient.id,
                Patient.chart_number,
                Patient.given_name,
                Patient.family_name,
            )
            .join(Patient, Patient.id == AdverseEvent.patient_id)
            .where(AdverseEvent.clinic_id == clinic_id)
            .order_by(AdverseEvent.onset_at.desc(), AdverseEvent.id)
            .limit(limit)
        )
        if severity is not None:
            q = q.where(AdverseEvent.severity == severity)
        return [AdverseEventLine(*tuple(row)) for row in self.session.execute(q)]

    def patient_labels(
        self, clinic_id: uuid.UUID, patient_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, tuple[str, str]]:
        """(chart number, "Family, Given") of each of the clinic's patients named."""
        if not patient_ids:
            return {}
        rows = self.session.execute(
            select(Patient.id, Patient.chart_number, Patient.family_name, Patient.given_name).where(
                Patient.clinic_id == clinic_id, Patient.id.in_(patient_ids)
            )
        )
        return {pid: (chart, f"{family}, {given}") for pid, chart, family, given in rows}

    def intakes_of(self, clinic_id: uuid.UUID, patient_id: uuid.UUID) -> list[IntakeLine]:
        """The patient's intake questionnaires."""
        rows = self.session.execute(
            select(
                IntakeRecord.id, IntakeRecord.answered_at, IntakeRecord.questionnaire_version
            ).where(IntakeRecord.clinic_id == clinic_id, IntakeRecord.patient_id == patient_id)
        )
        return [IntakeLine(*row) for row in rows]

    def consents_of(self, clinic_id: uuid.UUID, patient_id: uuid.UUID) -> list[ConsentLine]:
        """The patient's consents."""
        rows = self.session.execute(
            select(Consent.id, Consent.signed_at, Consent.procedure, Consent.text_version).where(
                Consent.clinic_id == clinic_id, Consent.patient_id == patient_id
            )
        )
        return [ConsentLine(*row) for row in rows]

    def followups_of(self, clinic_id: uuid.UUID, patient_id: uuid.UUID) -> list[FollowUp]:
        """The patient's follow-ups, any status."""
        return list(
            self.session.execute(
                select(FollowUp).where(
                    FollowUp.clinic_id == clinic_id, FollowUp.patient_id == patient_id
                )
            ).scalars()
        )

    def equivalent_units_between(
        self, clinic_id: uuid.UUID, patient_id: uuid.UUID, after: datetime, until: datetime
    ) -> tuple[Decimal, int]:
        """Botox-equivalent units and sessions performed in ``(after, until]``."""
        total, count = self.session.execute(
            select(func.sum(TreatmentSession.botox_equivalent_units), func.count()).where(
                TreatmentSession.clinic_id == clinic_id,
                TreatmentSession.patient_id == patient_id,
                TreatmentSession.performed_at > after,
                TreatmentSession.performed_at <= until,
                TreatmentSession.status.in_(PERFORMED),
            )
        ).one()
        return Decimal(total or 0) + 0, int(count)

    def recall(self, clinic_id: uuid.UUID, lot_number: str) -> list[RecallLine]:
        """Every vial of ``lot_number`` charted in a session, by patient name and time."""
        rows = self.session.execute(
            select(
                Patient.id.label("patient_id"),
                Patient.chart_number,
                Patient.given_name,
                Patient.family_name,
                Patient.phone,
                Patient.email,
                TreatmentSession.id.label("session_id"),
                TreatmentSession.performed_at,
                Vial.id.label("vial_id"),
                Vial.label.label("vial_label"),
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
        )
        return [RecallLine(**row._asdict()) for row in rows]

    def units_per_product_month(
        self, clinic_id: uuid.UUID, since: datetime, until: datetime
    ) -> list[tuple[str, str, Decimal]]:
        """(product, ``YYYY-MM`` in UTC, units charted) for sessions in ``[since, until)``."""
        month: ColumnElement[str]
        if self.session.get_bind().dialect.name == "sqlite":
            month = func.strftime("%Y-%m", TreatmentSession.performed_at)
        else:
            month = func.to_char(func.timezone("UTC", TreatmentSession.performed_at), "YYYY-MM")
        # Per product from the vial usage (each vial's lot names its product): a session of
        # several products counts each product's own units, never one product's for all.
        rows = self.session.execute(
            select(
                ProductLot.product,
                month.label("month"),
                func.sum(SessionVialUsage.units),
            )
            .select_from(SessionVialUsage)
            .join(TreatmentSession, TreatmentSession.id == SessionVialUsage.session_id)
            .join(Vial, Vial.id == SessionVialUsage.vial_id)
            .join(ProductLot, ProductLot.id == Vial.lot_id)
            .where(
                TreatmentSession.clinic_id == clinic_id,
                TreatmentSession.performed_at >= since,
                TreatmentSession.performed_at < until,
                TreatmentSession.status.in_(PERFORMED),
            )
            .group_by(ProductLot.product, month)
        )
        return [(product, str(m), Decimal(total or 0)) for product, m, total in rows]
