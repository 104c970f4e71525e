"""Clinics, staff, credentials and the clinic's procedure policy."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from pydantic import Field

from dosemap.domain.errors import InvalidInputError
from dosemap.persistence.db import Database
from dosemap.persistence.models import Clinic, Credential, ProcedurePolicy, Staff
from dosemap.persistence.unit_of_work import UnitOfWork, reading, writing
from dosemap.services._common import Input, check_version, now, snap

#: The procedure a micro-dose toxin session is recorded as (policies name it).
MICRODOSE_PROCEDURE = "neuromodulator_microdose"

Role = Literal["admin", "injector", "front_desk"]
#: How much a follow-up calendar may say (dosemap.services.exports.calendar): nothing about the
#: patient, the chart number, also the name and phone, also the reason for the date.
CalendarDetail = Literal["none", "chart", "name", "clinical"]
#: A logo is printed at most ~40 mm wide on a document; more than this is not a logo.
MAX_LOGO_BYTES = 512 * 1024
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


#: A credential expiring within this many days is flagged on the Staff page (an administrative
#: reminder to renew a licence, not a clinical figure).
CREDENTIAL_WARNING_DAYS = 60


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


class ClinicProfileInput(Input):
    """What the clinic's documents print in their heading, and what its calendars may say.

    ``None`` leaves a field as it is; an empty address, phone or logo removes it.
    """

    address: str | None = Field(default=None, max_length=400)
    phone: str | None = Field(default=None, max_length=40)
    logo_png: bytes | None = Field(default=None, max_length=MAX_LOGO_BYTES)
    calendar_detail: CalendarDetail | None = None


def update_clinic_profile(
    db: Database,
    clinic_id: uuid.UUID,
    data: ClinicProfileInput,
    *,
    expected_version: int | None = None,
    actor: str,
) -> Clinic:
    """Change the clinic's address, phone, logo (a PNG) or calendar detail."""
    if data.logo_png and not data.logo_png.startswith(PNG_SIGNATURE):
        raise InvalidInputError("logo", "is not a PNG image", "a PNG file")
    with writing(db) as uow:
        clinic = uow.clinics.get(clinic_id)
        check_version(clinic, expected_version, "clinic")
        before = snap(clinic)
        for key in ("address", "phone", "logo_png"):
            value = getattr(data, key)
            if value is not None:
                setattr(clinic, key, value or None)
        if data.calendar_detail is not None:
            clinic.calendar_detail = data.calendar_detail
        uow.audit.record(
            clinic_id=clinic_id,
            actor=actor,
            action="update",
            entity="clinic",
            entity_id=clinic.id,
            before=before,
            after=clinic,
        )
        return clinic


def get_clinic(db: Database, clinic_id: uuid.UUID) -> Clinic:
    """The clinic or :class:`NotFoundError`."""
    with reading(db) as uow:
        return uow.clinics.get(clinic_id)


def find_clinic(db: Database, name: str) -> uuid.UUID | None:
    """The id of the clinic called ``name``, if there is one."""
    with reading(db) as uow:
        return uow.clinics.id_named(name)


def create_clinic(db: Database, data: ClinicInput, *, actor: str = "system") -> Clinic:
    """Create a clinic."""
    with writing(db) as uow:
        clinic = Clinic(id=uuid.uuid4(), created_at=now(), **data.model_dump())
        uow.staff.add(clinic)
        uow.audit.record(
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
    with reading(db) as uow:
        return uow.clinics.all()


def add_staff(db: Database, clinic_id: uuid.UUID, data: StaffInput, *, actor: str) -> Staff:
    """Add a staff member."""
    with writing(db) as uow:
        uow.clinics.get(clinic_id)
        member = Staff(id=uuid.uuid4(), clinic_id=clinic_id, created_at=now(), **data.model_dump())
        uow.staff.add(member)
        uow.audit.record(
            clinic_id=clinic_id,
            actor=actor,
            action="create",
            entity="staff",
            entity_id=member.id,
            before=None,
            after=member,
        )
        return member


def has_staff(db: Database, clinic_id: uuid.UUID) -> bool:
    """True once the clinic has any staff member."""
    with reading(db) as uow:
        return bool(uow.staff.count(clinic_id))


def is_active(db: Database, clinic_id: uuid.UUID, staff_id: uuid.UUID) -> bool:
    """True when the clinic's staff member ``staff_id`` exists and is active."""
    with reading(db) as uow:
        member = uow.staff.find(clinic_id, staff_id)
        return member is not None and member.active


def staff_matching(db: Database, clinic_id: uuid.UUID, ref: str) -> list[uuid.UUID]:
    """Staff whose id or exact display name is ``ref`` (what a person typed)."""
    with reading(db) as uow:
        return uow.staff.ids_matching(clinic_id, ref)


def add_credential(
    db: Database, clinic_id: uuid.UUID, staff_id: uuid.UUID, data: CredentialInput, *, actor: str
) -> Credential:
    """Record a licence for a staff member."""
    with writing(db) as uow:
        uow.staff.get(clinic_id, staff_id)
        cred = Credential(
            id=uuid.uuid4(),
            clinic_id=clinic_id,
            staff_id=staff_id,
            created_at=now(),
            **data.model_dump(),
        )
        uow.staff.add(cred)
        uow.audit.record(
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
    # Credential types and jurisdictions are upper case everywhere (``rn`` would never match RN).
    credential_type, jurisdiction = credential_type.strip().upper(), jurisdiction.strip().upper()
    if not credential_type.isalpha() or len(credential_type) > 10:
        raise InvalidInputError("credential_type", f"{credential_type!r}", "MD, DO, NP, PA, RN …")
    with writing(db) as uow:
        if uow.staff.policy_exists(clinic_id, procedure, credential_type, jurisdiction):
            raise InvalidInputError(
                "credential_type",
                f"{credential_type} may already perform {procedure} in {jurisdiction}",
                "a credential type the policy does not name yet",
            )
        policy = ProcedurePolicy(
            id=uuid.uuid4(),
            clinic_id=clinic_id,
            procedure=procedure,
            credential_type=credential_type,
            jurisdiction=jurisdiction,
            created_at=now(),
        )
        uow.staff.add(policy)
        uow.audit.record(
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
    uow: UnitOfWork,
    clinic: Clinic,
    staff_id: uuid.UUID,
    procedure: str,
    on: date,
    who: str = "injector",
) -> list[str]:
    """Why ``staff_id`` may not perform ``procedure`` on ``on`` (empty list: they may).

    A credential covers the procedure when the clinic's policy allows its type in the clinic's
    jurisdiction, it was issued in that jurisdiction, and it has not expired on ``on``.
    """
    allowed = uow.staff.credential_types_allowed(clinic.id, procedure, clinic.jurisdiction)
    if not allowed:
        return [f"clinic policy names no credential for {procedure} in {clinic.jurisdiction}"]
    creds = uow.staff.credentials(clinic.id, staff_id, clinic.jurisdiction, allowed)
    if not creds:
        return [
            f"{who} holds no {'/'.join(sorted(allowed))} credential "
            f"for {procedure} in {clinic.jurisdiction}"
        ]
    if all(c.expires_on < on for c in creds):
        last = max(c.expires_on for c in creds)
        return [f"{who}'s credential expired on {last.isoformat()}"]
    return []


#: Roles that may sign or amend a clinical record (with a credential that covers it).
SIGNING_ROLES = ("injector", "admin")


def acting_staff(uow: UnitOfWork, clinic_id: uuid.UUID, actor: str, field: str = "actor") -> Staff:
    """The active staff member of this clinic that ``actor`` (a staff id) names, or an error
    naming ``field``: every signature and amendment is by a known, active person."""
    try:
        staff_id = uuid.UUID(str(actor))
    except ValueError:
        raise InvalidInputError(
            field, f"{actor!r} is not a staff member", "a staff member's id (--as NAME)"
        ) from None
    member = uow.staff.find(clinic_id, staff_id)
    if member is None:
        raise InvalidInputError(field, "no such staff member in this clinic", "a staff id or name")
    if not member.active:
        raise InvalidInputError(
            field, f"staff {member.id} is deactivated", "an active staff member"
        )
    return member


def signer_problems(
    uow: UnitOfWork, clinic: Clinic, signer: Staff, procedure: str, performed_on: date, today: date
) -> list[str]:
    """Why ``signer`` may not sign (or amend) a record of ``procedure``: their role, active
    status and a credential that covers the procedure on the day it was done and today."""
    who = f"signer ({signer.role})"
    if not signer.active:
        return [f"signer {signer.id} is deactivated"]
    if signer.role not in SIGNING_ROLES:
        return [f"{who} may not sign: only {' or '.join(SIGNING_ROLES)} with a credential"]
    problems = credential_problems(uow, clinic, signer.id, procedure, performed_on, "signer")
    if not problems and today != performed_on:
        problems = credential_problems(uow, clinic, signer.id, procedure, today, "signer")
    return problems


@dataclass(frozen=True)
class CredentialLine:
    """A credential as the Staff page shows it; ``status`` is expired, expiring or valid."""

    id: uuid.UUID
    type: str
    number: str
    jurisdiction: str
    expires_on: date
    status: str


@dataclass(frozen=True)
class StaffLine:
    """A staff member with their credentials."""

    id: uuid.UUID
    display_name: str
    role: str
    active: bool
    version: int
    credentials: list[CredentialLine]

    @property
    def flagged(self) -> bool:
        """A credential has expired or expires soon."""
        return any(c.status != "valid" for c in self.credentials)


def credential_status(expires_on: date, on: date) -> str:
    """``expired``, ``expiring`` (within :data:`CREDENTIAL_WARNING_DAYS`) or ``valid``."""
    if expires_on < on:
        return "expired"
    if expires_on <= on + timedelta(days=CREDENTIAL_WARNING_DAYS):
        return "expiring"
    return "valid"


def staff_overview(db: Database, clinic_id: uuid.UUID, on: date) -> list[StaffLine]:
    """The clinic's staff with their credentials flagged as of ``on`` (two queries)."""
    with reading(db) as uow:
        uow.clinics.get(clinic_id)
        members = uow.staff.of_clinic(clinic_id)
        creds = uow.staff.credentials_of_clinic(clinic_id)
    return staff_lines(members, creds, on)


def staff_lines(members: list[Staff], creds: list[Credential], on: date) -> list[StaffLine]:
    """Staff members with their credentials flagged as of ``on``."""
    by_staff: dict[uuid.UUID, list[CredentialLine]] = {}
    for c in creds:
        by_staff.setdefault(c.staff_id, []).append(
            CredentialLine(
                c.id,
                c.type,
                c.number,
                c.jurisdiction,
                c.expires_on,
                credential_status(c.expires_on, on),
            )
        )
    return [
        StaffLine(m.id, m.display_name, m.role, m.active, m.version, by_staff.get(m.id, []))
        for m in members
    ]


def set_staff_active(
    db: Database,
    clinic_id: uuid.UUID,
    staff_id: uuid.UUID,
    active: bool,
    *,
    expected_version: int | None = None,
    actor: str,
) -> Staff:
    """Deactivate (or reactivate) a staff member: a deactivated member signs nothing (their
    records stay)."""
    with writing(db) as uow:
        member = uow.staff.get(clinic_id, staff_id)
        check_version(member, expected_version, "staff")
        if member.active == active:
            return member
        before = snap(member)
        member.active = active
        uow.audit.record(
            clinic_id=clinic_id,
            actor=actor,
            action="activate" if active else "deactivate",
            entity="staff",
            entity_id=member.id,
            before=before,
            after=member,
        )
        return member
