"""The append-only audit log, chained and keyed.

Each entry's hash is an HMAC-SHA256, under the installation's audit key
(:mod:`dosemap.persistence.audit_key`, kept outside the database), of its own fields and the
previous entry's hash: editing, deleting or reordering an entry breaks the chain at a place
:func:`verify_chain` names, and rewriting the chain from an edited entry needs the key. Entries
hold record ids and keyed digests of the record before and after the write (one short digest per
field, so a later change can be named by field), never the data itself.

The log's head is anchored outside the database by checkpoints
(:mod:`dosemap.persistence.audit_checkpoint`); every audited record's current state is checked
against its last entry by :mod:`dosemap.persistence.audit_records`.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from dosemap.persistence.audit_key import AuditKeys, load_keys
from dosemap.persistence.models import AuditEntry, AuditHead, Base

GENESIS = "0" * 64

_EXACT_INT = 2**53


def _number(value: float | int) -> float | int:
    """One form per number on both back ends: PostgreSQL's JSONB turns ``-0.0`` into ``0.0`` and
    ``1e308`` into a 309-digit integer, so integral values become ints, large ones floats."""
    if type(value) is int:
        if -_EXACT_INT < value < _EXACT_INT:
            return value
        try:
            return float(value)
        except OverflowError:
            return value
    f = float(value)
    if f.is_integer() and -_EXACT_INT < f < _EXACT_INT:
        return int(f)
    return f


_PLAIN = frozenset({str, bool, type(None)})


def _canonical(value: Any) -> Any:
    # Exact-type tests, scalars handled inline: a session's snapshot holds ~2,000 values and
    # verifying the demo clinic canonicalises ~300,000.
    t = type(value)
    if t is dict:
        return {
            k if type(k) is str else str(k): v if type(v) in _PLAIN else _canonical(v)
            for k, v in value.items()
        }
    if t is list or t is tuple:
        return [v if type(v) in _PLAIN else _canonical(v) for v in value]
    if t is str or value is None or t is bool:
        return value
    if t is int:
        return value if -_EXACT_INT < value < _EXACT_INT else _number(value)
    if t is float:
        return _number(value)
    if t is Decimal:
        return format(value.normalize() + 0, "f")
    if t is uuid.UUID:
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date | uuid.UUID):
        return str(value)
    if isinstance(value, bytes):  # an image (logo, drawn signature): its digest, not its bytes
        return "sha256:" + hashlib.sha256(value).hexdigest()
    if isinstance(value, Decimal):
        return format(value.normalize() + 0, "f")
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def canonical_json(value: Any) -> str:
    """Stable JSON: sorted keys, decimals as plain strings, timestamps in UTC, one form per
    number (the same on SQLite and PostgreSQL)."""
    return json.dumps(_canonical(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


#: Canonical texts of recent structured fields (a session's plan, ~60 kB), by their ``repr``.
_TEXTS: OrderedDict[str, str] = OrderedDict()
_TEXTS_KEPT = 32
_TEXTS_LOCK = threading.Lock()
_KEYABLE = frozenset({dict, list, tuple, str, int, float, bool, type(None)})


def _plain_tree(value: Any) -> bool:
    """Whether the container ``value`` holds only JSON's own types (what a JSON column reads
    back as, and what ``model_dump(mode="json")`` makes): for these ``repr`` is one-to-one (it
    tells 1, 1.0, True and "1" apart, and a list from a tuple)."""
    stack = [value]
    while stack:
        item = stack.pop()
        t = type(item)
        if t is dict:
            for k, v in item.items():
                if type(k) is not str:
                    return False
                if type(v) is dict or type(v) is list or type(v) is tuple:
                    stack.append(v)
                elif type(v) not in _KEYABLE:
                    return False
        elif t is list or t is tuple:
            for v in item:
                if type(v) is dict or type(v) is list or type(v) is tuple:
                    stack.append(v)
                elif type(v) not in _KEYABLE:
                    return False
        else:
            return False
    return True


def field_text(value: Any) -> str:
    """:func:`canonical_json` of one field, made once per content for structured fields.

    A plan edit digests the session's plan twice, before and after; the "before" is the
    "after" of the edit before it. The canonical text of a field of JSON types is kept by its
    ``repr`` (exact: equal reprs are equal values here), so it is made once per plan."""
    if (type(value) is not dict and type(value) is not list) or not _plain_tree(value):
        return canonical_json(value)
    key = repr(value)
    with _TEXTS_LOCK:
        found = _TEXTS.get(key)
        if found is not None:
            _TEXTS.move_to_end(key)
            return found
    text = canonical_json(value)
    with _TEXTS_LOCK:
        _TEXTS[key] = text
        while len(_TEXTS) > _TEXTS_KEPT:
            _TEXTS.popitem(last=False)
    return text


def digest(value: Any) -> str:
    """SHA-256 of :func:`canonical_json` (unkeyed)."""
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


def snapshot(obj: Base) -> dict[str, Any]:
    """The mapped column values of one record (what its digest is taken over)."""
    mapper = inspect(obj).mapper
    return {attr.key: getattr(obj, attr.key) for attr in mapper.column_attrs}


def field_digests(
    snap: Mapping[str, Any],
    keys: AuditKeys,
    kid: str,
    encoded: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """One short keyed digest per field (``session.status``, ``points`` …): names what changed
    without storing it, and cannot be guessed from a low-entropy value without the key.
    ``encoded`` holds fields whose canonical JSON the caller has already made."""
    out: dict[str, str] = {}
    for name, value in snap.items():
        if isinstance(value, Mapping):
            for sub, v in value.items():
                label = f"{name}.{sub}"
                text = encoded[label] if encoded and label in encoded else field_text(v)
                out[label] = keys.mac(f"{label}\0{text}".encode(), kid)[:16]
        else:
            text = encoded[name] if encoded and name in encoded else field_text(value)
            out[str(name)] = keys.mac(f"{name}\0{text}".encode(), kid)[:16]
    return out


def record_digest(fields: Mapping[str, str]) -> str:
    """The digest of a record: SHA-256 over its field digests."""
    return digest(dict(fields))


def entry_body(entry: AuditEntry) -> dict[str, Any]:
    """The fields an entry's hash covers."""
    return {
        "seq": entry.seq,
        "at": entry.at,
        "clinic_id": entry.clinic_id,
        "actor": entry.actor,
        "action": entry.action,
        "entity": entry.entity,
        "entity_id": entry.entity_id,
        "before": entry.before_digest,
        "after": entry.after_digest,
        "content": entry.content_sha256,
        "key": entry.key_id,
        "prev": entry.prev_hash,
    }


def entry_hash(entry: AuditEntry, keys: AuditKeys | None = None) -> str:
    """The hash an entry must carry: HMAC under the key it names, over its fields and
    ``prev_hash``."""
    keys = keys or load_keys()
    return keys.mac(canonical_json(entry_body(entry)).encode(), entry.key_id)


@dataclass(frozen=True)
class PendingEntry:
    """One write to log, before it has its place in the chain (see :func:`append_many`).

    ``content_sha256`` is the digest of the clinical content a signature covers (signing and
    amending only)."""

    clinic_id: uuid.UUID | None
    actor: str
    action: str
    entity: str
    entity_id: uuid.UUID | str
    before: Any = None
    after: Any = None
    at: datetime | None = None
    content_sha256: str | None = None


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
    content_sha256: str | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction (it commits or rolls back with the write).

    ``before`` / ``after`` are snapshots (dicts); only their digests are stored.
    """
    pending = PendingEntry(
        clinic_id, actor, action, entity, entity_id, before, after, at, content_sha256
    )
    return append_many(session, [pending])[0]


def _prepare(item: PendingEntry, keys: AuditKeys) -> AuditEntry:
    kid = keys.current
    after_fields = None if item.after is None else field_digests(item.after, keys, kid)
    before_digest = (
        None if item.before is None else record_digest(field_digests(item.before, keys, kid))
    )
    return AuditEntry(
        at=item.at or datetime.now(UTC),
        clinic_id=item.clinic_id,
        actor=item.actor,
        action=item.action,
        entity=item.entity,
        entity_id=str(item.entity_id),
        before_digest=before_digest,
        after_digest=None if after_fields is None else record_digest(after_fields),
        after_fields=after_fields,
        content_sha256=item.content_sha256,
        key_id=kid,
    )


def append_many(session: Session, pending: Iterable[PendingEntry]) -> list[AuditEntry]:
    """Append entries in order, in the caller's transaction, taking the head's lock once.

    The digests are computed before the lock is taken; the lock is held only to number and
    chain the entries (and then until the transaction ends).
    """
    keys = load_keys()
    entries = [_prepare(item, keys) for item in pending]
    if not entries:
        return []
    session.flush()  # the caller's writes go out before the head is locked: a short lock
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS)
        session.add(head)
    seq, prev = head.seq, head.hash
    for entry in entries:
        seq += 1
        entry.seq = seq
        entry.prev_hash = prev
        entry.hash = prev = entry_hash(entry, keys)
    session.add_all(entries)
    head.seq, head.hash = seq, prev
    return entries


@dataclass(frozen=True)
class ChainProblem:
    """One break in the chain."""

    seq: int
    problem: str
    #: The clinic of the entry (``None``: the log as a whole, or an entry of no clinic).
    clinic_id: uuid.UUID | None = field(default=None, compare=False)

    def __str__(self) -> str:
        return f"audit entry {self.seq}: {self.problem}"


@dataclass(frozen=True)
class LastEntry:
    """The last entry the log holds for one record."""

    seq: int
    action: str
    after_digest: str | None
    after_fields: dict[str, str] | None
    content_sha256: str | None
    key_id: str
    clinic_id: uuid.UUID | None = None


@dataclass(frozen=True)
class ChainReport:
    """What :func:`verify_chain` found (and, from :func:`verify_all`, the records and the
    checkpoint). ``problems`` are named breaks; ``warnings`` are what could not be checked
    (their text may name the server's files: see ``audit_verify.NoCheckpoint``)."""

    entries: int
    head_seq: int
    head_hash: str
    problems: tuple[object, ...]
    genesis_hash: str | None = None
    records_checked: int = 0
    warnings: tuple[object, ...] = ()
    last: dict[tuple[str, str], LastEntry] = field(default_factory=dict, repr=False)
    #: How many of ``entries`` each clinic's are (``None``: entries of no clinic).
    entries_by_clinic: dict[uuid.UUID | None, int] = field(default_factory=dict, repr=False)
    #: How many of ``records_checked`` each clinic's are (``None``: records of no clinic).
    records_by_clinic: dict[uuid.UUID | None, int] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        """True when the chain is intact."""
        return not self.problems


def record_key(entry: AuditEntry) -> tuple[str, str]:
    """The record an entry wrote: ``(entity, record id)``. Entries written before a clinic's
    membership of a group had an entity of its own name it as a "join" of the group (its
    digests are the membership row's, whose id is the clinic's)."""
    if entry.entity == "clinic_group" and entry.action == "join" and entry.clinic_id is not None:
        return "clinic_group_member", str(entry.clinic_id)
    return entry.entity, entry.entity_id


def check_entries(
    entries: Iterable[AuditEntry], head: AuditHead | None, keys: AuditKeys | None = None
) -> ChainReport:
    """Walk entries in ``seq`` order and name every edited, deleted or reordered one."""
    keys = keys or load_keys()
    problems: list[object] = []
    last: dict[tuple[str, str], LastEntry] = {}
    expected_seq = 1
    prev = GENESIS
    genesis: str | None = None
    count = 0
    by_clinic: dict[uuid.UUID | None, int] = {}
    for entry in entries:
        count += 1
        by_clinic[entry.clinic_id] = by_clinic.get(entry.clinic_id, 0) + 1
        if genesis is None and entry.seq == 1:
            genesis = entry.hash
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
                    entry.seq,
                    "does not follow the entry before it (deleted or reordered)",
                    entry.clinic_id,
                )
            )
        if entry.key_id not in keys.by_id:
            problems.append(
                ChainProblem(
                    entry.seq,
                    f"signed with audit key {entry.key_id}, which is unknown",
                    entry.clinic_id,
                )
            )
        elif entry_hash(entry, keys) != entry.hash:
            problems.append(
                ChainProblem(entry.seq, "content does not match its hash (edited)", entry.clinic_id)
            )
        # An entry with neither digest is an access (an export) or a log event: no record state.
        if entry.before_digest is not None or entry.after_digest is not None:
            last[record_key(entry)] = LastEntry(
                entry.seq,
                entry.action,
                entry.after_digest,
                entry.after_fields,
                entry.content_sha256,
                entry.key_id,
                entry.clinic_id,
            )
        prev = entry.hash
        expected_seq = entry.seq + 1
    last_seq = expected_seq - 1
    if head is None:
        if count:
            problems.append(ChainProblem(last_seq, "audit head is missing"))
        return ChainReport(
            count, 0, GENESIS, tuple(problems), genesis, last=last, entries_by_clinic=by_clinic
        )
    if head.seq != last_seq or head.hash != prev:
        problems.append(
            ChainProblem(
                head.seq, f"head says seq {head.seq} but the log ends at {last_seq} (truncated?)"
            )
        )
    return ChainReport(
        count, head.seq, head.hash, tuple(problems), genesis, last=last, entries_by_clinic=by_clinic
    )


def verify_chain(session: Session, batch: int = 5000) -> ChainReport:
    """Verify the whole log, streaming it in ``seq`` order."""
    head = session.get(AuditHead, 1)
    rows = session.execute(
        select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=batch)
    ).scalars()
    return check_entries(rows, head)
