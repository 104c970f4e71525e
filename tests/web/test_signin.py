"""Sign-in: passwords (argon2id), lockout, throttling, sessions (idle, absolute, sign-out),
cookies and CSRF."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from dosemap.services import accounts
from dosemap.services.signin import (
    DatabaseSessionStore,
    SessionPolicy,
    hash_token,
    resolve_session,
)
from dosemap.web.security import LOGIN_CSRF_COOKIE, SESSION_COOKIE
from dosemap.web.throttle import Throttle
from support.web import PASSWORD, WebWorld


def _login(client: TestClient, username: str, password: str) -> tuple[int, str]:
    form = client.get("/login")
    token = form.text.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post(
        "/login", data={"csrf_token": token, "username": username, "password": password}
    )
    return response.status_code, response.text


def test_sign_in_with_the_right_password_opens_today(world: WebWorld) -> None:
    client = TestClient(world.app, follow_redirects=False)
    status, _ = _login(client, "a-injector", PASSWORD)
    assert status == 303
    cookie = next(c for c in client.cookies.jar if c.name == SESSION_COOKIE)
    assert cookie.has_nonstandard_attr("HttpOnly")
    today = client.get("/")
    assert today.status_code == 200
    assert "Test Clinic" in today.text


def test_session_cookie_flags(world: WebWorld) -> None:
    client = TestClient(world.app, follow_redirects=False)
    client.get("/login")
    token = client.cookies.get(LOGIN_CSRF_COOKIE)
    response = client.post(
        "/login", data={"csrf_token": token, "username": "a-admin", "password": PASSWORD}
    )
    header = response.headers["set-cookie"].lower()
    assert "httponly" in header and "samesite=lax" in header


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(
    world: WebWorld,
) -> None:
    client = TestClient(world.app, follow_redirects=False)
    status, text = _login(client, "a-injector", "not the password")
    assert status == 401 and "Wrong username or password" in text
    status, text = _login(client, "no-such-user", "not the password")
    assert status == 401 and "Wrong username or password" in text
    assert client.get("/").status_code == 303


def test_repeated_wrong_passwords_lock_the_account(world: WebWorld) -> None:
    client = TestClient(world.app, follow_redirects=False)
    for _ in range(4):
        assert _login(client, "a-desk", "wrong password!")[0] == 401
    status, text = _login(client, "a-front-desk", "wrong password!")
    assert status in (401, 423)
    for _ in range(5):
        _login(client, "a-front-desk", "wrong password!")
    status, text = _login(client, "a-front-desk", PASSWORD)
    assert status == 423 and "locked" in text
    # Other accounts are not affected.
    assert _login(client, "a-admin", PASSWORD)[0] == 303


def test_lock_ends_after_its_time(world: WebWorld) -> None:
    lockout = accounts.LockoutPolicy(attempts=2, lock_for=timedelta(minutes=15))
    for _ in range(2):
        accounts.check_password(world.db, "a-auditor", "wrong password!", lockout=lockout)
    found = accounts.check_password(world.db, "a-auditor", PASSWORD, lockout=lockout)
    assert found.account is None and found.locked_until is not None
    later = found.locked_until + timedelta(seconds=1)
    again = accounts.check_password(world.db, "a-auditor", PASSWORD, at=later, lockout=lockout)
    assert again.account is not None and again.account.username == "a-auditor"


def test_sign_in_attempts_are_throttled_per_address() -> None:
    throttle = Throttle(limit=3, window_s=60)
    assert [throttle.allow("1.2.3.4", at=t) for t in (0, 1, 2, 3)] == [True, True, True, False]
    assert throttle.allow("5.6.7.8", at=3)
    assert throttle.allow("1.2.3.4", at=61)


def test_passwords_are_stored_as_argon2id_hashes(world: WebWorld) -> None:
    from dosemap.persistence.unit_of_work import reading

    with reading(world.db) as uow:
        row = uow.accounts.by_username("a-admin")
        assert row is not None
        assert row.password_hash.startswith("$argon2id$")
        assert PASSWORD not in row.password_hash


def test_the_production_hasher_is_argon2id_with_strong_parameters() -> None:
    from argon2 import PasswordHasher, Type

    hasher = PasswordHasher()
    assert hasher.type is Type.ID and hasher.memory_cost >= 19 * 1024 and hasher.time_cost >= 2


def test_sign_out_ends_the_session_on_the_server(world: WebWorld) -> None:
    client = world.client("admin")
    token = client.cookies.get(SESSION_COOKIE)
    csrf = world.csrf(client)
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 303
    again = TestClient(world.app, follow_redirects=False)
    again.cookies.set(SESSION_COOKIE, token or "")
    assert again.get("/").status_code == 303  # the old cookie opens nothing


def test_only_the_token_hash_is_stored(world: WebWorld) -> None:
    store = DatabaseSessionStore(world.db)
    token = store.create(world.own.accounts["admin"], pending_totp=False, policy=SessionPolicy())
    assert store.lookup(token)[0] is None
    assert store.lookup(hash_token(token))[0] is not None


@pytest.mark.parametrize("late", [timedelta(minutes=16), timedelta(hours=13)])
def test_idle_and_absolute_timeouts_end_a_session(world: WebWorld, late: timedelta) -> None:
    store = DatabaseSessionStore(world.db)
    policy = SessionPolicy(idle=timedelta(minutes=15), absolute=timedelta(hours=12))
    token = store.create(world.own.accounts["injector"], pending_totp=False, policy=policy)
    found = store.lookup(hash_token(token))[0]
    assert found is not None
    start = found.created_at
    if late < policy.absolute:
        principal, _ = resolve_session(store, token, policy, at=start + late)
        assert principal is None
    else:  # active all along (a request every 10 minutes), then past the absolute lifetime
        at = start
        while at + timedelta(minutes=10) < start + policy.absolute:
            at += timedelta(minutes=10)
            assert resolve_session(store, token, policy, at=at)[0] is not None
        assert resolve_session(store, token, policy, at=start + late)[0] is None
    assert store.lookup(hash_token(token))[0] is None  # ended on the server, not only refused


def test_activity_keeps_a_session_alive(world: WebWorld) -> None:
    store = DatabaseSessionStore(world.db)
    policy = SessionPolicy(idle=timedelta(minutes=15))
    token = store.create(world.own.accounts["injector"], pending_totp=False, policy=policy)
    found = store.lookup(hash_token(token))[0]
    assert found is not None
    at = found.created_at
    for _ in range(5):  # 5 × 10 min: past one idle timeout in total, never idle for 15
        at += timedelta(minutes=10)
        assert resolve_session(store, token, policy, at=at)[0] is not None


def test_a_deactivated_account_loses_its_sessions_at_once(world: WebWorld) -> None:
    from dosemap.persistence.unit_of_work import writing

    client = world.client("front_desk")
    assert client.get("/").status_code == 200
    with writing(world.db) as uow:
        row = uow.accounts.by_username("a-front-desk")
        assert row is not None
        row.active = False
    assert client.get("/").status_code == 303


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_a_post_without_the_right_csrf_token_is_refused(world: WebWorld, token: str | None) -> None:
    client = world.client("admin")
    data = {
        "given_name": "No",
        "family_name": "Csrf",
        "date_of_birth": "1990-01-01",
        "chart_number": "X-1",
    }
    if token is not None:
        data["csrf_token"] = token
    response = client.post("/patients", data=data)
    assert response.status_code == 403
    found = client.post("/patients/search", data={"csrf_token": world.csrf(client), "name": "Csrf"})
    assert "No patient matches" in found.text  # nothing was registered


def test_the_csrf_header_is_accepted_as_htmx_sends_it(world: WebWorld) -> None:
    client = world.client("admin")
    response = client.post(
        "/patients/search",
        data={"name": "Exa"},
        headers={"X-CSRF-Token": world.csrf(client), "HX-Request": "true"},
    )
    assert response.status_code == 200 and "Example" in response.text
    assert "<html" not in response.text  # an htmx partial
