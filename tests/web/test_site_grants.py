"""Clinic groups on the web: the authorisation matrix of a login working at a sibling site.

The world's two clinics are made sites of one group. Without a grant the sibling is a foreign
clinic (404, switching refused). With one, a switched session sees the sibling's records with
the *granted* role (not its own: an injector granted Front desk may not plan there, a front desk
granted Prescriber may), and its own clinic's records are then foreign. A revoked or expired
grant, or another group's clinic, opens nothing; the session is back home at once. The same
with the sessions in the database and in Redis (``session_store``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from tests.web.test_authorisation_matrix import _app_for_listing, _url

from dosemap.persistence.models import AccessLogEntry, SiteGrant
from dosemap.services import sites, staff
from dosemap.web.app import api_routes
from dosemap.web.permissions import ROUTES, allowed
from support.web import OTHER_CLINIC_MARKER, WebWorld, make_accounts

#: GET routes whose path names a clinic's record (the sibling's or the own clinic's).
RECORD_ROUTES = sorted(
    (r.name, r.path)
    for r in api_routes(_app_for_listing())
    if "GET" in r.methods and "{" in r.path and ROUTES[r.name] != "signed_in"
    and not r.path.startswith("/kiosk")
)  # fmt: skip


def _group(world: WebWorld) -> None:
    sites.create_group(world.db, "North", actor="test")
    for side in (world.own, world.other):
        sites.join_group(world.db, "North", side.clinic_id, actor="test")


def _grant(world: WebWorld, home_role: str, role: str, days: int = 30) -> sites.SiteGrant:
    data = sites.GrantInput(
        account_id=world.own.accounts[home_role].id,
        role=role,  # type: ignore[arg-type]
        expires_on=datetime.now(UTC).date() + timedelta(days=days),
    )
    return sites.grant_site(world.db, world.other.clinic_id, data, actor="test")


def _switch(world: WebWorld, client: TestClient, clinic_id: Any) -> int:
    csrf = world.csrf(client)
    return client.post("/sites", data={"csrf_token": csrf, "clinic_id": str(clinic_id)}).status_code


@pytest.mark.parametrize(
    ("home_role", "granted"), [("injector", "front_desk"), ("front_desk", "prescriber")]
)
def test_the_granted_role_at_the_sibling_site_governs(
    world: WebWorld, home_role: str, granted: str, session_store: str
) -> None:
    _group(world)
    _grant(world, home_role, granted)
    client = world.client(home_role)
    assert OTHER_CLINIC_MARKER not in client.get("/patients").text
    assert "switch site" in client.get("/").text  # a grant: the header offers the sites
    assert _switch(world, client, world.other.clinic_id) == 303
    page = client.get("/patients").text
    assert OTHER_CLINIC_MARKER in page  # the sibling's patients, now
    assert re.search(r'class="site away"[^>]*>[^<]*', page)  # the header says where
    for name, path in RECORD_ROUTES:
        permission = ROUTES[name]
        there = client.get(_url(world, path, world.other, granted)).status_code
        home = client.get(_url(world, path, world.own, home_role)).status_code
        case = (name, home_role, granted, there, home)
        if allowed(granted, permission):
            assert there not in (401, 403, 404) and there < 500, case
            assert home == 404 or (home == 422 and "token" in path), case  # own clinic: foreign
        else:
            assert there == 403 and home == 403, case


def test_without_a_grant_a_sibling_site_is_foreign(world: WebWorld, session_store: str) -> None:
    _group(world)
    client = world.client("admin")
    assert _switch(world, client, world.other.clinic_id) == 404
    for name, path in RECORD_ROUTES:
        assert client.get(_url(world, path, world.other)).status_code in (403, 404), name
    assert OTHER_CLINIC_MARKER not in client.get("/patients").text
    assert "switch site" not in client.get("/").text  # no grant: nothing to choose


def test_a_revoked_or_expired_grant_sends_the_session_home(
    world: WebWorld, session_store: str
) -> None:
    _group(world)
    grant = _grant(world, "injector", "injector")
    patient = f"/patients/{world.other.patient_id}"
    for end in ("revoke", "expire"):
        client = world.client("injector")
        assert _switch(world, client, world.other.clinic_id) == 303
        assert client.get(patient).status_code == 200
        if end == "revoke":
            sites.revoke_grant(world.db, world.other.clinic_id, grant.id, actor="test")
        else:
            with world.db.write() as s:
                s.execute(
                    update(SiteGrant)
                    .where(SiteGrant.id == grant.id)
                    .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
                )
        assert client.get(patient).status_code == 404, end
        assert OTHER_CLINIC_MARKER not in client.get("/patients").text, end
        _grant(world, "injector", "injector")  # granted again: the session stays home
        assert client.get(patient).status_code == 404, end
        assert _switch(world, client, world.other.clinic_id) == 303
        assert client.get(patient).status_code == 200, end


def test_another_groups_clinic_can_never_be_granted_or_entered(
    world: WebWorld, session_store: str
) -> None:
    _group(world)
    third = staff.create_clinic(
        world.db, staff.ClinicInput(name="Elsewhere", jurisdiction="US-CA"), actor="test"
    )
    stranger = make_accounts(world.db, third.id, "c")
    sites.create_group(world.db, "South", actor="test")
    sites.join_group(world.db, "South", third.id, actor="test")
    admin = world.client("admin", "other")
    csrf = world.csrf(admin)
    form = {"csrf_token": csrf, "account_id": str(stranger["injector"].id), "role": "injector",
            "expires_on": (datetime.now(UTC).date() + timedelta(days=5)).isoformat()}  # fmt: skip
    refused = admin.post("/staff/grants", data=form)
    assert refused.status_code == 422 and 'id="g-e-account_id"' in refused.text
    assert _switch(world, world.client("injector"), third.id) == 404


def test_the_staff_page_grants_and_revokes_and_reads_are_logged_at_the_site(
    world: WebWorld, session_store: str
) -> None:
    _group(world)
    admin = world.client("admin", "other")
    page = admin.get("/staff").text
    assert "Staff of other sites working here" in page and "a injector" in page
    account = world.own.accounts["injector"]
    until = (datetime.now(UTC).date() + timedelta(days=7)).isoformat()
    form = {"csrf_token": world.csrf(admin), "account_id": str(account.id), "role": "auditor",
            "expires_on": until, "staff_id": ""}  # fmt: skip
    assert admin.post("/staff/grants", data=form).status_code == 303
    assert "Revoke a-injector" in admin.get("/staff").text
    client = world.client("injector")
    sites_page = client.get("/sites").text
    assert "Work at" in sites_page and "your own clinic" in sites_page
    assert _switch(world, client, world.other.clinic_id) == 303
    assert client.get(f"/patients/{world.other.patient_id}").status_code == 200
    with world.db.read() as s:  # the read is logged at the site it was made in
        logged = s.execute(
            select(AccessLogEntry.clinic_id).where(AccessLogEntry.user_id == account.id)
        ).scalars()
        assert set(logged) == {world.other.clinic_id}
    [grant] = sites.site_grants(world.db, world.other.clinic_id).grants
    revoke = admin.post(
        f"/staff/grants/{grant.grant.id}/revoke",
        data={"csrf_token": world.csrf(admin), "expected_version": str(grant.grant.version)},
    )
    assert revoke.status_code == 303
    assert client.get(f"/patients/{world.other.patient_id}").status_code == 404
    assert _switch(world, client, world.own.clinic_id) == 303  # home is always allowed
    assert "revoked" in admin.get("/staff").text
