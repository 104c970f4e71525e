"""Photos as content-addressed files, with their metadata (and measurements) in the database.

The bytes never enter the database: a photo is stored once as ``<root>/<aa>/<sha256>`` and read
back only after its SHA-256 is checked, so a damaged or swapped file is caught, not shown.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, Field

from dosemap.domain.errors import InvalidInputError
from dosemap.persistence.db import Database
from dosemap.persistence.errors import IntegrityError
from dosemap.persistence.models import OutcomeMeasurement, PhotoRecord
from dosemap.persistence.unit_of_work import reading, writing
from dosemap.services._common import Input, now

MediaType = Literal["image/jpeg", "image/png", "image/heic", "image/webp"]
MAX_PHOTO_BYTES = 50 * 1024 * 1024


class PhotoStore:
    """A directory of files named by their SHA-256."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        """Where the file with this digest lives."""
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise InvalidInputError("sha256", "is not a SHA-256 hex digest", "64 hex digits")
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        """Store ``data`` (once) and return its digest; written atomically."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.exists() and self._digest(target) == digest:
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def get(self, sha256: str) -> bytes:
        """The file's bytes, after checking they still hash to ``sha256``."""
        target = self.path(sha256)
        try:
            data = target.read_bytes()
        except FileNotFoundError:
            raise IntegrityError(f"photo file {sha256[:12]}… is missing") from None
        if hashlib.sha256(data).hexdigest() != sha256:
            raise IntegrityError(f"photo file {sha256[:12]}… does not match its checksum")
        return data

    @staticmethod
    def _digest(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()


class PhotoInput(Input):
    """Metadata of a photo being added."""

    media_type: MediaType
    taken_at: AwareDatetime
    view: str | None = Field(default=None, max_length=40)
    session_id: uuid.UUID | None = None


class MeasurementInput(Input):
    """A measurement taken from a photo (by the photo work), linked to session and zone."""

    metric: str = Field(min_length=1, max_length=60)
    value: float
    unit: str = Field(min_length=1, max_length=20)
    zone: str | None = Field(default=None, max_length=60)
    session_id: uuid.UUID | None = None
    measured_at: AwareDatetime


def add_photo(
    db: Database,
    store: PhotoStore,
    clinic_id: uuid.UUID,
    patient_id: uuid.UUID,
    data: bytes,
    meta: PhotoInput,
    *,
    actor: str,
) -> PhotoRecord:
    """Store the file by content and record its metadata (the file is kept even if the record
    is rolled back: it is unreferenced then, never half-written)."""
    if not data or len(data) > MAX_PHOTO_BYTES:
        raise InvalidInputError("photo", f"{len(data)} bytes", f"1 to {MAX_PHOTO_BYTES} bytes")
    with writing(db) as uow:
        uow.patients.get(clinic_id, patient_id)
        if meta.session_id is not None:
            sess = uow.sessions.get(clinic_id, meta.session_id)
            if sess.patient_id != patient_id:
                raise InvalidInputError(
                    "session_id", "is another patient's session", "this patient's"
                )
        digest = store.put(data)
        row = PhotoRecord(
            id=uuid.uuid4(),
            clinic_id=clinic_id,
            patient_id=patient_id,
            session_id=meta.session_id,
            sha256=digest,
            media_type=meta.media_type,
            size_bytes=len(data),
            view=meta.view,
            taken_at=meta.taken_at,
            created_at=now(),
        )
        uow.photos.add(row)
        uow.audit.record(
            clinic_id=clinic_id,
            actor=actor,
            action="create",
            entity="photo",
            entity_id=row.id,
            before=None,
            after=row,
        )
        return row


def read_photo(db: Database, store: PhotoStore, clinic_id: uuid.UUID, photo_id: uuid.UUID) -> bytes:
    """A photo's bytes, checksum-verified."""
    with reading(db) as uow:
        row = uow.photos.get(clinic_id, photo_id)
    return store.get(row.sha256)


def record_measurement(
    db: Database, clinic_id: uuid.UUID, photo_id: uuid.UUID, data: MeasurementInput, *, actor: str
) -> OutcomeMeasurement:
    """Store one outcome measurement from a photo."""
    with writing(db) as uow:
        photo = uow.photos.get(clinic_id, photo_id)
        session_id = data.session_id or photo.session_id
        if session_id is not None:
            uow.sessions.get(clinic_id, session_id)
        row = OutcomeMeasurement(
            id=uuid.uuid4(),
            clinic_id=clinic_id,
            photo_id=photo.id,
            session_id=session_id,
            zone=data.zone,
            metric=data.metric,
            value=data.value,
            unit=data.unit,
            measured_at=data.measured_at,
        )
        uow.photos.add(row)
        uow.audit.record(
            clinic_id=clinic_id,
            actor=actor,
            action="create",
            entity="measurement",
            entity_id=row.id,
            before=None,
            after=row,
        )
        return row
