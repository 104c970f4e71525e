"""Clinic groups and site grants: the only place that knows a clinic may have siblings.

Every other repository is scoped by one clinic id; the web app passes the *active* site's, so
a grant changes which clinic a person works in, never how a query is scoped.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import aliased

from dosemap.persistence.models import (
    Clinic,
    ClinicGroup,
    ClinicGroupMember,
    SiteGrant,
    Staff,
    UserAccount,
)
from dosemap.persistence.repositories._base import ScopedRepository


@dataclass(frozen=True)
class GrantRow:
    """A grant with who holds it and where they come from."""

    grant: SiteGrant
    username: str
    display_name: str
    home_site: str
    acts_as: str | None  # the staff member of the granting site, if any


@dataclass(frozen=True)
class SiblingLogin:
    """A login of another site of the same group (someone a site may grant access to)."""

    account_id: uuid.UUID
    username: str
    display_name: str
    site: str


@dataclass(frozen=True)
class SiteChoice:
    """A site a person may work at now, and the role they have there."""

    clinic_id: uuid.UUID
    name: str
    role: str


class SiteRepository(ScopedRepository[SiteGrant]):
    """Groups, their members, and grants (scoped by the granting site)."""

    model = SiteGrant

    def group_named(self, name: str) -> ClinicGroup | None:
        """The group called ``name``."""
        return self.session.execute(
            select(ClinicGroup).where(ClinicGroup.name == name)
        ).scalar_one_or_none()

    def group(self, group_id: uuid.UUID) -> ClinicGroup | None:
        """The group with this id."""
        return self.session.get(ClinicGroup, group_id)

    def membership(self, clinic_id: uuid.UUID) -> ClinicGroupMember | None:
        """The clinic's group membership, if it is in one."""
        return self.session.get(ClinicGroupMember, clinic_id)

    def group_of(self, clinic_id: uuid.UUID) -> uuid.UUID | None:
        """The clinic's group id (``None``: in no group)."""
        member = self.membership(clinic_id)
        return None if member is None else member.group_id

    def members(self, group_id: uuid.UUID) -> list[Clinic]:
        """The group's clinics, by name."""
        return list(
            self.session.execute(
                select(Clinic)
                .join(ClinicGroupMember, ClinicGroupMember.clinic_id == Clinic.id)
                .where(ClinicGroupMember.group_id == group_id)
                .order_by(Clinic.name)
            ).scalars()
        )

    def sibling_logins(self, clinic_id: uuid.UUID) -> list[SiblingLogin]:
        """Active logins of the *other* clinics of ``clinic_id``'s group (none: no group)."""
        mine = aliased(ClinicGroupMember)
        theirs = aliased(ClinicGroupMember)
        rows = self.session.execute(
            select(UserAccount.id, UserAccount.username, UserAccount.display_name, Clinic.name)
            .join(theirs, theirs.clinic_id == UserAccount.clinic_id)
            .join(mine, mine.group_id == theirs.group_id)
            .join(Clinic, Clinic.id == UserAccount.clinic_id)
            .where(
                mine.clinic_id == clinic_id,
                UserAccount.clinic_id != clinic_id,
                UserAccount.active.is_(True),
            )
            .order_by(Clinic.name, UserAccount.display_name)
        )
        return [SiblingLogin(*row) for row in rows]

    def of_site(self, clinic_id: uuid.UUID) -> list[GrantRow]:
        """The grants ``clinic_id`` has made, live ones first, then by name."""
        rows = self.session.execute(
            select(SiteGrant, UserAccount.username, UserAccount.display_name, Clinic.name)
            .add_columns(Staff.display_name)
            .join(UserAccount, UserAccount.id == SiteGrant.account_id)
            .join(Clinic, Clinic.id == UserAccount.clinic_id)
            .outerjoin(Staff, Staff.id == SiteGrant.staff_id)
            .where(SiteGrant.clinic_id == clinic_id)
            .order_by(SiteGrant.revoked_at.is_not(None), UserAccount.display_name)
        )
        return [GrantRow(*row) for row in rows]

    def held(self, clinic_id: uuid.UUID, account_id: uuid.UUID) -> SiteGrant | None:
        """The grant of site ``clinic_id`` to ``account_id`` (live or not)."""
        return self.session.execute(
            select(SiteGrant).where(
                SiteGrant.clinic_id == clinic_id, SiteGrant.account_id == account_id
            )
        ).scalar_one_or_none()

    def usable(self, account_id: uuid.UUID, at: datetime) -> list[SiteChoice]:
        """The sites ``account_id`` may work at now besides its own: a grant neither revoked
        nor expired, from a site still in the same group as the login's own clinic."""
        home = aliased(ClinicGroupMember)
        site = aliased(ClinicGroupMember)
        rows = self.session.execute(
            select(Clinic.id, Clinic.name, SiteGrant.role)
            .select_from(SiteGrant)
            .join(UserAccount, UserAccount.id == SiteGrant.account_id)
            .join(home, home.clinic_id == UserAccount.clinic_id)
            .join(site, site.clinic_id == SiteGrant.clinic_id)
            .join(Clinic, Clinic.id == SiteGrant.clinic_id)
            .where(
                SiteGrant.account_id == account_id,
                SiteGrant.revoked_at.is_(None),
                SiteGrant.expires_at > at,
                home.group_id == site.group_id,
                SiteGrant.clinic_id != UserAccount.clinic_id,
            )
            .order_by(Clinic.name)
        )
        return [SiteChoice(*row) for row in rows]
