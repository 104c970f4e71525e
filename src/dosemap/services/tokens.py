"""Personal access tokens for scripts: hashed at rest (SHA-256), scoped, revocable.

A token is shown once, when made (``dm_pat_`` + 256 random bits); only its hash is kept. A
request bearing it acts as its owner, limited to the token's scopes (permission names the
owner's role holds).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import Field

from dosemap.domain.errors import InvalidInputError
from dosemap.persistence.db import Database
from dosemap.persistence.models import AccessToken
from dosemap.persistence.unit_of_work import reading, writing
from dosemap.services._common import Input, now
from dosemap.services.signin import Principal, hash_token, new_token

TOKEN_PREFIX = "dm_pat_"
#: How stale ``last_used_at`` may get before a use rewrites it.
MARK_USED_EVERY = timedelta(minutes=1)


class TokenInput(Input):
    """A new token: a name to recognise it by, its scopes, and how long it lives."""

    name: str = Field(min_length=1, max_length=100)
    scopes: frozenset[str] = Field(min_length=1)
    days: int = Field(default=90, ge=1, le=366)


@dataclass(frozen=True)
class TokenView:
    """A token as its owner sees it (never the token itself)."""

    id: uuid.UUID
    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


def _view(row: AccessToken) -> TokenView:
    return TokenView(
        row.id,
        row.name,
        tuple(sorted(row.scopes.split())),
        row.created_at,
        row.expires_at,
        row.last_used_at,
        row.revoked_at,
    )


def create_token(
    db: Database, owner: Principal, data: TokenInput, *, allowed_scopes: frozenset[str]
) -> tuple[str, TokenView]:
    """Make a token for ``owner``; returns the token (shown once) and its view."""
    extra = data.scopes - allowed_scopes
    if extra:
        raise InvalidInputError(
            "scopes", f"not held by your role: {', '.join(sorted(extra))}",
            ", ".join(sorted(allowed_scopes)),
        )  # fmt: skip
    token = new_token(TOKEN_PREFIX)
    at = now()
    with writing(db) as uow:
        row = AccessToken(
            id=uuid.uuid4(),
            clinic_id=owner.own_clinic_id,
            user_id=owner.user_id,
            name=data.name,
            token_hash=hash_token(token),
            scopes=" ".join(sorted(data.scopes)),
            created_at=at,
            expires_at=at + timedelta(days=data.days),
        )
        uow.access_tokens.add(row)
        uow.audit.record(
            clinic_id=owner.own_clinic_id,
            actor=owner.actor,
            action="create",
            entity="access_token",
            entity_id=row.id,
            before=None,
            after=row,
        )
        return token, _view(row)


def tokens_of(db: Database, owner: Principal) -> list[TokenView]:
    """``owner``'s tokens, newest first."""
    with reading(db) as uow:
        return [_view(r) for r in uow.access_tokens.of_user(owner.own_clinic_id, owner.user_id)]


def revoke_token(db: Database, owner: Principal, token_id: uuid.UUID) -> None:
    """Revoke one of ``owner``'s tokens (another person's is not found)."""
    with writing(db) as uow:
        row = uow.access_tokens.get(owner.own_clinic_id, token_id)
        if row is None or row.user_id != owner.user_id:
            from dosemap.persistence.errors import NotFoundError

            raise NotFoundError("access_token", str(token_id))
        if row.revoked_at is None:
            row.revoked_at = now()
            uow.audit.record(
                clinic_id=owner.own_clinic_id,
                actor=owner.actor,
                action="revoke",
                entity="access_token",
                entity_id=row.id,
                before=None,
                after=row,
            )


def resolve_token(db: Database, token: str, at: datetime | None = None) -> Principal | None:
    """The person a bearer token acts for, limited to its scopes; ``None`` when the token is
    unknown, revoked, expired or its owner deactivated."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    at = at or now()
    with reading(db) as uow:
        found = uow.access_tokens.holder(hash_token(token))
    if found is None or not found.active or found.revoked_at is not None:
        return None
    if found.expires_at is not None and at >= found.expires_at:
        return None
    if found.last_used_at is None or at - found.last_used_at > MARK_USED_EVERY:
        with writing(db) as uow:
            uow.access_tokens.mark_used(found.token_id, at)
    return Principal(
        user_id=found.user_id,
        clinic_id=found.clinic_id,
        staff_id=found.staff_id,
        username=found.username,
        display_name=found.display_name,
        role=found.role,
        scopes=frozenset(found.scopes.split()),
    )
