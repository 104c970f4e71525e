"""The second factor (TOTP): enrolled accounts give a code after the password; a clinic's
policy makes a role enrol at its next sign-in; until then no page opens."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import select

from dosemap.persistence.models import AuditEntry
from dosemap.persistence.unit_of_work import reading
from dosemap.services import accounts
from dosemap.services.signin import SessionPolicy
from dosemap.web.security import SESSION_COOKIE
from support.web import PASSWORD, WebWorld


def _password(client: TestClient, username: str) -> str:
    form = client.get("/login").text
    token = form.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post(
        "/login", data={"csrf_token": token, "username": username, "password": PASSWORD}
    )
    assert response.status_code == 303
    return str(response.headers["location"])


def _totp_form(client: TestClient) -> tuple[str, str | None]:
    page = client.get("/login/totp")
    assert page.status_code == 200
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    secret = re.search(r'name="secret" value="([A-Z2-7]+)"', page.text)
    return csrf, secret.group(1) if secret else None


def test_policy_makes_a_prescriber_enrol_then_use_the_second_factor(world: WebWorld) -> None:
    accounts.require_totp_for(world.db, world.own.clinic_id, {"prescriber"}, actor="test")
    client = TestClient(world.app, follow_redirects=False)
    assert _password(client, "a-prescriber") == "/login/totp"
    assert client.get("/").status_code == 303  # nothing opens before the second factor
    csrf, secret = _totp_form(client)
    assert secret is not None  # not enrolled yet: a new key is offered
    wrong = client.post(
        "/login/totp", data={"csrf_token": csrf, "secret": secret, "code": "000000"}
    )
    assert wrong.status_code == 401
    code = pyotp.TOTP(secret).now()
    ok = client.post("/login/totp", data={"csrf_token": csrf, "secret": secret, "code": code})
    assert ok.status_code == 303 and ok.headers["location"] == "/"
    assert client.get("/").status_code == 200
    # Next time: the password, then a code from the same key (no new key offered).
    again = TestClient(world.app, follow_redirects=False)
    assert _password(again, "a-prescriber") == "/login/totp"
    csrf, offered = _totp_form(again)
    assert offered is None
    forged = again.post(
        "/login/totp",
        data={"csrf_token": csrf, "secret": pyotp.random_base32(), "code": "123456"},
    )
    assert forged.status_code == 401  # a posted key cannot replace the enrolled one
    # The enrolment's code is used; the next one (one step of drift is allowed) is accepted.
    upcoming = pyotp.TOTP(secret).at(datetime.now(UTC) + timedelta(seconds=30))
    good = again.post("/login/totp", data={"csrf_token": csrf, "code": upcoming})
    assert good.status_code == 303 and again.get("/").status_code == 200


def test_roles_outside_the_policy_sign_in_with_a_password(world: WebWorld) -> None:
    accounts.require_totp_for(world.db, world.own.clinic_id, {"prescriber"}, actor="test")
    client = TestClient(world.app, follow_redirects=False)
    assert _password(client, "a-front-desk") == "/"


def test_wrong_codes_end_the_half_open_session(world: WebWorld) -> None:
    accounts.require_totp_for(world.db, world.own.clinic_id, {"injector"}, actor="test")
    client = TestClient(world.app, follow_redirects=False)
    _password(client, "a-injector")
    csrf, secret = _totp_form(client)
    statuses = [
        client.post(
            "/login/totp", data={"csrf_token": csrf, "secret": secret or "", "code": "000000"}
        ).status_code
        for _ in range(6)
    ]
    assert statuses == [401] * 5 + [303]  # the sixth try in a minute: back to the sign-in page
    assert client.get("/login/totp").status_code == 303


def test_a_signed_in_person_has_no_second_factor_step(world: WebWorld) -> None:
    client = world.client("admin")
    assert client.get("/login/totp").status_code == 303
    token = world.app.state.dosemap.sessions.create(
        world.own.accounts["admin"], pending_totp=True, policy=SessionPolicy()
    )
    pending = TestClient(world.app, follow_redirects=False)
    pending.cookies.set(SESSION_COOKIE, token)
    assert pending.get("/patients").status_code == 303
    assert pending.get("/login/totp").status_code == 200


def _enrolled(world: WebWorld, role: str, at: datetime) -> tuple[accounts.AccountView, str]:
    """``role``'s account of clinic A with a TOTP secret, enrolled with the code of ``at``."""
    account = world.own.accounts[role]
    secret = pyotp.random_base32()
    code = pyotp.TOTP(secret).at(at)
    assert accounts.check_totp(
        world.db, account.clinic_id, account.id, code, enrol_secret=secret, actor="test", at=at
    )
    return account, secret


def test_a_code_is_accepted_once_and_never_an_older_one(world: WebWorld) -> None:
    t0 = datetime(2026, 12, 2, 9, 0, 0, tzinfo=UTC)
    account, secret = _enrolled(world, "prescriber", t0)
    totp = pyotp.TOTP(secret)

    def check(code: str, at: datetime) -> bool:
        return accounts.check_totp(
            world.db, account.clinic_id, account.id, code, actor="test", at=at
        )

    assert not check(totp.at(t0), t0)  # the enrolment code again, same window
    later = t0 + timedelta(seconds=30)
    assert not check(totp.at(t0), later)  # still inside the drift window, but used
    assert check(totp.at(later), later)  # the next step's code
    assert not check(totp.at(later), later + timedelta(seconds=5))
    # A code from the step before the last accepted one is refused too, drift or not.
    assert not check(totp.at(later - timedelta(seconds=30)), later)
    assert check(totp.at(later + timedelta(seconds=30)), later)  # one step ahead: drift allowed


def test_two_sign_ins_with_the_same_code_at_once_let_only_one_through(world: WebWorld) -> None:
    t0 = datetime(2026, 12, 2, 9, 0, 0, tzinfo=UTC)
    account, secret = _enrolled(world, "prescriber", t0)
    at = t0 + timedelta(seconds=30)
    code = pyotp.TOTP(secret).at(at)
    start = threading.Barrier(4)

    def attempt() -> bool:
        start.wait()  # all four check the same code together
        return accounts.check_totp(
            world.db, account.clinic_id, account.id, code, actor="test", at=at
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: attempt(), range(4)))
    assert sorted(results) == [False, False, False, True]


def test_a_code_used_to_sign_in_does_not_open_a_second_session(world: WebWorld) -> None:
    accounts.require_totp_for(world.db, world.own.clinic_id, {"prescriber"}, actor="test")
    first = TestClient(world.app, follow_redirects=False)
    _password(first, "a-prescriber")
    csrf, secret = _totp_form(first)
    assert secret is not None
    code = pyotp.TOTP(secret).now()
    enrolled = first.post("/login/totp", data={"csrf_token": csrf, "secret": secret, "code": code})
    assert enrolled.status_code == 303
    second = TestClient(world.app, follow_redirects=False)
    _password(second, "a-prescriber")
    csrf, _ = _totp_form(second)
    replayed = second.post("/login/totp", data={"csrf_token": csrf, "code": code})
    assert replayed.status_code == 401 and "already used" in replayed.text
    assert second.get("/").status_code == 303


def _policy_entries(world: WebWorld) -> list[AuditEntry]:
    with reading(world.db) as uow:
        return list(
            uow.audit.session.execute(
                select(AuditEntry).where(AuditEntry.action == "set_totp_policy")
            ).scalars()
        )


def test_an_admin_sets_the_policy_on_the_staff_page_and_it_applies_at_next_sign_in(
    world: WebWorld,
) -> None:
    admin = world.client("admin")
    csrf = world.csrf(admin)
    page = admin.get("/staff").text
    assert 'action="/staff/totp-policy"' in page and 'value="prescriber" checked' not in page
    saved = admin.post(
        "/staff/totp-policy",
        data={"csrf_token": csrf, "roles": ["prescriber", "injector"]},
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/staff"
    assert accounts.totp_required_roles(world.db, world.own.clinic_id) == {
        "prescriber",
        "injector",
    }
    assert accounts.totp_required_roles(world.db, world.other.clinic_id) == set()
    page = admin.get("/staff").text
    assert 'value="prescriber" checked' in page and 'value="injector" checked' in page
    assert "1 to enrol at next sign-in" in page  # a-prescriber has no second factor yet
    [entry] = _policy_entries(world)
    assert entry.clinic_id == world.own.clinic_id and entry.actor == str(
        world.own.accounts["admin"].id
    )
    # The prescriber, signing in next, enrols before any page opens.
    client = TestClient(world.app, follow_redirects=False)
    assert _password(client, "a-prescriber") == "/login/totp"
    assert client.get("/patients").status_code == 303
    _, offered = _totp_form(client)
    assert offered is not None
    # Saving the same policy again writes nothing; clearing it is one more entry.
    admin.post(
        "/staff/totp-policy",
        data={"csrf_token": csrf, "roles": ["injector", "prescriber"]},
    )
    assert len(_policy_entries(world)) == 1
    cleared = admin.post("/staff/totp-policy", data={"csrf_token": csrf})
    assert cleared.status_code == 303
    assert accounts.totp_required_roles(world.db, world.own.clinic_id) == set()
    assert len(_policy_entries(world)) == 2
    assert _password(TestClient(world.app, follow_redirects=False), "a-prescriber") == "/"


def test_a_bad_policy_is_refused_naming_the_field_and_changes_nothing(world: WebWorld) -> None:
    admin = world.client("admin")
    csrf = world.csrf(admin)
    bad = admin.post(
        "/staff/totp-policy",
        data={"csrf_token": csrf, "roles": ["prescriber", "owner"]},
    )
    assert bad.status_code == 422
    assert 'id="p-e-roles"' in bad.text and "no such role: owner" in bad.text
    assert "admin, prescriber, injector, front_desk, auditor" in bad.text
    assert accounts.totp_required_roles(world.db, world.own.clinic_id) == set()
    assert _policy_entries(world) == []
    no_csrf = admin.post("/staff/totp-policy", data={"roles": "prescriber"})
    assert no_csrf.status_code == 403
    for role in ("prescriber", "auditor", "front_desk"):
        other = world.client(role)
        refused = other.post(
            "/staff/totp-policy", data={"csrf_token": world.csrf(other), "roles": "admin"}
        )
        assert refused.status_code == 403, role
    assert accounts.totp_required_roles(world.db, world.own.clinic_id) == set()
