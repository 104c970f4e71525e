"""Follow-ups (review, retreatment) and adverse events."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import func, select

from dosemap.persistence.errors import NotFoundError
from dosemap.persistence.models import AdverseEvent, FollowUp, FollowUpContact, Patient
from dosemap.persistence.repositories._base import ScopedRepository


class FollowUpRepository(ScopedRepository[FollowUp]):
    """A clinic's follow-ups; adverse events are added through :meth:`add`."""

    model = FollowUp

    def adverse_event(self, clinic_id: uuid.UUID, event_id: uuid.UUID) -> AdverseEvent:
        """One adverse event of ``clinic_id`` or :class:`NotFoundError`."""
        row = self.session.execute(
            select(AdverseEvent).where(
                AdverseEvent.id == event_id, AdverseEvent.clinic_id == clinic_id
            )
        ).scalar_one_or_none()
        if row is None:
            raise NotFoundError("adverse_event", str(event_id))
        return row

    def contacts_of(
        self, clinic_id: uuid.UUID, followup_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, list[FollowUpContact]]:
        """The contacts noted for each follow-up named, oldest first (one query)."""
        if not followup_ids:
            return {}
        out: dict[uuid.UUID, list[FollowUpContact]] = {}
        for contact in self.session.execute(
            select(FollowUpContact)
            .where(
                FollowUpContact.clinic_id == clinic_id,
                FollowUpContact.followup_id.in_(followup_ids),
            )
            .order_by(FollowUpContact.contacted_at, FollowUpContact.id)
        ).scalars():
            out.setdefault(contact.followup_id, []).append(contact)
        return out

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
