"""Shared helpers for the use cases: clock, scoped look-ups, locking, audited writes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from dosemap.domain.errors import InvalidInputError
from dosemap.persistence import audit
from dosemap.persistence.errors import ConflictError, NotFoundError
from dosemap.persistence.models import Base

M = TypeVar("M", bound=Base)


class Input(BaseModel):
    """Base of service inputs: strict about unknown fields, immutable."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


def now() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(UTC)


def as_uuid(value: uuid.UUID | str, field: str) -> uuid.UUID:
    """Parse an id a person typed; names the field when it is not a UUID."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise InvalidInputError(field, "is not a record id", "a UUID") from None


def get_scoped(session: Session, model: type[M], clinic_id: uuid.UUID, record_id: uuid.UUID) -> M:
    """Load one record of ``clinic_id`` or raise :class:`NotFoundError` (no cross-clinic reads)."""
    row = session.execute(
        select(model).where(
            model.id == record_id,  # type: ignore[attr-defined]
            model.clinic_id == clinic_id,  # type: ignore[attr-defined]
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFoundError(model.__tablename__.rstrip("s"), str(record_id))
    return row


def check_version(obj: Any, expected_version: int | None, entity: str) -> None:
    """Optimistic lock: refuse a write based on a stale read."""
    if expected_version is not None and obj.version != expected_version:
        raise ConflictError(
            entity, str(obj.id), f"you read version {expected_version}, it is now {obj.version}"
        )


def record(
    session: Session,
    *,
    clinic_id: uuid.UUID | None,
    actor: str,
    action: str,
    entity: str,
    entity_id: uuid.UUID | str,
    before: dict[str, Any] | None,
    after: Base | Callable[[], dict[str, Any]] | None,
) -> None:
    """Flush pending changes, then append the audit entry for them.

    ``after`` is the written record (or a function building its snapshot), read after the
    flush so that the digest covers the stored version number.
    """
    session.flush()
    if isinstance(after, Base):
        after_snap: dict[str, Any] | None = audit.snapshot(after)
    else:
        after_snap = after() if after is not None else None
    audit.append(
        session,
        clinic_id=clinic_id,
        actor=actor,
        action=action,
        entity=entity,
        entity_id=entity_id,
        before=before,
        after=after_snap,
    )


def snap(obj: Base) -> dict[str, Any]:
    """Snapshot of one record for the audit digests."""
    return audit.snapshot(obj)
