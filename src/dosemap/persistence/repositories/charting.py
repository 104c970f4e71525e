"""A session's plan acknowledgements and its chart-mode taps."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from dosemap.persistence.models import ChartTap, PlanAcknowledgement
from dosemap.persistence.repositories._base import Repository


class ChartingRepository(Repository):
    """Acknowledgements and taps of one session (the caller has checked the session's clinic)."""

    def acknowledgements(self, session_id: uuid.UUID) -> list[PlanAcknowledgement]:
        """The session's acknowledgements, oldest first."""
        return list(
            self.session.execute(
                select(PlanAcknowledgement)
                .where(PlanAcknowledgement.session_id == session_id)
                .order_by(PlanAcknowledgement.acknowledged_at, PlanAcknowledgement.id)
            ).scalars()
        )

    def tap(self, tap_id: uuid.UUID) -> ChartTap | None:
        """A tap by the id its device gave it."""
        return self.session.get(ChartTap, tap_id)

    def taps(self, session_id: uuid.UUID) -> list[ChartTap]:
        """The session's taps in the order the server took them."""
        return list(
            self.session.execute(
                select(ChartTap).where(ChartTap.session_id == session_id).order_by(ChartTap.seq)
            ).scalars()
        )

    def next_seq(self, session_id: uuid.UUID) -> int:
        """The sequence number of the session's next tap."""
        last = self.session.execute(
            select(func.max(ChartTap.seq)).where(ChartTap.session_id == session_id)
        ).scalar_one()
        return 1 if last is None else int(last) + 1
