"""The web app's accounts, signed-in sessions, personal access tokens and the access log.

The per-request questions (who holds this session token? this access token?) are one indexed
query each, returning plain tuples: no ORM object is built on the hot path. The session's is
run on the driver by ``persistence.request_path``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update

from dosemap.persistence.ids import time_ordered_uuid
from dosemap.persistence.models import (
    AccessLogEntry,
    AccessToken,
    ClinicWebPolicy,
    Staff,
    UserAccount,
    WebSession,
)
from dosemap.persistence.repositories._base import Repository


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A live session's row joined with its account, as the web app checks it per request."""

    token_hash: str
    user_id: uuid.UUID
    clinic_id: uuid.UUID
    staff_id: uuid.UUID | None
    username: str
    display_name: str
    role: str
    active: bool
    csrf_token: str
    pending_totp: bool
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    # The site the session works at when it is not the login's own clinic, and the grant
    # that lets it (judged per request by ``services.signin.check_session``).
    site_id: uuid.UUID | None = None
    site_role: str | None = None
    site_staff_id: uuid.UUID | None = None
    site_expires_at: datetime | None = None
    site_revoked: bool = False
    site_in_group: bool = False  # the site and the login's clinic are in the same group
    site_name: str = ""  # the active site's name
    home_name: str = ""  # the login's own clinic's name
    has_grants: bool = False  # some grant not revoked: the person may switch sites


@dataclass(frozen=True, slots=True)
class TokenHolder:
    """An access token's row joined with its account."""

    token_id: uuid.UUID
    user_id: uuid.UUID
    clinic_id: uuid.UUID
    staff_id: uuid.UUID | None
    username: str
    display_name: str
    role: str
    active: bool
    scopes: str
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True, slots=True)
class AccessLine:
    """One access-log entry with the reader's name."""

    at: datetime
    username: str
    action: str
    entity: str
    entity_id: str
    via: str


class AccountRepository(Repository):
    """Web logins of every clinic (usernames are unique across the deployment)."""

    def by_username(self, username: str) -> UserAccount | None:
        """The account called ``username``, any clinic."""
        return self.session.execute(
            select(UserAccount).where(UserAccount.username == username)
        ).scalar_one_or_none()

    def get(self, clinic_id: uuid.UUID, user_id: uuid.UUID) -> UserAccount | None:
        """The account ``user_id`` of ``clinic_id``."""
        return self.session.execute(
            select(UserAccount).where(UserAccount.id == user_id, UserAccount.clinic_id == clinic_id)
        ).scalar_one_or_none()

    def of_clinic(self, clinic_id: uuid.UUID) -> list[UserAccount]:
        """The clinic's accounts by username."""
        return list(
            self.session.execute(
                select(UserAccount)
                .where(UserAccount.clinic_id == clinic_id)
                .order_by(UserAccount.username)
            ).scalars()
        )

    def claim_totp_step(self, user_id: uuid.UUID, step: int) -> bool:
        """Note that a TOTP code of time step ``step`` was accepted, unless this or a later
        step already was: one conditional UPDATE, so of two requests with the same code only
        one can succeed (PostgreSQL re-checks the condition after the other's commit; SQLite
        writers queue on ``BEGIN IMMEDIATE``)."""
        result = self.session.execute(
            update(UserAccount)
            .where(
                UserAccount.id == user_id,
                (UserAccount.totp_last_step.is_(None)) | (UserAccount.totp_last_step < step),
            )
            .values(totp_last_step=step)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1

    def totp_required_roles(self, clinic_id: uuid.UUID) -> set[str]:
        """Roles the clinic's policy makes sign in with a second factor."""
        roles = self.session.execute(
            select(ClinicWebPolicy.totp_required_roles).where(
                ClinicWebPolicy.clinic_id == clinic_id
            )
        ).scalar_one_or_none()
        return set((roles or "").split())

    def set_totp_required_roles(self, clinic_id: uuid.UUID, roles: set[str]) -> None:
        """Replace the clinic's second-factor policy."""
        row = self.session.get(ClinicWebPolicy, clinic_id)
        text = " ".join(sorted(roles))
        if row is None:
            self.session.add(ClinicWebPolicy(clinic_id=clinic_id, totp_required_roles=text))
        else:
            row.totp_required_roles = text


class WebSessionRepository(Repository):
    """Signed-in browsers, found by the SHA-256 of their cookie token. The per-request look-up
    (the session, its login, the site's grant, the records version: one query) is
    ``persistence.request_path.RequestPath.signed_in``, the one place that lists its columns."""

    def work_at(self, token_hash: str, clinic_id: uuid.UUID | None) -> None:
        """The session works at ``clinic_id`` from now on (``None``: the login's own clinic)."""
        home = select(UserAccount.clinic_id).where(UserAccount.id == WebSession.user_id)
        site = home.scalar_subquery() if clinic_id is None else clinic_id
        self.session.execute(
            update(WebSession).where(WebSession.token_hash == token_hash).values(clinic_id=site)
        )

    def touch(self, token_hash: str, at: datetime) -> None:
        """Note activity (the idle timeout counts from the last one)."""
        self.session.execute(
            update(WebSession).where(WebSession.token_hash == token_hash).values(last_seen_at=at)
        )

    def clear_pending_totp(self, token_hash: str) -> None:
        """The second factor was given."""
        self.session.execute(
            update(WebSession).where(WebSession.token_hash == token_hash).values(pending_totp=False)
        )

    def remove(self, token_hash: str) -> None:
        """Sign a browser out."""
        self.session.execute(delete(WebSession).where(WebSession.token_hash == token_hash))

    def remove_all_of(self, user_id: uuid.UUID) -> None:
        """Sign a person out everywhere (password change, deactivation), in whatever store
        keeps the sessions: the rows here go, and the count moves for sessions kept in Redis."""
        self.session.execute(delete(WebSession).where(WebSession.user_id == user_id))
        self.session.execute(
            update(UserAccount)
            .where(UserAccount.id == user_id)
            .values(sessions_ended=UserAccount.sessions_ended + 1)
            .execution_options(synchronize_session=False)
        )

    def remove_expired(self, idle_before: datetime, now: datetime) -> int:
        """Drop sessions idle since ``idle_before`` or past their absolute lifetime."""
        result = self.session.execute(
            delete(WebSession).where(
                (WebSession.last_seen_at < idle_before) | (WebSession.expires_at <= now)
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)


class AccessTokenRepository(Repository):
    """Personal access tokens, found by their SHA-256."""

    def holder(self, token_hash: str) -> TokenHolder | None:
        """The token and its account in one indexed query."""
        row = self.session.execute(
            select(
                AccessToken.id,
                UserAccount.id,
                UserAccount.clinic_id,
                UserAccount.staff_id,
                UserAccount.username,
                UserAccount.display_name,
                UserAccount.role,
                # Active: the account, and the staff member it acts as when it has one.
                UserAccount.active & func.coalesce(Staff.active, True),
                AccessToken.scopes,
                AccessToken.expires_at,
                AccessToken.revoked_at,
                AccessToken.last_used_at,
            )
            .join(UserAccount, UserAccount.id == AccessToken.user_id)
            .outerjoin(Staff, Staff.id == UserAccount.staff_id)
            .where(AccessToken.token_hash == token_hash)
        ).first()
        if row is None:
            return None
        values = list(row)
        values[7] = bool(values[7])
        return TokenHolder(*values)

    def of_user(self, clinic_id: uuid.UUID, user_id: uuid.UUID) -> list[AccessToken]:
        """A person's tokens, newest first."""
        return list(
            self.session.execute(
                select(AccessToken)
                .where(AccessToken.clinic_id == clinic_id, AccessToken.user_id == user_id)
                .order_by(AccessToken.created_at.desc())
            ).scalars()
        )

    def get(self, clinic_id: uuid.UUID, token_id: uuid.UUID) -> AccessToken | None:
        """One token of the clinic."""
        return self.session.execute(
            select(AccessToken).where(
                AccessToken.id == token_id, AccessToken.clinic_id == clinic_id
            )
        ).scalar_one_or_none()

    def mark_used(self, token_id: uuid.UUID, at: datetime) -> None:
        """Note when a token was last used."""
        self.session.execute(
            update(AccessToken).where(AccessToken.id == token_id).values(last_used_at=at)
        )


class AccessLogRepository(Repository):
    """Reads of patient records (append-only)."""

    def append(
        self,
        *,
        at: datetime,
        clinic_id: uuid.UUID,
        user_id: uuid.UUID,
        action: str,
        entity: str,
        entity_id: str,
        via: str,
    ) -> None:
        """Record one read."""
        self.session.add(
            AccessLogEntry(
                id=time_ordered_uuid(),
                at=at,
                clinic_id=clinic_id,
                user_id=user_id,
                action=action,
                entity=entity,
                entity_id=entity_id,
                via=via,
            )
        )

    def recent(
        self, clinic_id: uuid.UUID, limit: int, entity_id: str | None = None
    ) -> list[AccessLine]:
        """The clinic's newest entries (of one record, if given), newest first."""
        q = (
            select(
                AccessLogEntry.at,
                UserAccount.username,
                AccessLogEntry.action,
                AccessLogEntry.entity,
                AccessLogEntry.entity_id,
                AccessLogEntry.via,
            )
            .join(UserAccount, UserAccount.id == AccessLogEntry.user_id)
            .where(AccessLogEntry.clinic_id == clinic_id)
            .order_by(AccessLogEntry.at.desc())
            .limit(limit)
        )
        if entity_id is not None:
            q = q.where(AccessLogEntry.entity_id == entity_id)
        return [AccessLine(*row) for row in self.session.execute(q)]

    def filtered(
        self,
        clinic_id: uuid.UUID,
        *,
        limit: int,
        user_id: uuid.UUID | None = None,
        entity: str | None = None,
        entity_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[AccessLine]:
        """The clinic's entries matching every filter given, newest first."""
        q = (
            select(
                AccessLogEntry.at,
                UserAccount.username,
                AccessLogEntry.action,
                AccessLogEntry.entity,
                AccessLogEntry.entity_id,
                AccessLogEntry.via,
            )
            .join(UserAccount, UserAccount.id == AccessLogEntry.user_id)
            .where(AccessLogEntry.clinic_id == clinic_id)
        )
        if user_id is not None:
            q = q.where(AccessLogEntry.user_id == user_id)
        if entity is not None:
            q = q.where(AccessLogEntry.entity == entity)
        if entity_id is not None:
            q = q.where(AccessLogEntry.entity_id == entity_id)
        if since is not None:
            q = q.where(AccessLogEntry.at >= since)
        if until is not None:
            q = q.where(AccessLogEntry.at < until)
        q = q.order_by(AccessLogEntry.at.desc(), AccessLogEntry.id).limit(limit)
        return [AccessLine(*row) for row in self.session.execute(q)]
