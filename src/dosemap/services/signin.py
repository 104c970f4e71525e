"""Signed-in sessions and personal access tokens: what the web app checks on every request.

A browser holds a random token in a cookie; the server keeps only its SHA-256, so a stolen
database or Redis dump opens no session. Checking a request is one indexed look-up by that
hash (no password hashing), plus a write at most once a minute to move the idle clock.

Sessions live in the database by default, or in Redis when ``DOSEMAP_REDIS_URL`` is set
(:class:`RedisSessionStore`); both sit behind :class:`SessionStore`.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from dosemap.persistence.db import Database
from dosemap.persistence.models import WebSession
from dosemap.persistence.repositories.accounts import SignedIn
from dosemap.persistence.request_path import AccountNow, RequestPath
from dosemap.persistence.unit_of_work import writing
from dosemap.services._common import now
from dosemap.services.accounts import AccountView

__all__ = [
    "DatabaseSessionStore",
    "Principal",
    "RedisSessionStore",
    "SessionPolicy",
    "SessionStore",
    "SignedIn",
    "hash_token",
    "new_token",
]


def new_token(prefix: str = "") -> str:
    """A fresh random token (256 bits)."""
    return prefix + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """What is stored for ``token``: its SHA-256 in hex (a random token needs no slow hash)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SessionPolicy:
    """How long a session lives: idle timeout and absolute lifetime."""

    idle: timedelta = timedelta(minutes=15)
    absolute: timedelta = timedelta(hours=12)

    @property
    def touch_every(self) -> timedelta:
        """How stale ``last_seen_at`` may get before a request rewrites it (at most a tenth of
        the idle timeout, so a session never lives longer than the timeout says)."""
        return min(timedelta(minutes=1), self.idle / 10)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: a signed-in person (``csrf_token`` set) or a script's access token
    (``scopes`` set, no CSRF: no cookie is involved)."""

    user_id: uuid.UUID
    clinic_id: uuid.UUID
    staff_id: uuid.UUID | None
    username: str
    display_name: str
    role: str
    csrf_token: str | None = None
    session_hash: str | None = None
    scopes: frozenset[str] | None = None
    #: The records version read with the session (``None``: not known, e.g. Redis sessions).
    records_version: str | None = None
    #: The login's own clinic when it works at another site of its group through a grant
    #: (``clinic_id``, ``role`` and ``staff_id`` are then the granted site's); else ``None``.
    home_clinic_id: uuid.UUID | None = None
    site_name: str = ""  # the clinic it works at (shown in the header)
    can_switch: bool = False  # it holds a grant: the header offers the site picker

    @property
    def own_clinic_id(self) -> uuid.UUID:
        """The login's own clinic, wherever it works now."""
        return self.home_clinic_id or self.clinic_id

    @property
    def actor(self) -> str:
        """How the audit log names this person (the staff id when there is one)."""
        return str(self.staff_id or self.user_id)


class SessionStore(Protocol):
    """Where signed-in sessions are kept."""

    def create(self, account: AccountView, *, pending_totp: bool, policy: SessionPolicy) -> str:
        """Start a session; returns the cookie token (shown once, never stored)."""

    def lookup(self, token_hash: str) -> tuple[SignedIn | None, str | None]:
        """The session with this token hash and its account (or ``None``), and the records
        version if the store reads it in the same query (else ``None``)."""

    def touch(self, token_hash: str, at: datetime) -> None:
        """Move the idle clock."""

    def clear_pending_totp(self, token_hash: str) -> None:
        """The second factor was given."""

    def remove(self, token_hash: str) -> None:
        """End one session."""

    def remove_all_of(self, user_id: uuid.UUID) -> None:
        """End every session of a person."""

    def work_at(self, token_hash: str, clinic_id: uuid.UUID | None) -> None:
        """The session works at ``clinic_id`` (``None``: the login's own clinic)."""


class DatabaseSessionStore:
    """Sessions in the ``web_sessions`` table (the default)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.path = RequestPath(db)

    def close(self) -> None:
        """Close the driver connections the per-request look-ups opened."""
        self.path.close()

    def create(self, account: AccountView, *, pending_totp: bool, policy: SessionPolicy) -> str:
        token = new_token()
        at = now()
        with writing(self.db) as uow:
            uow.web_sessions.add(
                WebSession(
                    token_hash=hash_token(token),
                    user_id=account.id,
                    clinic_id=account.clinic_id,
                    csrf_token=new_token(),
                    pending_totp=pending_totp,
                    created_at=at,
                    last_seen_at=at,
                    expires_at=at + policy.absolute,
                )
            )
        return token

    def lookup(self, token_hash: str) -> tuple[SignedIn | None, str | None]:
        return self.path.signed_in(token_hash)

    def touch(self, token_hash: str, at: datetime) -> None:
        with writing(self.db) as uow:
            uow.web_sessions.touch(token_hash, at)

    def clear_pending_totp(self, token_hash: str) -> None:
        with writing(self.db) as uow:
            uow.web_sessions.clear_pending_totp(token_hash)

    def remove(self, token_hash: str) -> None:
        with writing(self.db) as uow:
            uow.web_sessions.remove(token_hash)

    def remove_all_of(self, user_id: uuid.UUID) -> None:
        with writing(self.db) as uow:
            uow.web_sessions.remove_all_of(user_id)

    def work_at(self, token_hash: str, clinic_id: uuid.UUID | None) -> None:
        with writing(self.db) as uow:
            uow.web_sessions.work_at(token_hash, clinic_id)


class RedisSessionStore:
    """Sessions in Redis (``DOSEMAP_REDIS_URL``): a key per session that Redis drops at the end
    of its absolute lifetime (the idle timeout is judged by :func:`check_session`), and a set
    per person so that all of one person's sessions can be ended.

    A session key holds only what the session is (who, CSRF token, clocks, the site it works
    at). The login itself — role, active flag, its staff member's active flag, and the grant at
    the session's site — is read from the database on every look-up (one primary-key query that
    also reads the records version), so a role change, a deactivation or a revoked grant made
    by any path (Staff page, ``dosemap db staff-deactivate``, a script, the database itself)
    applies at the person's next request, as with :class:`DatabaseSessionStore`. Where the
    database store's sessions are ended (``web_sessions.remove_all_of``: a deactivation, a role
    change through the service) the login's ``sessions_ended`` count moves; a session key
    remembers the count it began at, so it ends then too.

    ``clock`` tells the time sessions are created at (tests move it instead of waiting).
    """

    def __init__(
        self,
        url: str,
        db: Database,
        *,
        prefix: str = "dosemap:session:",
        clock: Callable[[], datetime] = now,
    ) -> None:
        import redis  # only when Redis is configured

        self.client: Any = redis.Redis.from_url(url)
        self.path = RequestPath(db)
        self.prefix = prefix
        self.clock = clock

    def close(self) -> None:
        """Close the driver connections the per-request look-ups opened, and the client."""
        self.path.close()
        self.client.close()

    def _key(self, token_hash: str) -> str:
        return self.prefix + token_hash

    def _user_key(self, user_id: uuid.UUID | str) -> str:
        return f"{self.prefix}user:{user_id}"

    def create(self, account: AccountView, *, pending_totp: bool, policy: SessionPolicy) -> str:
        token = new_token()
        token_hash = hash_token(token)
        at = self.clock()
        now_, _ = self.path.account_now(account.id)
        data = {
            "sessions_ended": now_.sessions_ended if now_ is not None else 0,
            "site_id": None,  # the login's own clinic (see work_at)
            "user_id": str(account.id),
            "clinic_id": str(account.clinic_id),
            "staff_id": str(account.staff_id) if account.staff_id else None,
            "username": account.username,
            "display_name": account.display_name,
            "csrf_token": new_token(),
            "pending_totp": pending_totp,
            "created_at": at.isoformat(),
            "last_seen_at": at.isoformat(),
            "expires_at": (at + policy.absolute).isoformat(),
        }
        ttl = int(policy.absolute.total_seconds())
        pipe = self.client.pipeline()
        pipe.set(self._key(token_hash), json.dumps(data), ex=ttl)
        pipe.sadd(self._user_key(account.id), token_hash)
        pipe.expire(self._user_key(account.id), ttl)
        pipe.execute()
        return token

    def lookup(self, token_hash: str) -> tuple[SignedIn | None, str | None]:
        raw = self.client.get(self._key(token_hash))
        if raw is None:
            return None, None
        d = json.loads(raw)
        user_id = uuid.UUID(d["user_id"])
        site = d.get("site_id")
        account, version = self.path.account_now(user_id, uuid.UUID(site) if site else None)
        if (
            account is None
            or str(account.clinic_id) != d["clinic_id"]
            # Every session of the login was ended since this one began (as the database
            # store deletes its rows): a key from before the count was kept has none.
            or account.sessions_ended != d.get("sessions_ended", account.sessions_ended)
        ):
            account = AccountNow(
                clinic_id=uuid.UUID(d["clinic_id"]),
                staff_id=None,
                username=d["username"],
                display_name=d["display_name"],
                role="",
                active=False,  # the login is gone or ended: the session is refused and removed
            )
        return SignedIn(
            token_hash=token_hash,
            user_id=user_id,
            clinic_id=account.clinic_id,
            staff_id=account.staff_id,
            username=account.username,
            display_name=account.display_name,
            role=account.role,
            active=account.active,
            csrf_token=d["csrf_token"],
            pending_totp=bool(d["pending_totp"]),
            created_at=datetime.fromisoformat(d["created_at"]),
            last_seen_at=datetime.fromisoformat(d["last_seen_at"]),
            expires_at=datetime.fromisoformat(d["expires_at"]),
            site_id=account.site_id,
            site_role=account.site_role,
            site_staff_id=account.site_staff_id,
            site_expires_at=account.site_expires_at,
            site_revoked=account.site_revoked,
            site_in_group=account.site_in_group,
            site_name=account.site_name,
            home_name=account.home_name,
            has_grants=account.has_grants,
        ), version

    def _update(self, token_hash: str, **changes: Any) -> None:
        key = self._key(token_hash)
        raw = self.client.get(key)
        if raw is None:
            return
        d = json.loads(raw)
        d.update(changes)
        # XX: only if the key is still there. A plain SET after a sign-out between the GET and
        # here would bring the ended session back, with no expiry (KEEPTTL of nothing).
        self.client.set(key, json.dumps(d), keepttl=True, xx=True)

    def touch(self, token_hash: str, at: datetime) -> None:
        self._update(token_hash, last_seen_at=at.isoformat())

    def clear_pending_totp(self, token_hash: str) -> None:
        self._update(token_hash, pending_totp=False)

    def remove(self, token_hash: str) -> None:
        raw = self.client.get(self._key(token_hash))
        self.client.delete(self._key(token_hash))
        if raw is not None:
            self.client.srem(self._user_key(json.loads(raw)["user_id"]), token_hash)

    def work_at(self, token_hash: str, clinic_id: uuid.UUID | None) -> None:
        # The grant there is judged on every look-up, against the database.
        self._update(token_hash, site_id=str(clinic_id) if clinic_id is not None else None)

    def remove_all_of(self, user_id: uuid.UUID) -> None:
        members = self.client.smembers(self._user_key(user_id))
        keys = [self._key(m.decode() if isinstance(m, bytes) else m) for m in members]
        if keys:
            self.client.delete(*keys)
        self.client.delete(self._user_key(user_id))


@dataclass(frozen=True, slots=True)
class SessionCheck:
    """What a session cookie is worth now, and what the store must do about it."""

    principal: Principal | None
    pending_totp: bool = False
    #: "touch" (move the idle clock), "remove" (idle or expired), "revoke" (the login or its
    #: staff member is deactivated: every session of the person ends), "home" (the grant to
    #: work at another site no longer holds: back to the own clinic) or None.
    action: str | None = None


def check_session(
    store: SessionStore, token: str, policy: SessionPolicy, at: datetime | None = None
) -> SessionCheck:
    """Look the cookie's session up (one query) and judge it; writes nothing.

    The web app runs this on every request and hands :attr:`SessionCheck.action`, rarely
    needed, to a worker thread (:func:`apply_session_action`).
    """
    at = at or now()
    token_hash = hash_token(token)
    found, version = store.lookup(token_hash)
    if found is None:
        return SessionCheck(None)
    if not found.active:  # deactivated by whatever path: every session of the person ends
        return SessionCheck(None, action="revoke")
    if at >= found.expires_at or at - found.last_seen_at > policy.idle:
        return SessionCheck(None, action="remove")
    touch = "touch" if at - found.last_seen_at > policy.touch_every else None
    if found.site_id is not None and not granted_now(found, at):
        # Revoked, expired, or the group changed: back home, and the session too.
        return SessionCheck(
            _principal(found, token_hash, version, away=False), found.pending_totp, "home"
        )
    principal = _principal(found, token_hash, version, away=found.site_id is not None)
    return SessionCheck(principal, found.pending_totp, touch)


#: Principals already built, by what they are built from (see :func:`_principal`).
_PRINCIPALS: dict[tuple[int, str, str | None, bool], tuple[SignedIn, Principal]] = {}
_PRINCIPALS_LIMIT = 4096


def _principal(found: SignedIn, token_hash: str, version: str | None, *, away: bool) -> Principal:
    """The principal of a session row judged live (``away``: working at the granted site).

    A pure function of its arguments, remembered: the same session at the same records
    version asks again on every request (built anew it cost ~10 µs a request). The store
    hands out the same ``found`` object for the same row, so it is keyed by identity (hashing
    its 24 fields cost as much as building); the entry keeps ``found`` alive and is used only
    if it holds that very object.
    """
    key = (id(found), token_hash, version, away)
    known = _PRINCIPALS.get(key)
    if known is not None and known[0] is found:
        return known[1]
    principal = Principal(
        user_id=found.user_id,
        clinic_id=found.clinic_id,
        staff_id=found.staff_id,
        username=found.username,
        display_name=found.display_name,
        role=found.role,
        csrf_token=found.csrf_token,
        session_hash=token_hash,
        records_version=version,
        site_name=found.home_name,
        can_switch=found.has_grants,
    )
    if away and found.site_id is not None:
        principal = replace(
            principal,
            clinic_id=found.site_id,
            role=found.site_role or "",
            staff_id=found.site_staff_id,
            home_clinic_id=found.clinic_id,
            site_name=found.site_name,
        )
    if len(_PRINCIPALS) >= _PRINCIPALS_LIMIT:
        _PRINCIPALS.clear()
    _PRINCIPALS[key] = (found, principal)
    return principal


def granted_now(found: SignedIn, at: datetime) -> bool:
    """Whether the session's grant to work at another site holds at ``at``."""
    return (
        found.site_role is not None
        and not found.site_revoked
        and found.site_expires_at is not None
        and at < found.site_expires_at
        and found.site_in_group
    )


def apply_session_action(store: SessionStore, token: str, action: str, at: datetime) -> None:
    """Carry out :attr:`SessionCheck.action` for ``token``."""
    token_hash = hash_token(token)
    if action == "touch":
        store.touch(token_hash, at)
    elif action == "remove":
        store.remove(token_hash)
    elif action == "revoke":
        found, _ = store.lookup(token_hash)
        store.remove(token_hash)
        if found is not None:
            store.remove_all_of(found.user_id)
    elif action == "home":  # so that a later grant does not move the person without asking
        store.work_at(token_hash, None)


def resolve_session(
    store: SessionStore, token: str, policy: SessionPolicy, at: datetime | None = None
) -> tuple[Principal | None, bool]:
    """:func:`check_session` and its action in one call: the person a session cookie belongs
    to, and whether the session awaits its second factor."""
    at = at or now()
    verdict = check_session(store, token, policy, at)
    if verdict.action is not None:
        apply_session_action(store, token, verdict.action, at)
    return verdict.principal, verdict.pending_totp


def as_token_principal(principal: Principal, scopes: frozenset[str]) -> Principal:
    """``principal`` acting through an access token limited to ``scopes``."""
    return replace(principal, csrf_token=None, session_hash=None, scopes=scopes)
