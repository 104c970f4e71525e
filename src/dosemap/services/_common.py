"""Shared helpers for the use cases: inputs, clock, ids, optimistic locking, snapshots."""

from __future__ import annotations

import functools
import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

from pydantic import BaseModel, ConfigDict

from dosemap.domain.errors import InvalidInputError
from dosemap.persistence import audit
from dosemap.persistence.errors import ConflictError, TransientError
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


P = ParamSpec("P")
R = TypeVar("R")

#: How many times a use case runs when the database gives up on it for a passing reason.
ATTEMPTS = 4


def retried(use_case: Callable[P, R]) -> Callable[P, R]:
    """Run a use case (one unit of work) again when the database aborted it for a passing
    reason (a serialisation failure or deadlock on PostgreSQL, a busy SQLite file), a bounded
    number of times with a short random back-off; then the error is one clear line."""

    @functools.wraps(use_case)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(ATTEMPTS):
            try:
                return use_case(*args, **kwargs)
            except TransientError:
                if attempt == ATTEMPTS - 1:
                    raise
                time.sleep(random.uniform(0, 0.02 * 2**attempt))  # spread the retries out
        raise AssertionError("unreachable")

    return run
