"""What every export shares: the file it returns, the audit entry it leaves, plain text forms
of decimals and times."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from dosemap.persistence.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class ExportFile:
    """An exported document: its bytes, a suggested file name and its media type."""

    content: bytes
    filename: str
    media_type: str


def record_export(
    uow: UnitOfWork,
    clinic_id: uuid.UUID,
    *,
    actor: str,
    what: str,
    patient_id: uuid.UUID | None = None,
) -> None:
    """Audit one export: of one patient's record (``entity`` patient) or of the clinic's."""
    uow.audit.record(
        clinic_id=clinic_id,
        actor=actor,
        action=f"export_{what}"[:60],
        entity="patient" if patient_id is not None else "clinic",
        entity_id=patient_id if patient_id is not None else clinic_id,
        before=None,
        after=None,
    )


def plain_decimal(value: Decimal | None) -> str:
    """An exact decimal without exponent or trailing zeros (``0.2000`` → ``0.2``); empty if None."""
    if value is None:
        return ""
    text = format(value.normalize() + 0, "f")
    return text


def utc_text(value: datetime | None) -> str:
    """An ISO 8601 time in UTC with ``Z`` (``2026-03-02T10:00:00Z``); empty if None."""
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def day_text(value: date | None) -> str:
    """An ISO 8601 day; empty if None."""
    return value.isoformat() if value is not None else ""


def stamp_for_name(value: date) -> str:
    """A day for a file name (``20260302``)."""
    return value.strftime("%Y%m%d")
