"""What every repository shares: its session and the clinic-scoped look-up."""

from __future__ import annotations

import uuid
from typing import Any, Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from dosemap.persistence.errors import NotFoundError
from dosemap.persistence.models import Base

M = TypeVar("M", bound=Base)


def as_uuid_or_none(text: str) -> uuid.UUID | None:
    """``text`` as a UUID when it is one (a person may type an id or a name)."""
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


class Repository:
    """Holds the unit of work's session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: Base) -> None:
        """Stage a new record in the unit of work."""
        self.session.add(row)


class ScopedRepository(Repository, Generic[M]):
    """A repository of one clinic-scoped model."""

    model: type[M]

    def get(self, clinic_id: uuid.UUID, record_id: uuid.UUID) -> M:
        """One record of ``clinic_id`` or :class:`NotFoundError` (no cross-clinic reads)."""
        model: Any = self.model
        row = self.session.execute(
            select(self.model).where(model.id == record_id, model.clinic_id == clinic_id)
        ).scalar_one_or_none()
        if row is None:
            raise NotFoundError(self.model.__tablename__.rstrip("s"), str(record_id))
        return row

    def locked(self, clinic_id: uuid.UUID, record_id: uuid.UUID) -> M:
        """Like :meth:`get`, with the row locked until the transaction ends (SELECT … FOR
        UPDATE on PostgreSQL; SQLite serialises writers already) and read as now stored: a
        second writer waits, then sees the first one's version (a clear conflict)."""
        model: Any = self.model
        row = self.session.execute(
            select(self.model)
            .where(model.id == record_id, model.clinic_id == clinic_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalar_one_or_none()
        if row is None:
            raise NotFoundError(self.model.__tablename__.rstrip("s"), str(record_id))
        return row
