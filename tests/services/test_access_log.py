"""The access log's group-committing writer: a read is committed before ``log`` returns,
whichever way the batch went (on the event loop, or on the thread when the lock is taken)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine
from typing import Any

import pytest

from dosemap.persistence.db import Database
from dosemap.services import accounts
from dosemap.services.access_log import AccessLogWriter
from dosemap.services.clinic_day import access_log
from support.clinic import SeededClinic


def _reader(clinic: SeededClinic) -> uuid.UUID:
    account = accounts.create_account(
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
    return account.id


def _log(
    writer: AccessLogWriter, clinic: SeededClinic, user_id: uuid.UUID, n: int
) -> Coroutine[Any, Any, None]:
    return writer.log(
        clinic_id=clinic.clinic_id,
        user_id=user_id,
        entity="patient",
        entity_id=f"record-{n}",
        via="test",
    )


def test_every_read_is_committed_before_log_returns(clinic: SeededClinic) -> None:
    user_id = _reader(clinic)
    writer = AccessLogWriter(clinic.db)

    async def many() -> None:
        # One turn of the loop: one batch on SQLite, the thread's batches on PostgreSQL.
        await asyncio.gather(*(_log(writer, clinic, user_id, n) for n in range(40)))
        await _log(writer, clinic, user_id, 40)

    try:
        asyncio.run(many())
        lines = access_log(clinic.db, clinic.clinic_id, limit=100)
        assert sorted(line.entity_id for line in lines) == sorted(f"record-{n}" for n in range(41))
        assert {(line.username, line.action, line.via) for line in lines} == {
            ("reader", "read", "test")
        }
    finally:
        writer.close()


def _hold_write_lock(db: Database) -> Any:
    proxy = db.engine.raw_connection()  # kept: the pool resets a dropped proxy's connection
    proxy.driver_connection.execute("BEGIN IMMEDIATE")  # type: ignore[union-attr]
    return proxy


def test_a_taken_write_lock_sends_the_batch_to_the_thread_which_waits(
    db: Database, clinic: SeededClinic
) -> None:
    """The loop never waits for the lock: the batch goes to the writer thread, and the read is
    not acknowledged before it is committed."""
    if not db.is_sqlite:
        return  # PostgreSQL always uses the thread (test above); no lock to take here
    user_id = _reader(clinic)
    writer = AccessLogWriter(db)
    holder = _hold_write_lock(db)

    async def scenario() -> None:
        task = asyncio.ensure_future(_log(writer, clinic, user_id, 1))
        for _ in range(3):  # the request's turn, the commit's turn: the lock is taken
            await asyncio.sleep(0)
        assert not task.done()
        assert writer._thread is not None  # handed over, waiting for the lock
        assert access_log(db, clinic.clinic_id) == []
        holder.driver_connection.execute("COMMIT")
        await task

    try:
        asyncio.run(scenario())
        assert [line.entity_id for line in access_log(db, clinic.clinic_id)] == ["record-1"]
    finally:
        holder.close()
        writer.close()


def test_a_failed_commit_fails_the_read(clinic: SeededClinic) -> None:
    """An entry that cannot be written (here: no such account) fails the request."""
    writer = AccessLogWriter(clinic.db)

    async def scenario() -> None:
        await _log(writer, clinic, uuid.uuid4(), 1)

    try:
        with pytest.raises(Exception, match=r"(?i)foreign key"):
            asyncio.run(scenario())
        assert access_log(clinic.db, clinic.clinic_id) == []
    finally:
        writer.close()


def test_a_list_of_reads_is_committed_whole_before_log_many_returns(clinic: SeededClinic) -> None:
    """A search's results: one entry per record (each once), all in one transaction with the
    other requests of the same turn, however many (more than a thread batch holds)."""
    from dosemap.services.access_log import BATCH_LIMIT

    user_id = _reader(clinic)
    writer = AccessLogWriter(clinic.db)
    listed = [f"listed-{n}" for n in range(BATCH_LIMIT + 20)]

    async def scenario() -> None:
        await asyncio.gather(
            _log(writer, clinic, user_id, 1),
            writer.log_many(
                clinic_id=clinic.clinic_id,
                user_id=user_id,
                entity="patient",
                entity_ids=[*listed, listed[0]],
                via="search",
            ),
            writer.log_many(
                clinic_id=clinic.clinic_id,
                user_id=user_id,
                entity="patient",
                entity_ids=[],
                via="search",
            ),
        )
        # Returned: everything is committed.
        lines = access_log(clinic.db, clinic.clinic_id, limit=2000)
        assert sorted(line.entity_id for line in lines if line.via == "search") == sorted(listed)
        assert [line.entity_id for line in lines if line.via == "test"] == ["record-1"]

    try:
        asyncio.run(scenario())
    finally:
        writer.close()
