"""Clinics, staff, credentials and the clinic's procedure policy."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from dosemap.persistence.db import Database
from dosemap.persistence.errors import NotFoundError
from dosemap.persistence.models import Clinic, Credential, ProcedurePolicy, Staff
from dosemap.services._common import Input, get_scoped, now, record

#: The procedure a micro-dose toxin session is recorded as (policies name it).
MICRODOSE_PROCEDURE = "neuromodulator_microdose"

Role = Literal["admin", "injector", "front_desk"]


class ClinicInput(Input):
    """A new clinic."""

    name: str = Field(min_length=1, max_length=200)
    jurisdiction: str = Field(min_length=2, max_length=40, pattern=r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")
    timezone: str = Field(default="UTC", max_length=64)
    beyond_use_policy: str = Field(default="label", pattern=r"^[a-z0-9_]+$")


class StaffInput(Input):
    """A new staff member."""

    display_name: str = Field(min_length=1, max_length=200)
    role: Role


class CredentialInput(Input):
    """A licence held by a staff member."""

    type: str = Field(min_length=1, max_length=20, pattern=r"^[A-Z]{1,10}$")
    number: str = Field(min_length=1, max_length=80)
    jurisdiction: str = Field(min_length=2, max_length=40, pattern=r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")
    expires_on: date


def get_clinic(s: Session, clinic_id: uuid.UUID) -> Clinic:
    """The clinic or :class:`NotFoundError`."""
    clinic = s.get(Clinic, clinic_id)
    if clinic is None:
        raise NotFoundError("clinic", str(clinic_id))
    return clinic


def create_clinic(db: Database, data: ClinicInput, *, actor: str = "system") -> Clinic:
    """Create a clinic."""
    with db.write() as s:
        clinic = Clinic(id=uuid.uuid4(), created_at=now(), **data.model_dump())
        s.add(clinic)
        record(
            s,
            clinic_id=clinic.id,
            actor=actor,
            action="create",
            entity="clinic",
            entity_id=clinic.id,
            before=None,
            after=clinic,
        )
        return clinic


def list_clinics(db: Database) -> list[Clinic]:
    """Every clinic in this deployment."""
    with db.read() as s:
        return list(s.execute(select(Clinic).order_by(Clinic.created_at)).scalars())


def add_staff(db: Database, clinic_id: uuid.UUID, data: StaffInput, *, actor: str) -> Staff:
    """Add a staff member."""
    with db.write() as s:
        get_clinic(s, clinic_id)
        member = Staff(id=uuid.uuid4(), clinic_id=clinic_id, created_at=now(), **data.model_dump())
        s.add(member)
        record(
            s,
            clinic_id=clinic_id,
            actor=actor,
            action="create",
            entity="staff",
            entity_id=member.id,
            before=None,
            after=member,
        )
        return member


def add_credential(
    db: Database, clinic_id: uuid.UUID, staff_id: uuid.UUID, data: CredentialInput, *, actor: str
) -> Credential:
    """Record a licence for a staff member."""
    with db.write() as s:
        get_scoped(s, Staff, clinic_id, staff_id)
        cred = Credential(
            id=uuid.uuid4(),
            clinic_id=clinic_id,
            staff_id=staff_id,
            created_at=now(),
            **data.model_dump(),
        )
        s.add(cred)
        record(
            s,
            clinic_id=clinic_id,
            actor=actor,
            action="create",
            entity="credential",
            entity_id=cred.id,
            before=None,
            after=cred,
        )
        return cred


def allow_procedure(
    db: Database,
    clinic_id: uuid.UUID,
    *,
    procedure: str,
    credential_type: str,
    jurisdiction: str,
    actor: str,
) -> ProcedurePolicy:
    """Clinic policy: ``credential_type`` may perform ``procedure`` in ``jurisdiction``."""
    with db.write() as s:
        policy = ProcedurePolicy(
            id=uuid.uuid4(),
            clinic_id=clinic_id,
            procedure=procedure,
            credential_type=credential_type,
            jurisdiction=jurisdiction,
            created_at=now(),
        )
        s.add(policy)
        record(
            s,
            clinic_id=clinic_id,
            actor=actor,
            action="create",
            entity="procedure_policy",
            entity_id=policy.id,
            before=None,
            after=policy,
        )
        return policy


def credential_problems(
    s: Session, clinic: Clinic, staff_id: uuid.UUID, procedure: str, on: date
) -> list[str]:
    """Why ``staff_id`` may not perform ``procedure`` on ``on`` (empty list: they may).

    A credential covers the procedure when the clinic's policy allows its type in the clinic's
    jurisdiction, it was issued in that jurisdiction, and it has not expired on ``on``.
    """
    allowed = set(
        s.execute(
            select(ProcedurePolicy.credential_type).where(
                ProcedurePolicy.clinic_id == clinic.id,
                ProcedurePolicy.procedure == procedure,
                ProcedurePolicy.jurisdiction == clinic.jurisdiction,
            )
        ).scalars()
    )
    if not allowed:
        return [f"clinic policy names no credential for {procedure} in {clinic.jurisdiction}"]
    creds = (
        s.execute(
            select(Credential).where(
                Credential.clinic_id == clinic.id,
                Credential.staff_id == staff_id,
                Credential.jurisdiction == clinic.jurisdiction,
                Credential.type.in_(allowed),
            )
        )
        .scalars()
        .all()
    )
    if not creds:
        return [
            f"injector holds no {'/'.join(sorted(allowed))} credential "
            f"for {procedure} in {clinic.jurisdiction}"
        ]
    if all(c.expires_on < on for c in creds):
        last = max(c.expires_on for c in creds)
        return [f"injector's credential expired on {last.isoformat()}"]
    return []
