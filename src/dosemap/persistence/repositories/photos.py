"""Photo records (the files live in the photo store) and their outcome measurements."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from dosemap.persistence.models import OutcomeMeasurement, PhotoRecord
from dosemap.persistence.repositories._base import ScopedRepository


class PhotoRepository(ScopedRepository[PhotoRecord]):
    """A clinic's photo records; measurements are added through :meth:`add`."""

    model = PhotoRecord

    def of_patient(self, clinic_id: uuid.UUID, patient_id: uuid.UUID) -> list[PhotoRecord]:
        """A patient's photo records, oldest first."""
        return list(
            self.session.execute(
                select(PhotoRecord)
                .where(PhotoRecord.clinic_id == clinic_id, PhotoRecord.patient_id == patient_id)
                .order_by(PhotoRecord.taken_at, PhotoRecord.id)
            ).scalars()
        )

    def measurements_of_patient(
        self, clinic_id: uuid.UUID, patient_id: uuid.UUID
    ) -> list[tuple[OutcomeMeasurement, PhotoRecord]]:
        """Every outcome measurement of a patient's photos, with its photo, oldest first."""
        rows = self.session.execute(
            select(OutcomeMeasurement, PhotoRecord)
            .join(PhotoRecord, OutcomeMeasurement.photo_id == PhotoRecord.id)
            .where(PhotoRecord.clinic_id == clinic_id, PhotoRecord.patient_id == patient_id)
            .order_by(PhotoRecord.taken_at, OutcomeMeasurement.zone, OutcomeMeasurement.metric)
        ).all()
        return [(m, p) for m, p in rows]

    def measurements_of_photo(
        self, clinic_id: uuid.UUID, photo_id: uuid.UUID
    ) -> list[OutcomeMeasurement]:
        """The outcome measurements taken from one photo of the clinic."""
        return list(
            self.session.execute(
                select(OutcomeMeasurement)
                .where(
                    OutcomeMeasurement.clinic_id == clinic_id,
                    OutcomeMeasurement.photo_id == photo_id,
                )
                .order_by(OutcomeMeasurement.zone, OutcomeMeasurement.metric)
            ).scalars()
        )

    def remove_measurement(self, row: OutcomeMeasurement) -> None:
        """Delete one measurement (one a new analysis of its photo no longer gives)."""
        self.session.delete(row)

    def for_patient(self, clinic_id: uuid.UUID, patient_id: uuid.UUID) -> list[PhotoRecord]:
        """A patient's photo records, oldest first."""
        rows = self.session.execute(
            select(PhotoRecord)
            .where(PhotoRecord.clinic_id == clinic_id, PhotoRecord.patient_id == patient_id)
            .order_by(PhotoRecord.taken_at, PhotoRecord.created_at)
        ).scalars()
        return list(rows)
