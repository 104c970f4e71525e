"""Patients, intake questionnaires and consent."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import AwareDatetime, Field

from dosemap.domain.errors import InvalidInputError
from dosemap.domain.intake import Intake as IntakeAnswers
from dosemap.persistence.db import Database
from dosemap.persistence.models import Consent, IntakeRecord, Patient
from dosemap.persistence.unit_of_work import reading, writing
from dosemap.services._common import Input, check_version, in_range, now, snap
from dosemap.services.staff import MICRODOSE_PROCEDURE, PNG_SIGNATURE

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
SkinType = Literal["dry", "normal", "oily", "combination", "sensitive"]


class PatientInput(Input):
    """A patient's identity and skin."""

    chart_number: str = Field(min_length=1, max_length=40)
    given_name: str = Field(min_length=1, max_length=120)
    family_name: str = Field(min_length=1, max_length=120)
    date_of_birth: date
    sex: str | None = Field(default=None, max_length=20)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=200, pattern=EMAIL_PATTERN)
    fitzpatrick_type: int | None = Field(default=None, ge=1, le=6)
    skin_type: SkinType | None = None


class PatientUpdate(Input):
    """Fields to change (``None`` leaves a field as it is)."""

    given_name: str | None = Field(default=None, min_length=1, max_length=120)
    family_name: str | None = Field(default=None, min_length=1, max_length=120)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=200, pattern=EMAIL_PATTERN)
    fitzpatrick_type: int | None = Field(default=None, ge=1, le=6)
    skin_type: SkinType | None = None


class ConsentInput(Input):
    """A signed consent form."""

    procedure: str = Field(default=MICRODOSE_PROCEDURE, max_length=60)
    text_version: str = Field(min_length=1, max_length=40)
    text: str = Field(min_length=1)
    signature: str = Field(min_length=1, max_length=200)
    signed_at: AwareDatetime
    witness_name: str | None = Field(default=None, max_length=200)
    #: The drawn signature as a PNG, when the patient signed on a screen (shown on the PDF).
    signature_png: bytes | None = Field(default=None, max_length=512 * 1024)


def register_patient(
    db: Database, clinic_id: uuid.UUID, data: PatientInput, *, actor: str
) -> Patient:
    """Create a patient record."""
    if data.date_of_birth > date.today():
        raise InvalidInputError("date_of_birth", "is in the future", "a past date")
    in_range("date_of_birth", data.date_of_birth)
    with writing(db) as uow:
        uow.clinics.get(clinic_id)
        existing = uow.patients.ids_matching(clinic_id, data.chart_number)
        if existing:
            raise InvalidInputError(
                "chart_number",
                f"{data.chart_number} is already patient {existing[0]}",
                "a chart number not in use",
            )
        stamp = now()
        patient = Patient(
            id=uuid.uuid4(),
            clinic_id=clinic_id,
            created_at=stamp,
            updated_at=stamp,
            **data.model_dump(),
        )
        uow.patients.add(patient)
        uow.audit.record(
            clinic_id=clinic_id,
            actor=actor,
            action="create",
            entity="patient",
            entity_id=patient.id,
            before=None,
            after=patient,
        )
        return patient


def update_patient(
    db: Database,
    clinic_id: uuid.UUID,
    patient_id: uuid.UUID,
    data: PatientUpdate,
    *,
    expected_version: int,
    actor: str,
) -> Patient:
    """Change a patient's details; refuses if someone saved them since ``expected_version``."""
    with writing(db) as uow:
        patient = uow.patients.get(clinic_id, patient_id)
        check_version(patient, expected_version, "patient")
        before = snap(patient)
        for key, value in data.model_dump(exclude_none=True).items():
            setattr(patient, key, value)
        patient.updated_at = now()
        uow.audit.record(
            clinic_id=clinic_id,
            actor=actor,
            action="update",
            entity="patient",
            entity_id=patient.id,
            before=before,
            after=patient,
        )
        return patient


def get_patient(db: Database, clinic_id: uuid.UUID, patient_id: uuid.UUID) -> Patient:
    """One patient of this clinic."""
    with reading(db) as uow:
        return uow.patients.get(clinic_id, patient_id)


def patients_matching(db: Database, clinic_id: uuid.UUID, ref: str) -> list[uuid.UUID]:
    """Patients whose id or chart number is ``ref`` (what a person typed)."""
    with reading(db) as uow:
        return uow.patients.ids_matching(clinic_id, ref)


def find_patients(
    db: Database, clinic_id: uuid.UUID, text: str = "", limit: int = 50
) -> list[Patient]:
    """Patients whose chart number or name starts with ``text``."""
    with reading(db) as uow:
        return uow.patients.search(clinic_id, text, limit)


def record_intake(
    db: Database,
    clinic_id: uuid.UUID,
    patient_id: uuid.UUID,
    answers: IntakeAnswers,
    *,
    answered_at: datetime,
    actor: str,
    recorded_by: uuid.UUID | None = None,
) -> IntakeRecord:
    """Store an answered questionnaire (the core's :class:`~dosemap.domain.intake.Intake`)."""
    if answered_at.tzinfo is None:
        raise InvalidInputError("answered_at", "has no time zone", "an ISO time with offset")
    with writing(db) as uow:
        uow.patients.get(clinic_id, patient_id)
        row = IntakeRecord(
            id=uuid.uuid4(),
            clinic_id=clinic_id,
            patient_id=patient_id,
            questionnaire_version=answers.schema_version,
            answered_at=answered_at,
            answers=answers.model_dump(mode="json"),
            recorded_by=recorded_by,
            created_at=now(),
        )
        uow.patients.add(row)
        uow.audit.record(
            clinic_id=clinic_id,
            actor=actor,
            action="create",
            entity="intake",
            entity_id=row.id,
            before=None,
            after=row,
        )
        return row


def record_consent(
    db: Database, clinic_id: uuid.UUID, patient_id: uuid.UUID, data: ConsentInput, *, actor: str
) -> Consent:
    """Store a signed consent; the text itself is kept by version and SHA-256."""
    in_range("signed_at", data.signed_at)
    if data.signature_png is not None and not data.signature_png.startswith(PNG_SIGNATURE):
        raise InvalidInputError("signature_png", "is not a PNG image", "a PNG file")
    with writing(db) as uow:
        uow.patients.get(clinic_id, patient_id)
        row = Consent(
            id=uuid.uuid4(),
            clinic_id=clinic_id,
            patient_id=patient_id,
            procedure=data.procedure,
            text_version=data.text_version,
            text_sha256=hashlib.sha256(data.text.encode()).hexdigest(),
            signature=data.signature,
            signed_at=data.signed_at,
            witness_name=data.witness_name,
            signature_png=data.signature_png,
            text=data.text,
            created_at=now(),
        )
        uow.patients.add(row)
        uow.audit.record(
            clinic_id=clinic_id,
            actor=actor,
            action="create",
            entity="consent",
            entity_id=row.id,
            before=None,
            after=row,
        )
        return row
