"""The unit of work: one transaction, with the repositories that work inside it.

A service opens one per use case::

    with writing(db) as uow:
        patient = uow.patients.get(clinic_id, patient_id)
        # change the patient here
        uow.audit.record(...)

A writing unit commits when the block ends normally and rolls back on any exception (nothing
is written half-way); a reading unit only reads. Records loaded inside stay usable after the
block (the sessions do not expire them on commit). See cosmicpython's ``unit_of_work.py``.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from dosemap.persistence.db import Database
from dosemap.persistence.errors import ConflictError, RecordClashError, TransientError
from dosemap.persistence.repositories.accounts import (
    AccessLogRepository,
    AccessTokenRepository,
    AccountRepository,
    WebSessionRepository,
)
from dosemap.persistence.repositories.audit import AuditLog
from dosemap.persistence.repositories.bulk import BulkWriter
from dosemap.persistence.repositories.charting import ChartingRepository
from dosemap.persistence.repositories.clinic_day import ClinicDay
from dosemap.persistence.repositories.exports import ExportQueries
from dosemap.persistence.repositories.followups import FollowUpRepository
from dosemap.persistence.repositories.patients import PatientRepository
from dosemap.persistence.repositories.photos import PhotoRepository
from dosemap.persistence.repositories.reporting import Reporting
from dosemap.persistence.repositories.sessions import SessionRepository
from dosemap.persistence.repositories.sites import SiteRepository
from dosemap.persistence.repositories.staff import ClinicRepository, StaffRepository
from dosemap.persistence.repositories.vials import LotRepository, VialRepository
from dosemap.persistence.repositories.web_intake import (
    ConsentTextRepository,
    KioskRepository,
    PhotoJobRepository,
)


class UnitOfWork:
    """One SQLAlchemy session on ``db`` and the repositories bound to it.

    A writing unit commits when its block ends normally and rolls back on any exception;
    :meth:`commit` inside the block ends one transaction and starts the next (for work done in
    several steps, each whole). A reading unit never commits.
    """

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
    bulk: BulkWriter
    accounts: AccountRepository
    web_sessions: WebSessionRepository
    access_tokens: AccessTokenRepository
    access_log: AccessLogRepository
    clinic_day: ClinicDay
    exports: ExportQueries
    charting: ChartingRepository
    kiosk: KioskRepository
    consent_texts: ConsentTextRepository
    photo_jobs: PhotoJobRepository
    sites: SiteRepository

    def __init__(self, db: Database, *, write: bool) -> None:
        self.db = db
        self.write = write
        self._session: Session | None = None

    def __enter__(self) -> Self:
        # Writers begin with BEGIN IMMEDIATE on SQLite (see dosemap.persistence.db).
        session = (self.db.writer if self.write else self.db.reader)()
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
        self.bulk = BulkWriter(session)
        self.accounts = AccountRepository(session)
        self.web_sessions = WebSessionRepository(session)
        self.access_tokens = AccessTokenRepository(session)
        self.access_log = AccessLogRepository(session)
        self.clinic_day = ClinicDay(session)
        self.exports = ExportQueries(session)
        self.charting = ChartingRepository(session)
        self.kiosk = KioskRepository(session)
        self.consent_texts = ConsentTextRepository(session)
        self.photo_jobs = PhotoJobRepository(session)
        self.sites = SiteRepository(session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self._open()
        try:
            if self.write and exc_type is None:
                try:
                    self.audit.write_pending()
                    session.commit()
                except Exception as failure:
                    session.rollback()
                    translated = translate(failure)
                    if translated is failure:
                        raise
                    raise translated from None
            elif self.write:
                self.audit.discard_pending()
                session.rollback()
        finally:
            # Closing ends a reader's transaction without expiring what it loaded.
            session.close()
            self._session = None
        if exc is not None and isinstance(exc, Exception):
            translated = translate(exc)
            if translated is not exc:
                raise translated from None

    def _open(self) -> Session:
        if self._session is None:
            raise RuntimeError("the unit of work is used outside its `with` block")
        return self._session

    def commit(self) -> None:
        """Commit what is written so far; later work runs in a new transaction."""
        if not self.write:
            raise RuntimeError("a reading unit of work cannot commit")
        session = self._open()
        self.audit.write_pending()
        session.commit()

    def rollback(self) -> None:
        """Discard what is written since the last commit."""
        self.audit.discard_pending()
        self._open().rollback()

    def flush(self) -> None:
        """Send pending changes (ids, versions, constraint checks) without committing."""
        self._open().flush()


#: SQLSTATEs PostgreSQL uses for a transaction that may simply be run again.
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01", "55P03"})


def translate(exc: Exception) -> Exception:
    """A database error as the records layer's own: a concurrent change as
    :class:`ConflictError`, a passing failure as :class:`TransientError` (the caller may run
    the use case again); anything else unchanged."""
    if isinstance(exc, StaleDataError):
        return ConflictError("record", "(concurrent save)", "saved by someone else meanwhile")
    if isinstance(exc, IntegrityError):  # a rule the services check missed: one line, no data
        constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
        detail = constraint or str(exc.orig).splitlines()[0][:120]
        return RecordClashError(f"refused by the database: {detail}")
    if isinstance(exc, DBAPIError):
        code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        text = str(exc.orig).lower()
        if code in _RETRYABLE_SQLSTATES or "database is locked" in text or "deadlock" in text:
            return TransientError(f"the database was busy ({code or 'locked'}); try again")
    return exc


def writing(db: Database) -> UnitOfWork:
    """A unit of work that commits on success and rolls back on any error."""
    return UnitOfWork(db, write=True)


def reading(db: Database) -> UnitOfWork:
    """A read-only unit of work."""
    return UnitOfWork(db, write=False)
