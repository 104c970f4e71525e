"""Read-only questions the exports ask (CSV, calendar, FHIR, PDFs): whole records of a clinic,
one patient or a time window, loaded in a few queries and in a stable order.

Every list is ordered by its record's time and then its id, so the same records always export
to the same bytes.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from dosemap.persistence.errors import NotFoundError
from dosemap.persistence.models import (
    AdverseEvent,
    Amendment,
    Consent,
    Credential,
    FindingAcknowledgement,
    FollowUp,
    IntakeRecord,
    OutcomeMeasurement,
    Patient,
    PhotoRecord,
    ProductLot,
    SessionVialUsage,
    Staff,
    TreatmentSession,
    Vial,
)
from dosemap.persistence.repositories._base import Repository


class ExportQueries(Repository):
    """Loads what an export writes; never writes."""

    def patients(
        self, clinic_id: uuid.UUID, patient_ids: Collection[uuid.UUID] | None = None
    ) -> list[Patient]:
        """The clinic's patients (or those of ``patient_ids``), by chart number."""
        q = select(Patient).where(Patient.clinic_id == clinic_id)
        if patient_ids is not None:
            q = q.where(Patient.id.in_(list(patient_ids)))
        return list(self.session.execute(q.order_by(Patient.chart_number, Patient.id)).scalars())

    def sessions(
        self,
        clinic_id: uuid.UUID,
        *,
        patient_id: uuid.UUID | None = None,
        since: datetime | None = None,
        session_ids: Collection[uuid.UUID] | None = None,
    ) -> list[TreatmentSession]:
        """Sessions with their chart points, by time (performed, else scheduled) then id.

        ``since`` keeps sessions performed (or, not yet performed, scheduled) at or after it.
        """
        when = func.coalesce(TreatmentSession.performed_at, TreatmentSession.scheduled_at)
        q = (
            select(TreatmentSession)
            .options(selectinload(TreatmentSession.points))
            .where(TreatmentSession.clinic_id == clinic_id)
        )
        if patient_id is not None:
            q = q.where(TreatmentSession.patient_id == patient_id)
        if since is not None:
            q = q.where(when >= since)
        if session_ids is not None:
            q = q.where(TreatmentSession.id.in_(list(session_ids)))
        return list(self.session.execute(q.order_by(when, TreatmentSession.id)).scalars())

    def vial_usage(self, session_ids: Collection[uuid.UUID]) -> list[SessionVialUsage]:
        """Units each session drew from each vial."""
        if not session_ids:
            return []
        return list(
            self.session.execute(
                select(SessionVialUsage)
                .where(SessionVialUsage.session_id.in_(list(session_ids)))
                .order_by(SessionVialUsage.session_id, SessionVialUsage.vial_id)
            ).scalars()
        )

    def vials(
        self, clinic_id: uuid.UUID, vial_ids: Collection[uuid.UUID] | None = None
    ) -> list[tuple[Vial, ProductLot]]:
        """Vials (all, or ``vial_ids``) with their lot, by reconstitution time then id."""
        q = (
            select(Vial, ProductLot)
            .join(ProductLot, ProductLot.id == Vial.lot_id)
            .where(Vial.clinic_id == clinic_id)
        )
        if vial_ids is not None:
            q = q.where(Vial.id.in_(list(vial_ids)))
        q = q.order_by(Vial.reconstituted_at, Vial.id)
        return [(vial, lot) for vial, lot in self.session.execute(q)]

    def units_charted(self, clinic_id: uuid.UUID) -> dict[uuid.UUID, tuple[int, Decimal]]:
        """Per vial: (sessions, units charted) from the vial usage records."""
        rows = self.session.execute(
            select(
                SessionVialUsage.vial_id,
                func.count(),
                func.sum(SessionVialUsage.units),
            )
            .where(SessionVialUsage.clinic_id == clinic_id)
            .group_by(SessionVialUsage.vial_id)
        )
        return {vial_id: (int(n), Decimal(units or 0) + 0) for vial_id, n, units in rows}

    def staff(
        self, clinic_id: uuid.UUID, staff_ids: Collection[uuid.UUID] | None = None
    ) -> list[Staff]:
        """Staff (all, or ``staff_ids``) with their credentials, by name then id."""
        q = (
            select(Staff)
            .options(selectinload(Staff.credentials))
            .where(Staff.clinic_id == clinic_id)
        )
        if staff_ids is not None:
            q = q.where(Staff.id.in_(list(staff_ids)))
        return list(self.session.execute(q.order_by(Staff.display_name, Staff.id)).scalars())

    def credentials(self, clinic_id: uuid.UUID, staff_id: uuid.UUID) -> list[Credential]:
        """A staff member's credentials, by type then id."""
        return list(
            self.session.execute(
                select(Credential)
                .where(Credential.clinic_id == clinic_id, Credential.staff_id == staff_id)
                .order_by(Credential.type, Credential.id)
            ).scalars()
        )

    def consents(self, clinic_id: uuid.UUID, patient_ids: Collection[uuid.UUID]) -> list[Consent]:
        """The patients' consents, by signing time then id."""
        return list(
            self.session.execute(
                select(Consent)
                .where(Consent.clinic_id == clinic_id, Consent.patient_id.in_(list(patient_ids)))
                .order_by(Consent.signed_at, Consent.id)
            ).scalars()
        )

    def intakes(
        self, clinic_id: uuid.UUID, patient_ids: Collection[uuid.UUID]
    ) -> list[IntakeRecord]:
        """The patients' intake questionnaires, by answer time then id."""
        return list(
            self.session.execute(
                select(IntakeRecord)
                .where(
                    IntakeRecord.clinic_id == clinic_id,
                    IntakeRecord.patient_id.in_(list(patient_ids)),
                )
                .order_by(IntakeRecord.answered_at, IntakeRecord.id)
            ).scalars()
        )

    def adverse_events(
        self,
        clinic_id: uuid.UUID,
        *,
        patient_ids: Collection[uuid.UUID] | None = None,
        since: datetime | None = None,
    ) -> list[AdverseEvent]:
        """Adverse events (of ``patient_ids``; with onset at or after ``since``), by onset."""
        q = select(AdverseEvent).where(AdverseEvent.clinic_id == clinic_id)
        if patient_ids is not None:
            q = q.where(AdverseEvent.patient_id.in_(list(patient_ids)))
        if since is not None:
            q = q.where(AdverseEvent.onset_at >= since)
        return list(
            self.session.execute(q.order_by(AdverseEvent.onset_at, AdverseEvent.id)).scalars()
        )

    def followups(
        self,
        clinic_id: uuid.UUID,
        *,
        patient_ids: Collection[uuid.UUID] | None = None,
        status: str | None = None,
        due_from: date | None = None,
        due_until: date | None = None,
    ) -> list[tuple[FollowUp, Patient]]:
        """Follow-ups with their patient, by due day then id."""
        q = (
            select(FollowUp, Patient)
            .join(Patient, Patient.id == FollowUp.patient_id)
            .where(FollowUp.clinic_id == clinic_id)
        )
        if patient_ids is not None:
            q = q.where(FollowUp.patient_id.in_(list(patient_ids)))
        if status is not None:
            q = q.where(FollowUp.status == status)
        if due_from is not None:
            q = q.where(FollowUp.due_on >= due_from)
        if due_until is not None:
            q = q.where(FollowUp.due_on <= due_until)
        q = q.order_by(FollowUp.due_on, FollowUp.id)
        return [(fu, p) for fu, p in self.session.execute(q)]

    def amendments(self, session_ids: Collection[uuid.UUID]) -> list[Amendment]:
        """The sessions' amendments, by session then number."""
        if not session_ids:
            return []
        return list(
            self.session.execute(
                select(Amendment)
                .where(Amendment.session_id.in_(list(session_ids)))
                .order_by(Amendment.session_id, Amendment.number)
            ).scalars()
        )

    def acknowledgements(self, session_ids: Collection[uuid.UUID]) -> list[FindingAcknowledgement]:
        """Acknowledged findings of the sessions, by session, time, then code."""
        if not session_ids:
            return []
        return list(
            self.session.execute(
                select(FindingAcknowledgement)
                .where(FindingAcknowledgement.session_id.in_(list(session_ids)))
                .order_by(
                    FindingAcknowledgement.session_id,
                    FindingAcknowledgement.acknowledged_at,
                    FindingAcknowledgement.code,
                )
            ).scalars()
        )

    def measurements(
        self, clinic_id: uuid.UUID, patient_ids: Collection[uuid.UUID]
    ) -> list[tuple[OutcomeMeasurement, PhotoRecord]]:
        """Photo measurements of the patients with the photo they come from, by time then id."""
        q = (
            select(OutcomeMeasurement, PhotoRecord)
            .join(PhotoRecord, PhotoRecord.id == OutcomeMeasurement.photo_id)
            .where(
                OutcomeMeasurement.clinic_id == clinic_id,
                PhotoRecord.patient_id.in_(list(patient_ids)),
            )
            .order_by(OutcomeMeasurement.measured_at, OutcomeMeasurement.id)
        )
        return [(m, p) for m, p in self.session.execute(q)]

    def consent(self, clinic_id: uuid.UUID, consent_id: uuid.UUID) -> Consent:
        """One consent of the clinic, or :class:`NotFoundError`."""
        row = self.session.execute(
            select(Consent).where(Consent.id == consent_id, Consent.clinic_id == clinic_id)
        ).scalar_one_or_none()
        if row is None:
            raise NotFoundError("consent", str(consent_id))
        return row
