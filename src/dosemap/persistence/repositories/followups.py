"""Follow-ups (review, retreatment) and adverse events."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import func, select

from dosemap.persistence.models import FollowUp, Patient
from dosemap.persistence.repositories._base import ScopedRepository


class FollowUpRepository(ScopedRepository[FollowUp]):
    """A clinic's follow-ups; adverse events are added through :meth:`add`."""

    model = FollowUp

    def open_due(
        self, clinic_id: uuid.UUID, on_or_before: date, limit: int | None = None
    ) -> list[tuple[FollowUp, Patient]]:
        """Open follow-ups due on or before a day with their patient, earliest first."""
        q = (
            select(FollowUp, Patient)
            .join(Patient, Patient.id == FollowUp.patient_id)
            .where(
                FollowUp.clinic_id == clinic_id,
                FollowUp.status == "open",
                FollowUp.due_on <= on_or_before,
            )
            .order_by(FollowUp.due_on, FollowUp.id)
        )
        if limit is not None:
            q = q.limit(limit)
        return [(fu, p) for fu, p in self.session.execute(q)]

    def count_open_due(self, clinic_id: uuid.UUID, on_or_before: date) -> int:
        """How many open follow-ups are due on or before a day."""
        return int(
            self.session.execute(
                select(func.count())
                .select_from(FollowUp)
                .where(
                    FollowUp.clinic_id == clinic_id,
                    FollowUp.status == "open",
                    FollowUp.due_on <= on_or_before,
                )
            ).scalar_one()
        )

    def of_session(self, clinic_id: uuid.UUID, session_id: uuid.UUID) -> list[FollowUp]:
        """The follow-ups a session called for, earliest first."""
        return list(
            self.session.execute(
                select(FollowUp)
                .where(FollowUp.clinic_id == clinic_id, FollowUp.session_id == session_id)
                .order_by(FollowUp.due_on, FollowUp.kind)
            ).scalars()
        )
