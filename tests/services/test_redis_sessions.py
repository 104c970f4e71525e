"""Signed-in sessions in Redis (``RedisSessionStore``) against the real server at
127.0.0.1:6379: create, read, idle timeout, absolute lifetime, sign-out, sign-out everywhere.

Each test has its own key prefix (parallel runs never share a key) and deletes its keys. Time
is a clock the test moves: nothing waits.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher

from dosemap.persistence.db import Database
from dosemap.services import accounts, staff
from dosemap.services.accounts import AccountView
from dosemap.services.signin import (
    RedisSessionStore,
    SessionPolicy,
    check_session,
    hash_token,
    resolve_session,
)

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
POLICY = SessionPolicy(idle=timedelta(minutes=15), absolute=timedelta(hours=12))


class Clock:
    """The time the store sees; tests move it."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


_WORLD: dict[str, Any] = {}


def _account(role: str = "prescriber", clinic_id: uuid.UUID | None = None) -> AccountView:
    """A real login in the test database (the store reads its role and active flag there)."""
    db: Database = _WORLD["db"]
    clinic = clinic_id or _WORLD["clinic_id"]
    member = staff.add_staff(
        db, clinic, staff.StaffInput(display_name="Pat Prescriber", role="injector"), actor="test"
    )
    return accounts.create_account(
        db,
        clinic,
        accounts.AccountInput(
            username=f"u-{uuid.uuid4().hex[:8]}",
            display_name="Pat Prescriber",
            role=role,  # type: ignore[arg-type]
            password="correct horse battery",
            staff_id=member.id,
        ),
        actor="test",
    )


@pytest.fixture(autouse=True)
def _world(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # argon2id at its smallest cost: the cost parameters are not what these tests check.
    monkeypatch.setattr(
        accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )
    clinic = staff.create_clinic(db, staff.ClinicInput(name="Redis Clinic", jurisdiction="US-CA"))
    _WORLD.update(db=db, clinic_id=clinic.id)
    yield
    _WORLD.clear()


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def store(redis_url: str, clock: Clock, db: Database) -> Iterator[RedisSessionStore]:
    prefix = f"dosemap-test:{uuid.uuid4().hex}:"
    redis_store = RedisSessionStore(redis_url, db, prefix=prefix, clock=clock)
    yield redis_store
    keys = list(redis_store.client.scan_iter(match=prefix + "*"))
    if keys:
        redis_store.client.delete(*keys)
    redis_store.close()


def test_a_session_is_stored_hashed_and_read_back(store: RedisSessionStore) -> None:
    account = _account()
    token = store.create(account, pending_totp=True, policy=POLICY)
    token_hash = hash_token(token)
    assert not store.client.exists(store.prefix + token)  # the cookie's token is never a key
    found, version = store.lookup(token_hash)
    # The records version comes with the login's current state, in the same query.
    assert found is not None and version is not None and version.count(":") == 1
    assert (found.user_id, found.clinic_id, found.staff_id) == (
        account.id,
        account.clinic_id,
        account.staff_id,
    )
    assert (found.username, found.role, found.active) == (account.username, "prescriber", True)
    assert found.pending_totp and len(found.csrf_token) >= 40
    assert (found.created_at, found.last_seen_at, found.expires_at) == (
        T0,
        T0,
        T0 + POLICY.absolute,
    )
    # Redis drops the key by itself no later than the absolute lifetime.
    assert 0 < store.client.ttl(store.prefix + token_hash) <= POLICY.absolute.total_seconds()
    assert store.lookup(hash_token("not a token")) == (None, None)
    store.clear_pending_totp(token_hash)
    cleared, _ = store.lookup(token_hash)
    assert cleared is not None and not cleared.pending_totp


def test_an_idle_session_ends_and_activity_keeps_it_open(store: RedisSessionStore) -> None:
    token = store.create(_account(), pending_totp=False, policy=POLICY)
    almost = T0 + POLICY.idle - timedelta(seconds=1)
    principal, _ = resolve_session(store, token, POLICY, at=almost)  # moves the idle clock
    assert principal is not None
    found, _ = store.lookup(hash_token(token))
    assert found is not None and found.last_seen_at == almost
    # Idle for the timeout since that request (not since sign-in): still open just before…
    still = almost + POLICY.idle - timedelta(seconds=1)
    assert check_session(store, token, POLICY, at=still).principal is not None
    # …and ended just after, the key removed.
    late = almost + POLICY.idle + timedelta(seconds=1)
    verdict = check_session(store, token, POLICY, at=late)
    assert verdict.principal is None and verdict.action == "remove"
    assert resolve_session(store, token, POLICY, at=late) == (None, False)
    assert store.lookup(hash_token(token)) == (None, None)


def test_a_busy_session_still_ends_at_its_absolute_lifetime(store: RedisSessionStore) -> None:
    token = store.create(_account(), pending_totp=False, policy=POLICY)
    at = T0
    while at + POLICY.idle / 2 < T0 + POLICY.absolute:  # a request every 7.5 minutes, all day
        at += POLICY.idle / 2
        principal, _ = resolve_session(store, token, POLICY, at=at)
        assert principal is not None, at
    end = T0 + POLICY.absolute
    assert check_session(store, token, POLICY, at=end - timedelta(seconds=1)).principal
    assert resolve_session(store, token, POLICY, at=end) == (None, False)
    assert store.lookup(hash_token(token)) == (None, None)


def test_signing_out_ends_one_session(store: RedisSessionStore) -> None:
    account = _account()
    here = store.create(account, pending_totp=False, policy=POLICY)
    there = store.create(account, pending_totp=False, policy=POLICY)
    store.remove(hash_token(here))
    assert store.lookup(hash_token(here)) == (None, None)
    assert store.lookup(hash_token(there))[0] is not None
    members = store.client.smembers(f"{store.prefix}user:{account.id}")
    assert {m.decode() for m in members} == {hash_token(there)}
    store.remove(hash_token(here))  # twice: nothing happens


def test_signing_out_everywhere_ends_only_that_persons_sessions(store: RedisSessionStore) -> None:
    clinic_id = _WORLD["clinic_id"]
    person, colleague = _account(clinic_id=clinic_id), _account("injector", clinic_id)
    phone = store.create(person, pending_totp=False, policy=POLICY)
    tablet = store.create(person, pending_totp=True, policy=POLICY)
    theirs = store.create(colleague, pending_totp=False, policy=POLICY)
    store.remove_all_of(person.id)
    assert store.lookup(hash_token(phone)) == (None, None)
    assert store.lookup(hash_token(tablet)) == (None, None)
    assert not store.client.exists(f"{store.prefix}user:{person.id}")
    kept, _ = store.lookup(hash_token(theirs))
    assert kept is not None and kept.user_id == colleague.id
    store.remove_all_of(person.id)  # nobody left: nothing happens


def test_activity_racing_a_sign_out_does_not_bring_the_session_back(
    store: RedisSessionStore,
) -> None:
    """The idle clock is moved by a worker thread; if the person signs out between its read
    and its write, the write must not recreate the session (it would never expire)."""
    token = store.create(_account(), pending_totp=False, policy=POLICY)
    token_hash = hash_token(token)
    real_get = store.client.get

    def get_then_sign_out(key: Any) -> Any:
        raw = real_get(key)
        store.client.get = real_get  # once
        store.remove(token_hash)  # the sign-out lands between the read and the write
        return raw

    store.client.get = get_then_sign_out
    store.touch(token_hash, T0 + timedelta(minutes=5))
    assert store.lookup(token_hash) == (None, None)
    assert not store.client.exists(store.prefix + token_hash)
