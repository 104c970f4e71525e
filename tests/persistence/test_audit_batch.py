"""A batched append makes exactly the chain that appending one entry at a time makes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from dosemap.persistence.audit import PendingEntry, append, append_many, verify_chain
from dosemap.persistence.db import Database
from dosemap.persistence.models import AuditEntry, AuditHead
from support.databases import temporary_database

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
CLINIC = uuid.UUID(int=7)


def _pending(n: int, offset: int = 0) -> list[PendingEntry]:
    return [
        PendingEntry(
            clinic_id=CLINIC,
            actor=f"staff-{i % 3}",
            action=("create", "chart", "sign")[i % 3],
            entity="session",
            entity_id=uuid.UUID(int=1000 + i),
            before=None if i % 2 else {"units": Decimal(i), "at": T0},
            after={"units": Decimal(i) + Decimal("0.5"), "points": [i, i + 1]},
            at=T0 + timedelta(minutes=i),
        )
        for i in range(offset, offset + n)
    ]


def _chain(db: Database) -> tuple[list[tuple[int, str, str, str | None]], tuple[int, str]]:
    with db.read() as s:
        rows = s.execute(
            select(
                AuditEntry.seq, AuditEntry.prev_hash, AuditEntry.hash, AuditEntry.after_digest
            ).order_by(AuditEntry.seq)
        ).all()
        head = s.get(AuditHead, 1)
        assert head is not None
        assert verify_chain(s).ok
        return [tuple(r) for r in rows], (head.seq, head.hash)  # type: ignore[misc]


def test_batched_chain_equals_one_by_one(db: Database, backend: str, tmp_path: Path) -> None:
    first, second = _pending(5), _pending(7, offset=5)
    with db.write() as s:  # one by one, over two transactions
        for item in first:
            append(s, **vars(item))
    with db.write() as s:
        for item in second:
            append(s, **vars(item))
    with temporary_database(backend, tmp_path / "batched") as batched:
        with batched.write() as s:  # the same entries in two batches
            append_many(s, first)
        with batched.write() as s:
            written = append_many(s, second)
        assert [e.seq for e in written] == list(range(6, 13))
        assert _chain(batched) == _chain(db)
    assert len(_chain(db)[0]) == 12


def test_an_empty_batch_changes_nothing(db: Database) -> None:
    with db.write() as s:
        append_many(s, _pending(3))
    before = _chain(db)
    with db.write() as s:
        assert append_many(s, []) == []
    assert _chain(db) == before
