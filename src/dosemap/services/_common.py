"""Shared helpers for the use cases: inputs, clock, ids, optimistic locking, snapshots."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from dosemap.domain.errors import InvalidInputError
from dosemap.persistence import audit
from dosemap.persistence.errors import ConflictError
from dosemap.persistence.models import Base


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


def check_version(obj: Any, expected_version: int | None, entity: str) -> None:
    """Optimistic lock: refuse a write based on a stale read."""
    if expected_version is not None and obj.version != expected_version:
        raise ConflictError(
            entity, str(obj.id), f"you read version {expected_version}, it is now {obj.version}"
        )


def snap(obj: Base) -> dict[str, Any]:
    """Snapshot of one record for the audit digests."""
    return audit.snapshot(obj)
