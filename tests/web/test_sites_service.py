"""Clinic groups and site grants (services): who may be granted, renewal, revocation, expiry,
and where a login may work — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from dosemap.domain.errors import InvalidInputError
from dosemap.persistence.errors import NotFoundError
from dosemap.persistence.models import AuditEntry
from dosemap.persistence.unit_of_work import reading
from dosemap.services import sites, staff
from support.web import WebWorld, make_accounts


def _soon(days: int = 30) -> date:
    return datetime.now(UTC).date() + timedelta(days=days)


def _grouped(world: WebWorld) -> None:
    sites.create_group(world.db, "North", actor="test")
    for side in (world.own, world.other):
        sites.join_group(world.db, "North", side.clinic_id, actor="test")


def _grant(world: WebWorld, role: str = "front_desk", **changes: object) -> sites.SiteGrant:
    data = {"account_id": world.own.accounts["injector"].id, "role": role, "expires_on": _soon()}
    return sites.grant_site(
        world.db, world.other.clinic_id, sites.GrantInput.model_validate({**data, **changes}),
        actor="test",
    )  # fmt: skip


def _where(world: WebWorld, role: str = "injector") -> list[tuple[str, str]]:
    account = world.own.accounts[role]
    return [(s.name, s.role) for s in sites.sites_of(world.db, account.id, world.own.clinic_id)]


def test_a_sibling_site_grants_a_role_until_revoked(world: WebWorld) -> None:
    _grouped(world)
    assert sites.group_members(world.db, "North") == sorted(
        [s.name for s in staff.list_clinics(world.db)]
    )
    own, other = (staff.get_clinic(world.db, s.clinic_id).name for s in (world.own, world.other))
    assert _where(world) == [(own, "injector")]  # in a group, but no grant: home only
    grant = _grant(world)
    assert _where(world) == [(own, "injector"), (other, "front_desk")]
    assert _where(world, "admin") == [(own, "admin")]  # a grant is per login
    renewed = _grant(world, "prescriber")  # granting again renews the one grant
    assert renewed.id == grant.id and _where(world)[1] == (other, "prescriber")
    with pytest.raises(NotFoundError):  # only the granting site can revoke
        sites.revoke_grant(world.db, world.own.clinic_id, grant.id, actor="test")
    sites.revoke_grant(world.db, world.other.clinic_id, grant.id, actor="test")
    assert _where(world) == [(own, "injector")]
    with pytest.raises(NotFoundError):
        sites.check_site(
            world.db, world.own.accounts["injector"].id, world.own.clinic_id, world.other.clinic_id
        )
    with world.db.read() as s:  # every change is in the audit chain
        actions = s.execute(
            select(AuditEntry.action)
            .where(AuditEntry.entity == "site_grant")
            .order_by(AuditEntry.seq)
        ).scalars()
        assert list(actions) == ["grant", "grant", "revoke"]
    with reading(world.db) as uow:
        assert uow.audit.verify().ok


def test_an_expired_grant_opens_nothing(world: WebWorld) -> None:
    _grouped(world)
    _grant(world)
    later = datetime.now(UTC) + timedelta(days=31)
    account = world.own.accounts["injector"]
    assert len(sites.sites_of(world.db, account.id, world.own.clinic_id, at=later)) == 1


def test_only_logins_of_the_same_group_can_be_granted(world: WebWorld) -> None:
    with pytest.raises(InvalidInputError) as no_group:  # no group yet: a foreign clinic
        _grant(world)
    assert no_group.value.field == "account_id"
    _grouped(world)
    third = staff.create_clinic(
        world.db, staff.ClinicInput(name="Elsewhere", jurisdiction="US-CA"), actor="test"
    )
    stranger = make_accounts(world.db, third.id, "c")["injector"]
    sites.create_group(world.db, "South", actor="test")
    sites.join_group(world.db, "South", third.id, actor="test")
    with pytest.raises(InvalidInputError):  # another group's login
        _grant(world, account_id=stranger.id)
    with pytest.raises(InvalidInputError):  # the site's own login
        _grant(world, account_id=world.other.accounts["injector"].id)
    with pytest.raises(InvalidInputError):  # a clinic is in one group at most
        sites.join_group(world.db, "South", world.own.clinic_id, actor="test")
    with pytest.raises(ValidationError, match="role"):  # admins administer their own site
        _grant(world, "admin")
    with pytest.raises(InvalidInputError) as past:
        _grant(world, expires_on=_soon(-1))
    with pytest.raises(InvalidInputError) as far:
        _grant(world, expires_on=_soon(400))
    with pytest.raises(InvalidInputError) as not_here:  # acts as a staff member of the site
        _grant(world, staff_id=world.own.records["staff_id"])
    assert (past.value.field, far.value.field, not_here.value.field) == (
        "expires_on", "expires_on", "staff_id",
    )  # fmt: skip
