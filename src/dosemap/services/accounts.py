"""Web logins: accounts with argon2id password hashes, sign-in with throttling and lockout.

Password hashing (argon2id, argon2-cffi's RFC 9106 low-memory profile) happens only when a
password is set or checked: signing in, never per request. A request is recognised by its
session or access token, looked up by SHA-256 (see :mod:`dosemap.services.signin`).
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import Field

from dosemap.domain.errors import InvalidInputError
from dosemap.persistence.db import Database
from dosemap.persistence.errors import NotFoundError
from dosemap.persistence.models import UserAccount
from dosemap.persistence.unit_of_work import reading, writing
from dosemap.services._common import Input, now, snap

#: The web app's roles (``dosemap.web.permissions`` says what each may do).
Role = Literal["admin", "prescriber", "injector", "front_desk", "auditor"]
ROLES: tuple[Role, ...] = ("admin", "prescriber", "injector", "front_desk", "auditor")
MIN_PASSWORD_LENGTH = 10

_hasher = PasswordHasher()  # argon2id, time 3, 64 MiB, 4 lanes
# Checked against when the username is unknown, so that both answers take as long.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class AccountInput(Input):
    """A new web login."""

    username: str = Field(min_length=3, max_length=80, pattern=r"^[a-z0-9][a-z0-9._-]*$")
    display_name: str = Field(min_length=1, max_length=200)
    role: Role
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=200)
    staff_id: uuid.UUID | None = None


@dataclass(frozen=True)
class LockoutPolicy:
    """How many wrong passwords in a row lock an account, and for how long."""

    attempts: int = 5
    lock_for: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class AccountView:
    """An account as the Staff page and the sign-in flow see it (no hash, no secret)."""

    id: uuid.UUID
    clinic_id: uuid.UUID
    staff_id: uuid.UUID | None
    username: str
    display_name: str
    role: str
    active: bool
    has_totp: bool
    locked_until: datetime | None


def _view(row: UserAccount) -> AccountView:
    return AccountView(
        row.id,
        row.clinic_id,
        row.staff_id,
        row.username,
        row.display_name,
        row.role,
        row.active,
        row.totp_secret is not None,
        row.locked_until,
    )


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher.hash(password)


def create_account(
    db: Database, clinic_id: uuid.UUID, data: AccountInput, *, actor: str
) -> AccountView:
    """Add a web login to the clinic (the username must be free in the whole deployment)."""
    password_hash = hash_password(data.password)
    with writing(db) as uow:
        uow.clinics.get(clinic_id)
        if uow.accounts.by_username(data.username) is not None:
            raise InvalidInputError("username", "is taken", "a username no one else has")
        if data.staff_id is not None:
            uow.staff.get(clinic_id, data.staff_id)
        row = UserAccount(
            id=uuid.uuid4(),
            clinic_id=clinic_id,
            staff_id=data.staff_id,
            username=data.username,
            display_name=data.display_name,
            role=data.role,
            password_hash=password_hash,
            active=True,
            failed_logins=0,
            created_at=now(),
        )
        uow.accounts.add(row)
        uow.audit.record(
            clinic_id=clinic_id,
            actor=actor,
            action="create",
            entity="user_account",
            entity_id=row.id,
            before=None,
            after=row,
        )
        return _view(row)


def account_view(row: UserAccount) -> AccountView:
    """What may be shown of a login (never its password hash or TOTP secret)."""
    return _view(row)


def accounts_of(db: Database, clinic_id: uuid.UUID) -> list[AccountView]:
    """The clinic's web logins."""
    with reading(db) as uow:
        return [_view(row) for row in uow.accounts.of_clinic(clinic_id)]


def find_account(db: Database, username: str) -> AccountView | None:
    """The account called ``username``, if any."""
    with reading(db) as uow:
        row = uow.accounts.by_username(username)
        return None if row is None else _view(row)


@dataclass(frozen=True)
class SignInResult:
    """The outcome of a password check. ``account`` is set only when the password was right."""

    account: AccountView | None
    needs_totp: bool = False
    locked_until: datetime | None = None
    totp_setup_required: bool = False


def check_password(
    db: Database,
    username: str,
    password: str,
    *,
    at: datetime | None = None,
    lockout: LockoutPolicy = LockoutPolicy(),
) -> SignInResult:
    """Check a username and password, counting failures towards a lockout.

    A locked account is refused even with the right password until its lock ends. The answer
    never says whether the username exists.
    """
    at = at or now()
    with reading(db) as uow:
        row = uow.accounts.by_username(username)
        # A login whose staff member is deactivated is as good as deactivated (as per request).
        active = row is not None and row.active and _staff_active(uow, row)
        stored = row.password_hash if row is not None and active else _DUMMY_HASH
        locked = row.locked_until if row is not None else None
    if locked is not None and locked > at:
        _hasher_verify(_DUMMY_HASH, password)  # the same work as any other answer
        return SignInResult(None, locked_until=locked)
    ok = _hasher_verify(stored, password) and row is not None and active
    if row is None:
        return SignInResult(None)
    with writing(db) as uow:
        account = uow.accounts.get(row.clinic_id, row.id)
        if account is None:
            return SignInResult(None)
        if not ok:
            account.failed_logins += 1
            if account.failed_logins >= lockout.attempts:
                account.locked_until = at + lockout.lock_for
                account.failed_logins = 0
                return SignInResult(None, locked_until=account.locked_until)
            return SignInResult(None)
        if account.failed_logins or account.locked_until is not None:
            account.failed_logins = 0
            account.locked_until = None
        if _hasher.check_needs_rehash(account.password_hash):
            account.password_hash = _hasher.hash(password)
        required = account.role in uow.accounts.totp_required_roles(account.clinic_id)
        view = _view(account)
    if required and not view.has_totp:
        # The clinic requires a second factor: the person enrols it before the session opens.
        return SignInResult(view, needs_totp=True, totp_setup_required=True)
    return SignInResult(view, needs_totp=view.has_totp)


def _staff_active(uow: Any, row: UserAccount) -> bool:
    if row.staff_id is None:
        return True
    member = uow.staff.find(row.clinic_id, row.staff_id)
    return member is not None and bool(member.active)


def new_totp_secret() -> str:
    """A fresh TOTP secret (base32, 160 bits) for an authenticator app."""
    return pyotp.random_base32(32)


def totp_uri(secret: str, username: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads (as text or a QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name="dosemap")


def _matching_step(secret: str, code: str, at: datetime) -> int | None:
    """The time step (Unix time // 30) whose code is ``code``, within one step of ``at``
    either way (clock drift), or ``None``."""
    totp = pyotp.TOTP(secret)
    current = totp.timecode(at)
    for step in (current, current - 1, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def check_totp(
    db: Database,
    clinic_id: uuid.UUID,
    user_id: uuid.UUID,
    code: str,
    *,
    enrol_secret: str | None = None,
    actor: str,
    at: datetime | None = None,
) -> bool:
    """Check a TOTP code (30 s steps, one step of clock drift allowed either way). Each time
    step is accepted once per person, signing in or signing a record alike: a code already
    used, or older than the last one used, is refused (RFC 6238 §5.2).

    With ``enrol_secret`` the account has no secret yet: a right code proves the person's app
    holds it, and it is stored.
    """
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return False
    with writing(db) as uow:
        account = uow.accounts.get(clinic_id, user_id)
        if account is None or not account.active:
            return False
        secret = account.totp_secret or enrol_secret
        step = None if secret is None else _matching_step(secret, code, at or now())
        if step is None or not uow.accounts.claim_totp_step(account.id, step):
            return False
        if account.totp_secret is None:
            account.totp_secret = secret
            uow.audit.record(
                clinic_id=clinic_id,
                actor=actor,
                action="enrol_totp",
                entity="user_account",
                entity_id=account.id,
                before=None,
                after=account,
            )
        return True


def totp_required_roles(db: Database, clinic_id: uuid.UUID) -> set[str]:
    """The roles the clinic's policy makes sign in (and sign records) with a second factor."""
    with reading(db) as uow:
        return uow.accounts.totp_required_roles(clinic_id)


def require_totp_for(db: Database, clinic_id: uuid.UUID, roles: set[str], *, actor: str) -> None:
    """Clinic policy: these roles sign in with a second factor. A person of such a role who has
    none enrols it at their next sign-in (:func:`check_password` says so), before any page."""
    unknown = roles - set(ROLES)
    if unknown:
        names = ", ".join(sorted(unknown))
        raise InvalidInputError("roles", f"no such role: {names}", ", ".join(ROLES))
    with writing(db) as uow:
        uow.clinics.get(clinic_id)
        before = uow.accounts.totp_required_roles(clinic_id)
        if before == roles:
            return  # nothing changes: no audit entry
        uow.accounts.set_totp_required_roles(clinic_id, roles)
        uow.audit.record(
            clinic_id=clinic_id,
            actor=actor,
            action="set_totp_policy",
            entity="clinic_web_policy",
            entity_id=clinic_id,
            before={"totp_required_roles": sorted(before)},
            after=lambda: {"totp_required_roles": sorted(roles)},
        )


def _hasher_verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _other_account(uow: Any, clinic_id: uuid.UUID, account_id: uuid.UUID, by: uuid.UUID) -> Any:
    if account_id == by:
        raise InvalidInputError(
            "account", "is your own", "another person's account (ask another admin)"
        )
    row = uow.accounts.get(clinic_id, account_id)
    if row is None:
        raise NotFoundError("user_account", str(account_id))
    return row


def _admins_left(uow: Any, clinic_id: uuid.UUID, without: uuid.UUID) -> int:
    return sum(
        1
        for a in uow.accounts.of_clinic(clinic_id)
        if a.role == "admin" and a.active and a.id != without
    )


def set_account_active(
    db: Database,
    clinic_id: uuid.UUID,
    account_id: uuid.UUID,
    *,
    active: bool,
    by: uuid.UUID,
    actor: str,
) -> AccountView:
    """Let a web login sign in again, or stop it (the caller ends its sessions: they may live
    in Redis). Nobody changes their own account; the last active admin stays."""
    with writing(db) as uow:
        row = _other_account(uow, clinic_id, account_id, by)
        if row.active == active:
            return _view(row)
        if not active and row.role == "admin" and not _admins_left(uow, clinic_id, row.id):
            raise InvalidInputError("account", "is the last active admin", "another account")
        before = snap(row)
        row.active = active
        if active:
            row.failed_logins = 0
            row.locked_until = None
        else:
            uow.web_sessions.remove_all_of(row.id)
        uow.audit.record(
            clinic_id=clinic_id,
            actor=actor,
            action="activate" if active else "deactivate",
            entity="user_account",
            entity_id=row.id,
            before=before,
            after=row,
        )
        return _view(row)


class RoleInput(Input):
    """A web login's new role."""

    role: Role


def set_account_role(
    db: Database,
    clinic_id: uuid.UUID,
    account_id: uuid.UUID,
    data: RoleInput,
    *,
    by: uuid.UUID,
    actor: str,
) -> AccountView:
    """Change a web login's role (its sessions end, so the new role applies at once)."""
    with writing(db) as uow:
        row = _other_account(uow, clinic_id, account_id, by)
        if row.role == data.role:
            return _view(row)
        if row.role == "admin" and row.active and not _admins_left(uow, clinic_id, row.id):
            raise InvalidInputError("role", "would leave the clinic without an admin", "admin")
        before = snap(row)
        row.role = data.role
        uow.web_sessions.remove_all_of(row.id)
        uow.audit.record(
            clinic_id=clinic_id,
            actor=actor,
            action="update",
            entity="user_account",
            entity_id=row.id,
            before=before,
            after=row,
        )
        return _view(row)
