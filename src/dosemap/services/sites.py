"""Clinic groups: several sites of one owner, and grants that let a login of one site work at
another site of the same group, with a role there, until the grant expires or is revoked.

Membership alone shares nothing: without a grant a sibling site is as foreign as any other
clinic. A grant is made by an admin *of the granting site* (its records are the ones opened),
never with the admin role (admins administer their own site), and only to a login of a site of
the same group. The web session keeps the site it works at; every query stays scoped by that
one clinic id, and the grant is checked again on every request (``signin.check_session``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from dosemap.domain.errors import InvalidInputError
from dosemap.persistence.db import Database
from dosemap.persistence.errors import NotFoundError
from dosemap.persistence.models import ClinicGroup, ClinicGroupMember, SiteGrant, Staff
from dosemap.persistence.repositories.sites import GrantRow, SiblingLogin, SiteChoice
from dosemap.persistence.unit_of_work import reading, writing
from dosemap.services._common import Input, check_version, now, snap

#: Roles a site may grant (not admin: a site is administered by its own admins).
GrantRole = Literal["prescriber", "injector", "front_desk", "auditor"]
GRANT_ROLES: tuple[GrantRole, ...] = ("prescriber", "injector", "front_desk", "auditor")
#: The longest a grant may run before it must be renewed.
MAX_GRANT_DAYS = 366

__all__ = ["GrantRow", "SiblingLogin", "SiteChoice"]


class GrantInput(Input):
    """A grant as the granting site's admin enters it."""

    account_id: uuid.UUID
    role: GrantRole
    expires_on: date  # the grant ends at the start of this day (UTC)
    staff_id: uuid.UUID | None = None  # the staff member of this site the person acts as


@dataclass(frozen=True)
class SiteGrants:
    """What the Staff page shows of a site's grants."""

    group_name: str | None  # None: the clinic is in no group (nothing to grant)
    grants: list[GrantRow]
    sibling_logins: list[SiblingLogin]
    staff: list[Staff]  # this site's, to choose whom a grantee acts as
    at: datetime

    def live(self, grant: SiteGrant) -> bool:
        """Whether ``grant`` lets its holder in now."""
        return grant.revoked_at is None and grant.expires_at > self.at


def create_group(db: Database, name: str, *, actor: str) -> ClinicGroup:
    """A new, empty clinic group."""
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInputError("name", "is empty or longer than 200 characters", "1–200")
    with writing(db) as uow:
        if uow.sites.group_named(name) is not None:
            raise InvalidInputError("name", f"a group called {name} exists", "a new name")
        group = ClinicGroup(id=uuid.uuid4(), name=name, created_at=now())
        uow.sites.add(group)
        uow.audit.record(
            clinic_id=None, actor=actor, action="create", entity="clinic_group",
            entity_id=group.id, before=None, after=group,
        )  # fmt: skip
    return group


def join_group(db: Database, group_name: str, clinic_id: uuid.UUID, *, actor: str) -> None:
    """Put a clinic in a group. A clinic is in one group at most: moving it would carry its
    grants to strangers, so a clinic already in another group is refused."""
    with writing(db) as uow:
        group = uow.sites.group_named(group_name)
        if group is None:
            raise InvalidInputError("group", f"no group called {group_name}", "an existing group")
        uow.clinics.get(clinic_id)
        current = uow.sites.membership(clinic_id)
        if current is not None:
            if current.group_id == group.id:
                return
            raise InvalidInputError("clinic", "is in another group", "a clinic in no group")
        member = ClinicGroupMember(clinic_id=clinic_id, group_id=group.id, joined_at=now())
        uow.sites.add(member)
        uow.audit.record(
            clinic_id=clinic_id, actor=actor, action="join", entity="clinic_group_member",
            entity_id=clinic_id, before=None, after=member,
        )  # fmt: skip


def group_of_clinic(db: Database, clinic_id: uuid.UUID) -> uuid.UUID | None:
    """The id of the clinic's group (``None``: in no group)."""
    with reading(db) as uow:
        return uow.sites.group_of(clinic_id)


def group_members(db: Database, group_name: str) -> list[str]:
    """The names of a group's clinics."""
    with reading(db) as uow:
        group = uow.sites.group_named(group_name)
        if group is None:
            raise InvalidInputError("group", f"no group called {group_name}", "an existing group")
        return [c.name for c in uow.sites.members(group.id)]


def site_grants(db: Database, clinic_id: uuid.UUID) -> SiteGrants:
    """The site's grants, and whom it could grant to (logins of its group's other sites)."""
    with reading(db) as uow:
        group_id = uow.sites.group_of(clinic_id)
        group = uow.sites.group(group_id) if group_id else None
        return SiteGrants(
            group_name=group.name if group else None,
            grants=uow.sites.of_site(clinic_id),
            sibling_logins=uow.sites.sibling_logins(clinic_id) if group else [],
            staff=[s for s in uow.staff.of_clinic(clinic_id) if s.active],
            at=now(),
        )


def grant_site(
    db: Database, clinic_id: uuid.UUID, data: GrantInput, *, actor: str, at: datetime | None = None
) -> SiteGrant:
    """Let a login of another site of ``clinic_id``'s group work here (or renew its grant)."""
    at = at or now()
    expires_at = datetime.combine(data.expires_on, time(0), tzinfo=UTC)
    if not at < expires_at <= at + timedelta(days=MAX_GRANT_DAYS + 1):
        raise InvalidInputError(
            "expires_on", "is not in the coming year", f"a day after today, ≤ {MAX_GRANT_DAYS} days"
        )
    with writing(db) as uow:
        siblings = {s.account_id for s in uow.sites.sibling_logins(clinic_id)}
        if data.account_id not in siblings:  # another group's, this site's own, or unknown
            raise InvalidInputError(
                "account_id",
                "is not a login of another site of this clinic's group",
                "a login of a sibling site",
            )
        if data.staff_id is not None and uow.staff.find(clinic_id, data.staff_id) is None:
            raise InvalidInputError("staff_id", "is not a staff member here", "this site's staff")
        grant = uow.sites.held(clinic_id, data.account_id)
        before = snap(grant) if grant is not None else None
        if grant is None:
            grant = SiteGrant(id=uuid.uuid4(), clinic_id=clinic_id, account_id=data.account_id)
            uow.sites.add(grant)
        grant.role, grant.staff_id, grant.expires_at = data.role, data.staff_id, expires_at
        grant.granted_by, grant.granted_at = actor, at
        grant.revoked_at, grant.revoked_by = None, None
        uow.audit.record(
            clinic_id=clinic_id, actor=actor, action="grant", entity="site_grant",
            entity_id=grant.id, before=before, after=grant,
        )  # fmt: skip
    return grant


def revoke_grant(
    db: Database,
    clinic_id: uuid.UUID,
    grant_id: uuid.UUID,
    *,
    expected_version: int | None = None,
    actor: str,
) -> SiteGrant:
    """End a grant now (the holder's next request is back at its own site)."""
    with writing(db) as uow:
        grant = uow.sites.get(clinic_id, grant_id)
        check_version(grant, expected_version, "site grant")
        if grant.revoked_at is not None:
            return grant
        before = snap(grant)
        grant.revoked_at, grant.revoked_by = now(), actor
        uow.audit.record(
            clinic_id=clinic_id, actor=actor, action="revoke", entity="site_grant",
            entity_id=grant.id, before=before, after=grant,
        )  # fmt: skip
    return grant


def sites_of(
    db: Database, account_id: uuid.UUID, own_clinic_id: uuid.UUID, at: datetime | None = None
) -> list[SiteChoice]:
    """Where a login may work now: its own clinic first (its role there is its own), then the
    sites whose grants hold."""
    with reading(db) as uow:
        own = uow.clinics.get(own_clinic_id)
        account = uow.accounts.get(own_clinic_id, account_id)
        if account is None:
            raise NotFoundError("account", str(account_id))
        return [
            SiteChoice(own.id, own.name, account.role),
            *uow.sites.usable(account_id, at or now()),
        ]


def check_site(
    db: Database, account_id: uuid.UUID, own_clinic_id: uuid.UUID, clinic_id: uuid.UUID
) -> uuid.UUID | None:
    """The site to store in the session for a switch to ``clinic_id`` (``None``: the own
    clinic); :class:`NotFoundError` when no grant lets this login work there — the same answer
    as for any foreign clinic."""
    if clinic_id == own_clinic_id:
        return None
    if clinic_id not in {s.clinic_id for s in sites_of(db, account_id, own_clinic_id)}:
        raise NotFoundError("clinic", str(clinic_id))
    return clinic_id
