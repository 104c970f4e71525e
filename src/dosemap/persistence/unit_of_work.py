"""The unit of work: one transaction, with the repositories that work inside it.

A service opens one per use case::

    with writing(db) as uow:
        patient = uow.patients.get(clinic_id, patient_id)
        ...
        uow.audit.record(...)

A writing unit commits when the block ends normally and rolls back on any exception (nothing
is written half-way); a reading unit only reads. Records loaded inside stay usable after the
block (the sessions do not expire them on commit). See cosmicpython's ``unit_of_work.py``.
"""

from __future__ import annotations

from contextlib import ExitStack
from types import TracebackType
from typing import Self

from sqlalchemy.orm import Session

from dosemap.persistence.db import Database
from dosemap.persistence.repositories.audit import AuditLog
from dosemap.persistence.repositories.followups import FollowUpRepository
from dosemap.persistence.repositories.patients import PatientRepository
from dosemap.persistence.repositories.photos import PhotoRepository
from dosemap.persistence.repositories.reporting import Reporting
from dosemap.persistence.repositories.sessions import SessionRepository
from dosemap.persistence.repositories.staff import ClinicRepository, StaffRepository
from dosemap.persistence.repositories.vials import LotRepository, VialRepository


class UnitOfWork:
    """One transaction on ``db`` and the repositories bound to it."""

    clinics: ClinicRepository
    staff: StaffRepository
    patients: PatientRepository
    sessions: SessionRepository
    lots: LotRepository
    vials: VialRepository
    followups: FollowUpRepository
    photos: PhotoRepository
    reporting: Reporting
    audit: AuditLog

    def __init__(self, db: Database, *, write: bool) -> None:
        self.db = db
        self.write = write
        self._stack = ExitStack()

    def __enter__(self) -> Self:
        session: Session = self._stack.enter_context(
            self.db.write() if self.write else self.db.read()
        )
        self._session = session
        self.clinics = ClinicRepository(session)
        self.staff = StaffRepository(session)
        self.patients = PatientRepository(session)
        self.sessions = SessionRepository(session)
        self.lots = LotRepository(session)
        self.vials = VialRepository(session)
        self.followups = FollowUpRepository(session)
        self.photos = PhotoRepository(session)
        self.reporting = Reporting(session)
        self.audit = AuditLog(session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # The database's write context commits on a clean exit and rolls back on an error.
        self._stack.__exit__(exc_type, exc, tb)

    def flush(self) -> None:
        """Send pending changes (ids, versions, constraint checks) without committing."""
        self._session.flush()


def writing(db: Database) -> UnitOfWork:
    """A unit of work that commits on success and rolls back on any error."""
    return UnitOfWork(db, write=True)


def reading(db: Database) -> UnitOfWork:
    """A read-only unit of work."""
    return UnitOfWork(db, write=False)
