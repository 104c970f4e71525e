"""Shared helpers for the use cases: inputs, clock, ids, optimistic locking, snapshots."""

from __future__ import annotations

import functools
import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
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


#: The earliest date a record may carry (a date of birth, a consent): older is a typo.
EARLIEST_DATE = date(1900, 1, 1)
#: How far ahead of now a recorded time may be (clock skew, time zones), never years.
FUTURE_SLACK = timedelta(days=1)


def in_range(
    field: str, value: datetime | date, *, earliest: datetime | date | None = None
) -> None:
    """Refuse a recorded date or time before :data:`EARLIEST_DATE` (or ``earliest``) or more
    than :data:`FUTURE_SLACK` ahead of now, naming the field and the range allowed."""
    if isinstance(value, datetime):
        low: datetime | date = earliest or datetime.combine(EARLIEST_DATE, clock_time(), tzinfo=UTC)
        high: datetime | date = now() + FUTURE_SLACK
        shown = value.isoformat()
    else:
        low, high, shown = earliest or EARLIEST_DATE, (now() + FUTURE_SLACK).date(), str(value)
    if not low <= value <= high:
        raise InvalidInputError(field, f"{shown} is out of range", f"{low} to {high}")


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
