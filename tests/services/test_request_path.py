"""The per-request queries on the driver (``persistence.request_path``): the session look-up
stays exact when its answer is remembered, and the access log's batches are stored as the ORM
stores rows, on both back ends."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from dosemap.persistence.models import AccessLogEntry, UserAccount
from dosemap.persistence.request_path import AccessEntry, RequestPath
from dosemap.services import accounts
from dosemap.services.signin import DatabaseSessionStore, SessionPolicy, hash_token
from support.clinic import SeededClinic


def _account(clinic: SeededClinic) -> accounts.AccountView:
    return accounts.create_account(
        clinic.db,
        clinic.clinic_id,
        accounts.AccountInput(
            username="reader",
            display_name="Reader",
            role="injector",
            password="reader password 1",
            staff_id=clinic.injector,
        ),
        actor="test",
    )


def _change_account(clinic: SeededClinic, account_id: uuid.UUID, **values: Any) -> None:
    """A change made by another connection (the database itself, a script)."""
    with clinic.db.engine.begin() as conn:
        conn.execute(update(UserAccount).where(UserAccount.id == account_id).values(**values))


def _counting_queries(path: RequestPath) -> list[Any]:
    ran: list[Any] = []
    fetchone = path._fetchone

    def counted(query: Any, *values: Any) -> Any:
        ran.append(query)
        return fetchone(query, *values)

    path._fetchone = counted  # type: ignore[method-assign]
    return ran


def test_a_remembered_look_up_sees_the_next_change_by_any_other_connection(
    clinic: SeededClinic,
) -> None:
    account = _account(clinic)
    store = DatabaseSessionStore(clinic.db)
    try:
        token_hash = hash_token(store.create(account, pending_totp=False, policy=SessionPolicy()))
        path = store.path
        ran = _counting_queries(path)
        first, version = path.signed_in(token_hash)
        assert first is not None and first.role == "injector" and first.active
        # The access log is written on the look-up's own connection: nothing the look-up
        # reads changed, so on SQLite the answer is remembered.
        at = datetime.now(UTC)
        assert (
            path.try_append_access(
                [AccessEntry(at, clinic.clinic_id, account.id, "read", "patient", "p-1", "test")]
            )
            == clinic.db.is_sqlite
        )
        assert path.signed_in(token_hash) == (first, version)
        assert len(ran) == (1 if clinic.db.is_sqlite else 2)
        # A role changed by another connection (the database itself, a script): next look-up.
        _change_account(clinic, account.id, role="front_desk")
        changed, _ = path.signed_in(token_hash)
        assert changed is not None and changed.role == "front_desk"
        _change_account(clinic, account.id, active=False)
        gone, _ = path.signed_in(token_hash)
        assert gone is not None and not gone.active
    finally:
        store.close()


def test_a_change_is_seen_in_the_next_turn_of_the_loop(clinic: SeededClinic) -> None:
    """With ``check_once_per_turn``, look-ups in one turn share one check; the turn's end
    (the callback handed to ``defer``) makes the next look-up check again."""
    account = _account(clinic)
    store = DatabaseSessionStore(clinic.db)
    try:
        token_hash = hash_token(store.create(account, pending_totp=False, policy=SessionPolicy()))
        path = store.path
        turn_ends: list[Any] = []
        path.check_once_per_turn(lambda end: turn_ends.append(end) or True)
        first, _ = path.signed_in(token_hash)
        assert first is not None and first.role == "injector"
        _change_account(clinic, account.id, role="front_desk")
        same_turn, _ = path.signed_in(token_hash)
        if clinic.db.is_sqlite:  # the turn's check stands until the turn ends
            assert same_turn is first and len(turn_ends) == 1
            turn_ends.pop()()
        next_turn, _ = path.signed_in(token_hash)
        assert next_turn is not None and next_turn.role == "front_desk"
        # No loop to defer to: every look-up checks (the change is seen at once).
        for end in turn_ends:
            end()
        path.check_once_per_turn(lambda end: False)
        _change_account(clinic, account.id, active=False)
        gone, _ = path.signed_in(token_hash)
        assert gone is not None and not gone.active
    finally:
        store.close()


def test_a_batch_is_stored_as_the_orm_stores_rows(clinic: SeededClinic) -> None:
    account = _account(clinic)
    path = RequestPath(clinic.db)
    at = datetime(2026, 12, 2, 7, 52, 57, tzinfo=UTC)  # no microseconds: still six digits
    later = datetime(2026, 12, 2, 7, 52, 58, 123456, tzinfo=UTC)
    entries = [
        AccessEntry(at, clinic.clinic_id, account.id, "read", "patient", f"p-{n}", "search")
        for n in range(3)
    ] + [AccessEntry(later, clinic.clinic_id, account.id, "read", "export", "e-1", "api")]
    try:
        path.append_access(entries)
    finally:
        path.close()
    with clinic.db.read() as session:
        rows = session.execute(
            select(AccessLogEntry).where(AccessLogEntry.clinic_id == clinic.clinic_id)
        ).scalars()
        stored = sorted(
            (r.entity_id, r.at, r.clinic_id, r.user_id, r.action, r.entity, r.via, r.id)
            for r in rows
        )
        # Found through the time index (the Audit page's filter), the times compare as times.
        since = session.execute(
            select(AccessLogEntry.entity_id).where(AccessLogEntry.at > at)
        ).scalars()
        assert list(since) == ["e-1"]
    assert [s[:7] for s in stored] == [
        ("e-1", later, clinic.clinic_id, account.id, "read", "export", "api"),
        *[
            (f"p-{n}", at, clinic.clinic_id, account.id, "read", "patient", "search")
            for n in range(3)
        ],
    ]
    ids = [s[7] for s in stored]
    assert len(set(ids)) == 4 and all(isinstance(i, uuid.UUID) and i.version == 7 for i in ids)
