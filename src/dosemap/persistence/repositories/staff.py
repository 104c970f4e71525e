"""Clinics, staff, credentials and procedure policies."""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import func, select

from dosemap.persistence.errors import NotFoundError
from dosemap.persistence.models import Clinic, Credential, ProcedurePolicy, Staff
from dosemap.persistence.repositories._base import Repository, ScopedRepository, as_uuid_or_none


class ClinicRepository(Repository):
    """The clinics of this deployment."""

    def get(self, clinic_id: uuid.UUID) -> Clinic:
        """The clinic or :class:`NotFoundError`."""
        clinic = self.session.get(Clinic, clinic_id)
        if clinic is None:
            raise NotFoundError("clinic", str(clinic_id))
        return clinic

    def all(self) -> list[Clinic]:
        """Every clinic, oldest first."""
        return list(self.session.execute(select(Clinic).order_by(Clinic.created_at)).scalars())

    def id_named(self, name: str) -> uuid.UUID | None:
        """The id of the clinic called ``name``, if any."""
        return self.session.execute(
            select(Clinic.id).where(Clinic.name == name)
        ).scalar_one_or_none()


class StaffRepository(ScopedRepository[Staff]):
    """Staff members, their credentials and the clinic's procedure policy."""

    model = Staff

    def ids_matching(self, clinic_id: uuid.UUID, ref: str) -> list[uuid.UUID]:
        """Staff whose id or exact display name is ``ref``."""
        q = select(Staff.id).where(Staff.clinic_id == clinic_id)
        found = as_uuid_or_none(ref)
        q = q.where(Staff.id == found) if found else q.where(Staff.display_name == ref)
        return list(self.session.execute(q).scalars())

    def find(self, clinic_id: uuid.UUID, staff_id: uuid.UUID) -> Staff | None:
        """The clinic's staff member with this id, if any."""
        return self.session.execute(
            select(Staff).where(Staff.id == staff_id, Staff.clinic_id == clinic_id)
        ).scalar_one_or_none()

    def count(self, clinic_id: uuid.UUID) -> int:
        """How many staff members the clinic has."""
        return int(
            self.session.execute(
                select(func.count()).select_from(Staff).where(Staff.clinic_id == clinic_id)
            ).scalar_one()
        )

    def policy_exists(
        self, clinic_id: uuid.UUID, procedure: str, credential_type: str, jurisdiction: str
    ) -> bool:
        """True when the clinic's policy already names this credential type."""
        return credential_type in self.credential_types_allowed(clinic_id, procedure, jurisdiction)

    def credential_types_allowed(
        self, clinic_id: uuid.UUID, procedure: str, jurisdiction: str
    ) -> set[str]:
        """Credential types the clinic's policy allows for ``procedure`` in ``jurisdiction``."""
        return set(
            self.session.execute(
                select(ProcedurePolicy.credential_type).where(
                    ProcedurePolicy.clinic_id == clinic_id,
                    ProcedurePolicy.procedure == procedure,
                    ProcedurePolicy.jurisdiction == jurisdiction,
                )
            ).scalars()
        )

    def credentials(
        self,
        clinic_id: uuid.UUID,
        staff_id: uuid.UUID,
        jurisdiction: str,
        types: Collection[str],
    ) -> list[Credential]:
        """A staff member's credentials of ``types`` issued in ``jurisdiction``."""
        return list(
            self.session.execute(
                select(Credential).where(
                    Credential.clinic_id == clinic_id,
                    Credential.staff_id == staff_id,
                    Credential.jurisdiction == jurisdiction,
                    Credential.type.in_(types),
                )
            ).scalars()
        )
