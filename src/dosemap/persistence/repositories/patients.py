"""Patients with their intake questionnaires and consents."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select

from dosemap.persistence.models import Consent, IntakeRecord, Patient
from dosemap.persistence.repositories._base import ScopedRepository, as_uuid_or_none


class PatientRepository(ScopedRepository[Patient]):
    """Patients of a clinic and what they answered and signed."""

    model = Patient

    def search(self, clinic_id: uuid.UUID, text: str, limit: int) -> list[Patient]:
        """Patients whose chart number or name starts with ``text``, by name."""
        q = select(Patient).where(Patient.clinic_id == clinic_id)
        if text:
            like = f"{text}%"
            q = q.where(
                Patient.chart_number.ilike(like)
                | Patient.family_name.ilike(like)
                | Patient.given_name.ilike(like)
            )
        q = q.order_by(Patient.family_name, Patient.given_name).limit(limit)
        return list(self.session.execute(q).scalars())

    def ids_matching(self, clinic_id: uuid.UUID, ref: str) -> list[uuid.UUID]:
        """Patients whose id or chart number is ``ref``."""
        q = select(Patient.id).where(Patient.clinic_id == clinic_id)
        found = as_uuid_or_none(ref)
        q = q.where(Patient.id == found) if found else q.where(Patient.chart_number == ref)
        return list(self.session.execute(q).scalars())

    def count(self, clinic_id: uuid.UUID) -> int:
        """How many patients the clinic has."""
        return int(
            self.session.execute(
                select(func.count()).select_from(Patient).where(Patient.clinic_id == clinic_id)
            ).scalar_one()
        )

    def latest_intake(
        self, clinic_id: uuid.UUID, patient_id: uuid.UUID, before: datetime
    ) -> IntakeRecord | None:
        """The newest intake answered at or before ``before``."""
        return self.session.execute(
            select(IntakeRecord)
            .where(
                IntakeRecord.clinic_id == clinic_id,
                IntakeRecord.patient_id == patient_id,
                IntakeRecord.answered_at <= before,
            )
            .order_by(IntakeRecord.answered_at.desc())
            .limit(1)
        ).scalar_one_or_none()

    def consent_on_file(
        self, clinic_id: uuid.UUID, patient_id: uuid.UUID, procedure: str, at: datetime
    ) -> bool:
        """True when a consent for ``procedure`` signed by ``at`` is on file, not withdrawn."""
        found = self.session.execute(
            select(Consent.id)
            .where(
                Consent.clinic_id == clinic_id,
                Consent.patient_id == patient_id,
                Consent.procedure == procedure,
                Consent.signed_at <= at,
                Consent.withdrawn_at.is_(None),
            )
            .limit(1)
        ).first()
        return found is not None
