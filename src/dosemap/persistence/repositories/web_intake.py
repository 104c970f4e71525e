"""Kiosk passes, consent text versions and photo analysis jobs (the web app's intake pages)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select

from dosemap.persistence.models import (
    Consent,
    ConsentText,
    KioskPass,
    Patient,
    PhotoJob,
    PhotoRecord,
)
from dosemap.persistence.repositories._base import Repository, ScopedRepository


class KioskRepository(ScopedRepository[KioskPass]):
    """One-time kiosk passes, found by the digest of their token, code or session cookie."""

    model = KioskPass

    def usable(self, digest: str, *, by_token: bool, at: datetime) -> KioskPass | None:
        """The unexpired, never-redeemed pass with this token (or code) digest, locked for
        the redeeming write (a pass is redeemed once, even by two tablets at once)."""
        column = KioskPass.token_hash if by_token else KioskPass.code_hash
        return self.session.execute(
            select(KioskPass)
            .where(column == digest, KioskPass.redeemed_at.is_(None), KioskPass.expires_at > at)
            .order_by(KioskPass.created_at.desc())
            .limit(1)
            .with_for_update()
        ).scalar_one_or_none()

    def by_session(self, digest: str, *, at: datetime) -> tuple[KioskPass, str] | None:
        """The live pass of a kiosk session cookie digest, with the patient's given name."""
        row = self.session.execute(
            select(KioskPass, Patient.given_name)
            .join(
                Patient,
                (Patient.id == KioskPass.patient_id) & (Patient.clinic_id == KioskPass.clinic_id),
            )
            .where(
                KioskPass.session_hash == digest,
                KioskPass.finished_at.is_(None),
                KioskPass.session_expires_at > at,
            )
        ).first()
        return None if row is None else (row[0], row[1])


class ConsentTextRepository(Repository):
    """A clinic's consent text versions."""

    def latest(self, clinic_id: uuid.UUID, procedure: str) -> ConsentText | None:
        """The newest stored version of the clinic's text for ``procedure``."""
        return self.session.execute(
            select(ConsentText)
            .where(ConsentText.clinic_id == clinic_id, ConsentText.procedure == procedure)
            .order_by(ConsentText.created_at.desc())
            .limit(1)
        ).scalar_one_or_none()

    def version(self, clinic_id: uuid.UUID, procedure: str, version: str) -> ConsentText | None:
        """One version of the clinic's text for ``procedure``."""
        return self.session.execute(
            select(ConsentText).where(
                ConsentText.clinic_id == clinic_id,
                ConsentText.procedure == procedure,
                ConsentText.version == version,
            )
        ).scalar_one_or_none()

    def consent(
        self, clinic_id: uuid.UUID, consent_id: uuid.UUID
    ) -> tuple[Consent, ConsentText | None] | None:
        """A signed consent of the clinic with the text version it names (one query)."""
        row = self.session.execute(
            select(Consent, ConsentText)
            .outerjoin(
                ConsentText,
                (ConsentText.clinic_id == Consent.clinic_id)
                & (ConsentText.procedure == Consent.procedure)
                & (ConsentText.version == Consent.text_version),
            )
            .where(Consent.clinic_id == clinic_id, Consent.id == consent_id)
        ).first()
        return None if row is None else (row[0], row[1])

    def signed_by(self, clinic_id: uuid.UUID, patient_id: uuid.UUID) -> list[tuple[Any, ...]]:
        """A patient's consents, newest first, without the drawings' bytes (one query)."""
        return [
            tuple(row)
            for row in self.session.execute(
                select(
                    Consent.id,
                    Consent.procedure,
                    Consent.text_version,
                    Consent.text_sha256,
                    Consent.signature,
                    Consent.witness_name,
                    Consent.signed_at,
                    Consent.withdrawn_at,
                    Consent.signature_png.is_not(None),
                )
                .where(Consent.clinic_id == clinic_id, Consent.patient_id == patient_id)
                .order_by(Consent.signed_at.desc())
            )
        ]

    def all_of(self, clinic_id: uuid.UUID, procedure: str) -> list[ConsentText]:
        """Every version for ``procedure``, newest first."""
        return list(
            self.session.execute(
                select(ConsentText)
                .where(ConsentText.clinic_id == clinic_id, ConsentText.procedure == procedure)
                .order_by(ConsentText.created_at.desc())
            ).scalars()
        )


class PhotoJobRepository(ScopedRepository[PhotoJob]):
    """Photo analysis jobs."""

    model = PhotoJob

    def by_id(self, job_id: uuid.UUID) -> PhotoJob | None:
        """A job by id alone (for the worker, which serves every clinic)."""
        return self.session.get(PhotoJob, job_id)

    def of_patient(
        self, clinic_id: uuid.UUID, patient_id: uuid.UUID
    ) -> list[tuple[PhotoRecord, PhotoJob | None]]:
        """The patient's photos, newest first, each with its latest job (one query)."""
        rows = self.session.execute(
            select(PhotoRecord, PhotoJob)
            .outerjoin(PhotoJob, PhotoJob.photo_id == PhotoRecord.id)
            .where(PhotoRecord.clinic_id == clinic_id, PhotoRecord.patient_id == patient_id)
            .order_by(PhotoRecord.created_at.desc(), PhotoJob.queued_at.desc())
        ).all()
        seen: set[uuid.UUID] = set()
        out: list[tuple[PhotoRecord, PhotoJob | None]] = []
        for photo, job in rows:
            if photo.id in seen:
                continue
            seen.add(photo.id)
            out.append((photo, job))
        return out

    def latest_for(self, clinic_id: uuid.UUID, photo_id: uuid.UUID) -> PhotoJob | None:
        """The newest job of one photo of the clinic."""
        return self.session.execute(
            select(PhotoJob)
            .where(PhotoJob.clinic_id == clinic_id, PhotoJob.photo_id == photo_id)
            .order_by(PhotoJob.queued_at.desc())
            .limit(1)
        ).scalar_one_or_none()
