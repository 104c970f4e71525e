"""A deactivation or a role change takes effect at the person's next request, whichever path
made it (the Staff page, a service call such as the JSON API or a script makes, the CLI, the
database itself) and whichever store keeps the sessions: the database (the default) or Redis
(``DOSEMAP_REDIS_URL``, against the real server: ``support.redis_server``).

Sessions are made directly in the store (as ``WebWorld.client`` does); nothing waits.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import update

from dosemap.persistence.models import UserAccount
from dosemap.services import accounts, staff
from dosemap.services.signin import SessionPolicy, hash_token
from dosemap.services.tokens import TokenInput, create_token
from dosemap.web.security import SESSION_COOKIE
from support.web import PASSWORD, WebWorld

#: Allowed to an injector, refused to the front desk (``adverse_events.view``).
INJECTOR_ONLY = "/adverse-events"


def _signed_in(world: WebWorld, account: accounts.AccountView) -> tuple[TestClient, str]:
    client = TestClient(world.app, follow_redirects=False)
    token = world.app.state.dosemap.sessions.create(
        account, pending_totp=False, policy=SessionPolicy()
    )
    client.cookies.set(SESSION_COOKIE, token)
    return client, token


def _session_kept(world: WebWorld, token: str) -> bool:
    found, _ = world.app.state.dosemap.sessions.lookup(hash_token(token))
    return found is not None


def _refused(response: object) -> bool:
    status = getattr(response, "status_code", None)
    headers = getattr(response, "headers", {})
    return status == 303 and headers.get("location", "").startswith("/login")


def test_deactivated_by_the_service_the_next_request_signs_out_every_session(
    world: WebWorld, session_store: str
) -> None:
    account = world.own.accounts["injector"]
    phone, phone_token = _signed_in(world, account)
    tablet, tablet_token = _signed_in(world, account)
    assert phone.get("/").status_code == 200 and tablet.get("/").status_code == 200
    # Not through the Staff page (which also ends the sessions in its store): the service,
    # as the JSON API or a script calls it.
    accounts.set_account_active(
        world.db,
        world.own.clinic_id,
        account.id,
        active=False,
        by=world.own.accounts["admin"].id,
        actor="test",
    )
    assert _refused(phone.get("/"))
    assert phone.get("/api/v1/me").status_code == 401
    # The first refused request ended every session of the person, in the store in use.
    assert not _session_kept(world, phone_token) and not _session_kept(world, tablet_token)
    assert _refused(tablet.get("/"))
    # Reactivated: the old sessions stay ended; a new sign-in works.
    accounts.set_account_active(
        world.db,
        world.own.clinic_id,
        account.id,
        active=True,
        by=world.own.accounts["admin"].id,
        actor="test",
    )
    assert _refused(phone.get("/"))
    again, _ = _signed_in(world, account)
    assert again.get("/").status_code == 200


def test_a_lowered_role_applies_at_the_next_request(world: WebWorld, session_store: str) -> None:
    account = world.own.accounts["injector"]
    client, _ = _signed_in(world, account)
    assert client.get(INJECTOR_ONLY).status_code == 200
    # Changed where no session store is at hand (the database itself, a script): the
    # session stays open, with the new role's rights only.
    with world.db.engine.begin() as conn:
        conn.execute(
            update(UserAccount).where(UserAccount.id == account.id).values(role="front_desk")
        )
    assert client.get(INJECTOR_ONLY).status_code == 403
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/me").json()["role"] == "front_desk"


def test_a_role_changed_by_the_service_ends_every_session_in_either_store(
    world: WebWorld, session_store: str
) -> None:
    account = world.own.accounts["prescriber"]
    admin = world.own.accounts["admin"].id
    client, token = _signed_in(world, account)
    tablet, tablet_token = _signed_in(world, account)
    assert client.get(INJECTOR_ONLY).status_code == 200
    assert tablet.get(INJECTOR_ONLY).status_code == 200

    def change(role: str) -> None:
        accounts.set_account_role(
            world.db, world.own.clinic_id, account.id, accounts.RoleInput(role=role),
            by=admin, actor="test",
        )  # fmt: skip

    # Lowered, and even raised back before the next request: the database store deleted the
    # sessions with the change; a Redis session, out of the service's reach, sees the login's
    # sessions_ended count moved and ends the same way (not carrying on in either role).
    change("front_desk")
    change("prescriber")
    assert _refused(client.get(INJECTOR_ONLY))
    assert not _session_kept(world, token) and not _session_kept(world, tablet_token)
    assert _refused(tablet.get("/"))
    change("front_desk")
    again, _ = _signed_in(world, account)  # signing in again: the new role
    assert again.get("/api/v1/me").json()["role"] == "front_desk"
    assert again.get(INJECTOR_ONLY).status_code == 403


def _cli(world: WebWorld, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DOSEMAP_DATA_DIR": str(tmp_path),
        "DOSEMAP_DATABASE_URL": world.db.engine.url.render_as_string(hide_password=False),
    }
    env.pop("DOSEMAP_CLINIC", None)
    return subprocess.run(
        [sys.executable, "-m", "dosemap", *args], env=env, capture_output=True, text=True,
        check=False, timeout=300,
    )  # fmt: skip


def test_a_staff_member_deactivated_by_the_cli_loses_their_login(
    world: WebWorld, session_store: str, tmp_path: Path
) -> None:
    clinic_id = world.own.clinic_id
    member = staff.add_staff(
        world.db, clinic_id, staff.StaffInput(display_name="Lee Leaving", role="injector"),
        actor="test",
    )  # fmt: skip
    writer = staff.add_staff(
        world.db, clinic_id, staff.StaffInput(display_name="Ada Admin", role="admin"),
        actor="test",
    )  # fmt: skip
    login = accounts.create_account(
        world.db,
        clinic_id,
        accounts.AccountInput(
            username="lee-leaving",
            display_name="Lee Leaving",
            role="injector",
            password=PASSWORD,
            staff_id=member.id,
        ),
        actor="test",
    )
    client, token = _signed_in(world, login)
    principal = login_principal(login)
    secret, _ = create_token(
        world.db, principal, TokenInput(name="script", scopes=frozenset({"today.view"})),
        allowed_scopes=frozenset({"today.view"}),
    )  # fmt: skip
    bearer = {"Authorization": f"Bearer {secret}"}
    assert client.get(INJECTOR_ONLY).status_code == 200
    assert client.get("/api/v1/today", headers=bearer).status_code == 200
    done = _cli(
        world, tmp_path, "db", "staff-deactivate", str(member.id),
        "--clinic", str(clinic_id), "--as", str(writer.id),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert _refused(client.get("/"))
    assert not _session_kept(world, token)
    assert client.get("/api/v1/today", headers=bearer).status_code == 401
    refused = accounts.check_password(world.db, "lee-leaving", PASSWORD)
    assert refused.account is None  # and no new sign-in


def login_principal(view: accounts.AccountView):  # type: ignore[no-untyped-def]
    from dosemap.services.signin import Principal

    return Principal(
        user_id=view.id, clinic_id=view.clinic_id, staff_id=view.staff_id,
        username=view.username, display_name=view.display_name, role=view.role,
    )  # fmt: skip
