"""The queries a web request runs before anything else, on the driver itself.

A request first asks who holds its session token and what the *records version* is (the audit
chain's head: every write to the clinical record appends to the chain, so a page computed at
one version stays right while the version is unchanged). These two questions are one indexed
query; through SQLAlchemy's Core it cost ~0.5 ms of CPU here, on the driver ~0.02 ms, and it
runs for every request. So the statement is built and compiled once with SQLAlchemy (the same
tables, the dialect's SQL), then run on a per-thread driver connection in autocommit mode,
its few columns converted by hand.

The access log's batches are written on the driver too: on SQLite three calls (BEGIN
IMMEDIATE, one executemany, COMMIT), on PostgreSQL one statement (one round trip).
"""

from __future__ import annotations

import contextlib
import threading
import uuid
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, exists, insert, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import ClauseElement

from dosemap.persistence.db import Database
from dosemap.persistence.ids import time_ordered_ints
from dosemap.persistence.models import (
    AccessLogEntry,
    AuditHead,
    Clinic,
    ClinicGroupMember,
    SiteGrant,
    Staff,
    UserAccount,
    WebSession,
)
from dosemap.persistence.repositories.accounts import SignedIn

_SITE = aliased(Clinic)
_HOME = aliased(Clinic)
_SITE_GROUP = aliased(ClinicGroupMember)
_HOME_GROUP = aliased(ClinicGroupMember)
_SIGNED_IN = (
    select(
        WebSession.token_hash,
        UserAccount.id,
        UserAccount.clinic_id,
        UserAccount.staff_id,
        UserAccount.username,
        UserAccount.display_name,
        UserAccount.role,
        UserAccount.active,
        WebSession.csrf_token,
        WebSession.pending_totp,
        WebSession.created_at,
        WebSession.last_seen_at,
        WebSession.expires_at,
        select(AuditHead.seq).where(AuditHead.id == 1).scalar_subquery(),
        select(AuditHead.hash).where(AuditHead.id == 1).scalar_subquery(),
        # The active site (web_sessions.clinic_id) and the grant that lets this login work
        # there: primary-key and unique-index joins, in the same one query.
        WebSession.clinic_id,
        SiteGrant.role,
        SiteGrant.staff_id,
        SiteGrant.expires_at,
        SiteGrant.revoked_at,
        _SITE_GROUP.group_id,
        _HOME_GROUP.group_id,
        _SITE.name,
        _HOME.name,
        exists()
        .where(SiteGrant.account_id == UserAccount.id, SiteGrant.revoked_at.is_(None))
        .correlate(UserAccount)
        .label("has_grants"),
        # The staff member the login acts as: deactivating them (``dosemap db
        # staff-deactivate``, the Staff page) stops the login at its next request.
        Staff.active,
    )
    .join(UserAccount, UserAccount.id == WebSession.user_id)
    .outerjoin(Staff, Staff.id == UserAccount.staff_id)
    .join(_SITE, _SITE.id == WebSession.clinic_id)
    .join(_HOME, _HOME.id == UserAccount.clinic_id)
    .outerjoin(
        SiteGrant,
        (SiteGrant.account_id == UserAccount.id) & (SiteGrant.clinic_id == WebSession.clinic_id),
    )
    .outerjoin(_SITE_GROUP, _SITE_GROUP.clinic_id == WebSession.clinic_id)
    .outerjoin(_HOME_GROUP, _HOME_GROUP.clinic_id == UserAccount.clinic_id)
    .where(WebSession.token_hash == bindparam("token_hash"))
)
_VERSION = select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)
_AT_SITE: Any = bindparam("site_id")
#: A login as it is now, for sessions kept outside the database (Redis): one primary-key
#: look-up with the records version, so role and deactivation apply at the next request, and
#: with the grant at the session's site (``site_id``: the own clinic when at home), joined as
#: in ``_SIGNED_IN``, so the grant is judged on every request in both stores.
_ACCOUNT_NOW = (
    select(
        UserAccount.clinic_id,
        UserAccount.staff_id,
        UserAccount.username,
        UserAccount.display_name,
        UserAccount.role,
        UserAccount.active,
        Staff.active,
        select(AuditHead.seq).where(AuditHead.id == 1).scalar_subquery(),
        select(AuditHead.hash).where(AuditHead.id == 1).scalar_subquery(),
        UserAccount.sessions_ended,
        _SITE.id,
        SiteGrant.role,
        SiteGrant.staff_id,
        SiteGrant.expires_at,
        SiteGrant.revoked_at,
        _SITE_GROUP.group_id,
        _HOME_GROUP.group_id,
        _SITE.name,
        _HOME.name,
        exists()
        .where(SiteGrant.account_id == UserAccount.id, SiteGrant.revoked_at.is_(None))
        .correlate(UserAccount)
        .label("has_grants"),
    )
    .select_from(UserAccount)
    .outerjoin(Staff, Staff.id == UserAccount.staff_id)
    .join(_HOME, _HOME.id == UserAccount.clinic_id)
    .outerjoin(_SITE, _SITE.id == _AT_SITE)
    .outerjoin(
        SiteGrant, (SiteGrant.account_id == UserAccount.id) & (SiteGrant.clinic_id == _AT_SITE)
    )
    .outerjoin(_SITE_GROUP, _SITE_GROUP.clinic_id == _AT_SITE)
    .outerjoin(_HOME_GROUP, _HOME_GROUP.clinic_id == UserAccount.clinic_id)
    .where(UserAccount.id == bindparam("user_id"))
)
_APPEND_ACCESS = insert(AccessLogEntry)
#: The access log's batch on PostgreSQL: one statement, one array per column.
_APPEND_ARRAYS_PG = (
    "INSERT INTO access_log (id, at, clinic_id, user_id, action, entity, entity_id, via) "
    "SELECT * FROM unnest(%s::uuid[], %s::timestamptz[], %s::uuid[], %s::uuid[], "
    "%s::varchar[], %s::varchar[], %s::varchar[], %s::varchar[])"
)
#: The access log's columns in the order the SQLite fast path passes them.
_APPEND_COLUMNS: dict[str, Any] = {
    name: bindparam(name)
    for name in ("id", "at", "clinic_id", "user_id", "action", "entity", "entity_id", "via")
}
#: How SQLAlchemy keeps a DATETIME in SQLite (UTC, naive; see ``types.UTCDateTime``).
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"
_SQLITE_BUSY = 5  # another connection holds the write lock
#: Rows of the session query already converted (see ``RequestPath.signed_in``).
_CONVERTED_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class AccountNow:
    """A login's current clinic, staff link, names, role and whether it may act (the account
    active and, when it acts as a staff member, that member active); how many times every
    session of it was ended (``sessions_ended``); and the site asked about with the login's
    grant there, as ``SignedIn`` has them (``site_id`` ``None``: the own clinic)."""

    clinic_id: uuid.UUID
    staff_id: uuid.UUID | None
    username: str
    display_name: str
    role: str
    active: bool
    sessions_ended: int = 0
    site_id: uuid.UUID | None = None
    site_role: str | None = None
    site_staff_id: uuid.UUID | None = None
    site_expires_at: datetime | None = None
    site_revoked: bool = False
    site_in_group: bool = False
    site_name: str = ""
    home_name: str = ""
    has_grants: bool = False


def _may_act(account_active: Any, staff_active: Any) -> bool:
    # No staff member linked (an auditor): the account's own flag decides.
    return bool(account_active) and (staff_active is None or bool(staff_active))


@dataclass(frozen=True, slots=True)
class AccessEntry:
    """One read of a patient's data, to be written to the access log."""

    at: datetime
    clinic_id: uuid.UUID
    user_id: uuid.UUID
    action: str
    entity: str
    entity_id: str
    via: str


def _version(seq: int | None, head_hash: str | None) -> str:
    # The hash too: after a restore the same sequence number may name other records.
    return f"{seq}:{head_hash}"


def _close_all(connections: list[Any]) -> None:
    for conn in connections:
        with contextlib.suppress(Exception):
            conn.close()
    connections.clear()


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _uuid_or_none(value: Any) -> uuid.UUID | None:
    return None if value is None else _uuid(value)


def _utc(value: Any) -> datetime:
    # SQLite keeps UTC as naive text ("2026-12-02 07:52:57.123456"); PostgreSQL returns aware.
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _site(row: tuple[Any, ...]) -> dict[str, Any]:
    home = _uuid(row[2])
    site = _uuid(row[15])
    away = site != home
    return {
        "site_id": site if away else None,
        "site_role": row[16] if away else None,
        "site_staff_id": _uuid_or_none(row[17]) if away else None,
        "site_expires_at": _utc(row[18]) if away and row[18] is not None else None,
        "site_revoked": row[19] is not None,
        "site_in_group": row[20] is not None and row[20] == row[21],
        "site_name": row[22],
        "home_name": row[23],
        "has_grants": bool(row[24]),
    }


def _sqlite_rows(entries: Sequence[AccessEntry]) -> list[tuple[str, ...]]:
    """The entries as SQLAlchemy stores them in SQLite: UUID hex, naive UTC text. The entries
    of one request share their time, clinic and login (the same objects), so each is
    converted once per run of them rather than per row (a search logs one row per patient)."""
    rows: list[tuple[str, ...]] = []
    at: Any = None
    clinic: Any = None
    user: Any = None
    at_text = clinic_hex = user_hex = ""
    for new_id, e in zip(time_ordered_ints(len(entries)), entries, strict=True):
        if e.at is not at:
            at, at_text = e.at, e.at.astimezone(UTC).strftime(_SQLITE_TIME)
        if e.clinic_id is not clinic:
            clinic, clinic_hex = e.clinic_id, e.clinic_id.hex
        if e.user_id is not user:
            user, user_hex = e.user_id, e.user_id.hex
        row = (f"{new_id:032x}", at_text, clinic_hex, user_hex)
        rows.append((*row, e.action, e.entity, e.entity_id, e.via))
    return rows


class _Compiled:
    """A Core statement compiled once for a dialect, run with its named parameters."""

    def __init__(self, statement: ClauseElement, db: Database, *names: str | None) -> None:
        compiled: Any = statement.compile(dialect=db.engine.dialect)  # an SQLCompiler
        self.sql = str(compiled)
        self.names = [n for n in names if n is not None]
        self.defaults: dict[str, Any] = dict(
            compiled.construct_params(dict.fromkeys(self.names, "") or None)
        )
        self.positional = list(compiled.positiontup or []) if compiled.positional else None

    def params(self, *values: Any) -> Any:
        params = dict(self.defaults)
        params.update(zip(self.names, values, strict=False))
        if self.positional is not None:
            return tuple(params[k] for k in self.positional)
        return params


class RequestPath:
    """The per-request queries on one database (thread-safe: a driver connection per thread)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._signed_in = _Compiled(_SIGNED_IN, db, "token_hash")
        self._version = _Compiled(_VERSION, db, None)
        self._account_now = _Compiled(_ACCOUNT_NOW, db, "user_id", "site_id")
        self._append_sql = str(
            _APPEND_ACCESS.values(_APPEND_COLUMNS).compile(dialect=db.engine.dialect)
        )
        self._local = threading.local()
        self._nowait = threading.local()  # SQLite connections that never wait for the lock
        self._converted: dict[tuple[Any, ...], tuple[SignedIn, str]] = {}
        self._opened: list[Any] = []
        self._defer: Callable[[Callable[[], None]], bool] | None = None
        # Close the driver connections with this object (a test app, a stopped worker).
        self._finalizer = weakref.finalize(self, _close_all, self._opened)

    def _connection(self, local: threading.local | None = None) -> Any:
        local = self._local if local is None else local
        conn = getattr(local, "conn", None)
        if conn is None:
            proxy = self.db.engine.raw_connection()  # runs the engine's connect hooks (PRAGMAs)
            conn = proxy.driver_connection
            proxy.detach()  # this thread keeps it; the pool does not count it
            assert conn is not None
            if not self.db.is_sqlite:
                conn.autocommit = True  # no transaction left open between requests
            elif local is self._nowait:
                # Never wait for the lock, never checkpoint (an fsync): see try_append_access.
                conn.execute("PRAGMA busy_timeout=0").close()
                conn.execute("PRAGMA wal_autocheckpoint=0").close()
            local.conn = conn
            self._opened.append(conn)
        return conn

    def _fetchone(self, query: _Compiled, *values: Any) -> tuple[Any, ...] | None:
        # On SQLite, on the thread's no-wait connection first: the one the event loop commits
        # the access log on, so its page cache stays warm across those commits (a commit by
        # another connection empties it: the next look-up re-read every page, ~150 µs). A
        # WAL read takes no lock; if it still fails (busy recovery, a dropped connection),
        # the waiting connection is asked, once afresh if need be.
        tries = [self._nowait, self._local] if self.db.is_sqlite else [self._local]
        tries.append(self._local)
        for attempt, local in enumerate(tries, 1):
            conn = self._connection(local)
            try:
                cursor = conn.cursor()
                try:
                    cursor.execute(query.sql, query.params(*values))
                    row = cursor.fetchone()
                finally:
                    cursor.close()
                return None if row is None else tuple(row)
            except Exception:
                local.conn = None  # start afresh next time
                with contextlib.suppress(Exception):
                    conn.close()
                if attempt == len(tries):
                    raise
        raise AssertionError("unreachable")

    def signed_in(self, token_hash: str) -> tuple[SignedIn | None, str]:
        """The session with this token hash and its account, and the records version.

        The conversion of the query's row (five UUIDs, three times: ~60 µs, twice the query)
        is remembered, keyed by the whole row as read, so any change to the session, the
        account, the grant or the records version is a new row. On SQLite the answer itself
        is remembered while the database is unchanged (:meth:`_unchanged_since_read`).
        """
        unchanged = self._unchanged_since_read() if self.db.is_sqlite else None
        if unchanged is not None:
            known = unchanged.get(token_hash)
            if known is not None:
                return known
        row = self._fetchone(self._signed_in, token_hash)
        if row is None:
            return None, self.records_version()
        found = self._converted.get(row)
        if found is None:
            if len(self._converted) >= _CONVERTED_LIMIT:
                self._converted.clear()
            found = self._converted[row] = self._convert(row)
        if unchanged is not None:
            if len(unchanged) >= _CONVERTED_LIMIT:
                unchanged.clear()
            unchanged[token_hash] = found
        return found

    def check_once_per_turn(self, defer: Callable[[Callable[[], None]], bool]) -> None:
        """Ask SQLite whether the database changed once per turn of the caller's event loop.

        ``defer(callback)`` arranges for ``callback`` to run on this thread after the
        look-ups already queued (the loop's ``call_soon``) and says whether it could (False:
        no loop here, the check then runs on every look-up). A look-up in the same turn as
        a check uses its answer: a request that arrives after a change (a revocation) is
        queued after that callback, so it is checked afresh (each check cost ~20 µs in a
        busy request path, ~6 µs alone)."""
        self._defer = defer

    def _unchanged_since_read(self) -> dict[str, tuple[SignedIn, str]] | None:
        """The sessions this thread looked up since no other connection committed anything:
        their rows are still what the query would read. SQLite's ``PRAGMA data_version``
        (no page read) changes when another connection — a clinical write, a role change, a
        deactivation, a revoked grant, a touched or ended session, the other worker's
        access log — commits; this connection itself writes only the access log, which the
        look-up does not read. So a revocation still applies at the next request (in the
        next turn of the loop, see :meth:`check_once_per_turn`).
        ``None``: cannot tell (the look-up then runs as usual)."""
        local = self._nowait
        seen: tuple[Any, int, dict[str, tuple[SignedIn, str]]] | None
        seen = getattr(local, "seen", None)
        if seen is not None and getattr(local, "checked_this_turn", False):
            known: dict[str, tuple[SignedIn, str]] = seen[2]
            return known
        try:
            conn = self._connection(local)
            cursor = conn.execute("PRAGMA data_version")
            try:
                version = cursor.fetchone()[0]
            finally:
                cursor.close()
        except Exception:
            return None
        if seen is None or seen[0] is not conn or seen[1] != version:
            # Read before the query: an answer stored under it is at least this recent.
            seen = local.seen = (conn, version, {})
        if self._defer is not None and self._defer(self._end_turn):
            local.checked_this_turn = True
        return seen[2]

    def _end_turn(self) -> None:
        self._nowait.checked_this_turn = False

    @staticmethod
    def _convert(row: tuple[Any, ...]) -> tuple[SignedIn, str]:
        return (
            SignedIn(
                token_hash=row[0],
                user_id=_uuid(row[1]),
                clinic_id=_uuid(row[2]),
                staff_id=_uuid_or_none(row[3]),
                username=row[4],
                display_name=row[5],
                role=row[6],
                active=_may_act(row[7], row[25]),
                csrf_token=row[8],
                pending_totp=bool(row[9]),
                created_at=_utc(row[10]),
                last_seen_at=_utc(row[11]),
                expires_at=_utc(row[12]),
                **_site(row),
            ),
            _version(row[13], row[14]),
        )

    def account_now(
        self, user_id: uuid.UUID, site_id: uuid.UUID | None = None
    ) -> tuple[AccountNow | None, str]:
        """The login ``user_id`` as it is now (``None``: no such login) with its grant at
        ``site_id`` (``None``: the own clinic), and the records version, in one primary-key
        query."""
        # The driver gets the values as SQLAlchemy stores them: hex text in SQLite.
        key = self._key
        row = self._fetchone(self._account_now, key(user_id), key(site_id) if site_id else None)
        if row is None:
            return None, self.records_version()
        home = _uuid(row[0])
        site = _uuid_or_none(row[10])
        away = site is not None and site != home
        account = AccountNow(
            clinic_id=home,
            staff_id=_uuid_or_none(row[1]),
            username=row[2],
            display_name=row[3],
            role=row[4],
            active=_may_act(row[5], row[6]),
            sessions_ended=int(row[9] or 0),
            site_id=site if away else None,
            site_role=row[11] if away else None,
            site_staff_id=_uuid_or_none(row[12]) if away else None,
            site_expires_at=_utc(row[13]) if away and row[13] is not None else None,
            site_revoked=row[14] is not None,
            site_in_group=row[15] is not None and row[15] == row[16],
            site_name=row[17] or "",
            home_name=row[18],
            has_grants=bool(row[19]),
        )
        return account, _version(row[7], row[8])

    def _key(self, value: uuid.UUID) -> Any:
        return value.hex if self.db.is_sqlite else value

    def close(self) -> None:
        """Close every driver connection this object opened (a later call opens new ones)."""
        self._finalizer()
        self._finalizer = weakref.finalize(self, _close_all, self._opened)
        self._local = threading.local()
        self._nowait = threading.local()

    def records_version(self) -> str:
        """The audit chain's head: changes with every write to the clinical record."""
        row = self._fetchone(self._version)
        return _version(*row) if row is not None else _version(None, None)

    def append_access(self, entries: Sequence[AccessEntry]) -> None:
        """Write reads to the access log in one transaction (a batch of waiting requests),
        waiting for the write lock as any writer does."""
        if not entries:
            return
        if self.db.is_sqlite:
            self._append_on_driver(entries, wait=True)
        else:
            self._append_on_postgresql(entries)

    def _append_on_postgresql(self, entries: Sequence[AccessEntry]) -> None:
        # One statement in autocommit mode is one transaction, committed (and, with
        # PostgreSQL's default synchronous_commit, flushed) before it returns: one round trip
        # for the whole batch, where SQLAlchemy's pool and transaction cost four (ping,
        # BEGIN, INSERT, COMMIT). The rows go as one array per column (fixed SQL text, so
        # psycopg prepares it once).
        columns = [
            [uuid.UUID(int=new_id) for new_id in time_ordered_ints(len(entries))],
            [e.at for e in entries],
            [e.clinic_id for e in entries],
            [e.user_id for e in entries],
            [e.action for e in entries],
            [e.entity for e in entries],
            [e.entity_id for e in entries],
            [e.via for e in entries],
        ]
        for attempt in (1, 2):
            conn = self._connection()
            try:
                with conn.cursor() as cursor:
                    cursor.execute(_APPEND_ARRAYS_PG, columns)
                return
            except Exception:
                if not getattr(conn, "closed", True):
                    raise  # a refused row (the connection is fine): the batch fails
                # A connection the server dropped (a restart) is replaced and the batch sent
                # again, once (SQLAlchemy's pool ping did this before). Had the first one been
                # committed with its answer lost, the reads are logged twice: never lost.
                self._local.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def try_append_access(self, entries: Sequence[AccessEntry]) -> bool:
        """Like :meth:`append_access` on SQLite, but never waits: False (nothing written) if
        another connection holds the write lock or anything else goes wrong. For callers that
        must not block (the event loop); they hand the entries to :meth:`append_access` on a
        thread instead. Always False on PostgreSQL (a network round trip is a wait)."""
        if not self.db.is_sqlite:
            return False
        try:
            self._append_on_driver(entries, wait=False)
        except Exception:
            return False
        return True

    def _append_on_driver(self, entries: Sequence[AccessEntry], *, wait: bool) -> None:
        # Three driver calls, no SQLAlchemy: the values as it stores them in SQLite (UUID hex,
        # naive UTC text). Through SQLAlchemy the writer ran Python between the calls while the
        # event loop waited for the GIL behind it.
        rows = _sqlite_rows(entries)
        local = self._local if wait else self._nowait
        conn = self._connection(local)
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(self._append_sql, rows)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except Exception as exc:
            # A busy lock leaves the connection as it was; anything else: start afresh.
            if getattr(exc, "sqlite_errorcode", None) != _SQLITE_BUSY:
                local.conn = None
                with contextlib.suppress(Exception):
                    conn.close()
            raise

    def checkpoint(self) -> None:
        """Copy the SQLite write-ahead log into the database file (what SQLite does by itself
        every 1000 pages, except on the no-wait connections, which must not block)."""
        if self.db.is_sqlite:
            self._connection(self._local).execute("PRAGMA wal_checkpoint(PASSIVE)").close()
