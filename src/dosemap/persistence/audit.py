"""The append-only, hash-chained audit log.

Each entry's hash is SHA-256 over its own fields and the previous entry's hash, so editing,
deleting or reordering any entry breaks the chain at a place :func:`verify_chain` names. Entries
hold record ids and SHA-256 digests of the record before and after the write, never the data
itself, so the log carries no patient data.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from dosemap.persistence.models import AuditEntry, AuditHead, Base

GENESIS = "0" * 64


_AS_IS = frozenset({str, int, float, bool, type(None)})  # JSON types, by far the most common


def _canonical(value: Any) -> Any:
    if type(value) in _AS_IS:  # an exact-type test first: a snapshot holds thousands of these
        return value
    if isinstance(value, Decimal):
        return format(value.normalize() + 0, "f")
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date | uuid.UUID):
        return str(value)
    if isinstance(value, bytes):  # an image (logo, drawn signature): its digest, not its bytes
        return "sha256:" + hashlib.sha256(value).hexdigest()
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def canonical_json(value: Any) -> str:
    """Stable JSON: sorted keys, decimals as plain strings, timestamps in UTC."""
    return json.dumps(_canonical(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(value: Any) -> str:
    """SHA-256 of :func:`canonical_json`."""
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


def snapshot(obj: Base) -> dict[str, Any]:
    """The mapped column values of one record (what its digest is taken over)."""
    mapper = inspect(obj).mapper
    return {attr.key: getattr(obj, attr.key) for attr in mapper.column_attrs}


def entry_hash(entry: AuditEntry) -> str:
    """The hash an entry must carry, given its fields and ``prev_hash``."""
    body = {
        "seq": entry.seq,
        "at": entry.at,
        "clinic_id": entry.clinic_id,
        "actor": entry.actor,
        "action": entry.action,
        "entity": entry.entity,
        "entity_id": entry.entity_id,
        "before": entry.before_digest,
        "after": entry.after_digest,
        "prev": entry.prev_hash,
    }
    return digest(body)


@dataclass(frozen=True)
class PendingEntry:
    """One write to log, before it has its place in the chain (see :func:`append_many`)."""

    clinic_id: uuid.UUID | None
    actor: str
    action: str
    entity: str
    entity_id: uuid.UUID | str
    before: Any = None
    after: Any = None
    at: datetime | None = None


def append(
    session: Session,
    *,
    clinic_id: uuid.UUID | None,
    actor: str,
    action: str,
    entity: str,
    entity_id: uuid.UUID | str,
    before: Any = None,
    after: Any = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction (it commits or rolls back with the write).

    ``before`` / ``after`` are snapshots (dicts); only their digests are stored.
    """
    pending = PendingEntry(clinic_id, actor, action, entity, entity_id, before, after, at)
    return append_many(session, [pending])[0]


def append_many(session: Session, pending: Iterable[PendingEntry]) -> list[AuditEntry]:
    """Append entries in order, in the caller's transaction, taking the head's lock once.

    Each entry is chained to the one before exactly as :func:`append` called once per entry
    would chain it; only the head is read and written once instead of per entry.
    """
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS)
        session.add(head)
    seq, prev = head.seq, head.hash
    entries = []
    for item in pending:
        seq += 1
        entry = AuditEntry(
            seq=seq,
            at=item.at or datetime.now(UTC),
            clinic_id=item.clinic_id,
            actor=item.actor,
            action=item.action,
            entity=item.entity,
            entity_id=str(item.entity_id),
            before_digest=None if item.before is None else digest(item.before),
            after_digest=None if item.after is None else digest(item.after),
            prev_hash=prev,
        )
        entry.hash = prev = entry_hash(entry)
        entries.append(entry)
    session.add_all(entries)
    head.seq, head.hash = seq, prev
    return entries


@dataclass(frozen=True)
class ChainProblem:
    """One break in the chain."""

    seq: int
    problem: str

    def __str__(self) -> str:
        return f"audit entry {self.seq}: {self.problem}"


@dataclass(frozen=True)
class ChainReport:
    """What :func:`verify_chain` found."""

    entries: int
    head_seq: int
    head_hash: str
    problems: tuple[ChainProblem, ...]

    @property
    def ok(self) -> bool:
        """True when the chain is intact."""
        return not self.problems


def check_entries(entries: Iterable[AuditEntry], head: AuditHead | None) -> ChainReport:
    """Walk entries in ``seq`` order and name every edited, deleted or reordered one."""
    problems: list[ChainProblem] = []
    expected_seq = 1
    prev = GENESIS
    count = 0
    for entry in entries:
        count += 1
        if entry.seq != expected_seq:
            missing = (
                f"{expected_seq}"
                if entry.seq == expected_seq + 1
                else (f"{expected_seq}-{entry.seq - 1}")
            )
            problems.append(ChainProblem(expected_seq, f"missing (deleted?): seq {missing}"))
        if entry.prev_hash != prev:
            problems.append(
                ChainProblem(
                    entry.seq, "does not follow the entry before it (deleted or reordered)"
                )
            )
        if entry_hash(entry) != entry.hash:
            problems.append(ChainProblem(entry.seq, "content does not match its hash (edited)"))
        prev = entry.hash
        expected_seq = entry.seq + 1
    last_seq = expected_seq - 1
    if head is None:
        if count:
            problems.append(ChainProblem(last_seq, "audit head is missing"))
        return ChainReport(count, 0, GENESIS, tuple(problems))
    if head.seq != last_seq or head.hash != prev:
        problems.append(
            ChainProblem(
                head.seq, f"head says seq {head.seq} but the log ends at {last_seq} (truncated?)"
            )
        )
    return ChainReport(count, head.seq, head.hash, tuple(problems))


def verify_chain(session: Session, batch: int = 5000) -> ChainReport:
    """Verify the whole log, streaming it in ``seq`` order."""
    head = session.get(AuditHead, 1)
    rows = session.execute(
        select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=batch)
    ).scalars()
    return check_entries(rows, head)
