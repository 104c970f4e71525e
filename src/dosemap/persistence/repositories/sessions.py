"""Treatment sessions with their chart points, vial usage and amendments."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import selectinload

from dosemap.persistence.audit import snapshot
from dosemap.persistence.models import (
    Amendment,
    ChartPoint,
    SessionProduct,
    SessionVialUsage,
    TreatmentSession,
)
from dosemap.persistence.repositories._base import ScopedRepository

#: Statuses whose chart counts as performed (doses given).
PERFORMED = ("charted", "signed")


class SessionRepository(ScopedRepository[TreatmentSession]):
    """Sessions of a clinic; a session's chart and amendments belong to it."""

    model = TreatmentSession

    def get_with_points(self, clinic_id: uuid.UUID, session_id: uuid.UUID) -> TreatmentSession:
        """A session with its chart points loaded (usable after the unit of work ends)."""
        row = self.session.execute(
            select(TreatmentSession)
            .options(selectinload(TreatmentSession.points))
            .where(TreatmentSession.id == session_id, TreatmentSession.clinic_id == clinic_id)
        ).scalar_one_or_none()
        return row if row is not None else self.get(clinic_id, session_id)

    def chart_points(self, session_id: uuid.UUID) -> list[ChartPoint]:
        """The session's chart points by number."""
        return list(
            self.session.execute(
                select(ChartPoint)
                .where(ChartPoint.session_id == session_id)
                .order_by(ChartPoint.number)
            ).scalars()
        )

    def vial_usage(self, session_id: uuid.UUID) -> list[SessionVialUsage]:
        """Units the session drew from each vial, by vial id."""
        return list(
            self.session.execute(
                select(SessionVialUsage)
                .where(SessionVialUsage.session_id == session_id)
                .order_by(SessionVialUsage.vial_id)
            ).scalars()
        )

    def products(self, session_id: uuid.UUID) -> list[SessionProduct]:
        """The session's products in plan order (none for a session recorded before 0013)."""
        return list(
            self.session.execute(
                select(SessionProduct)
                .where(SessionProduct.session_id == session_id)
                .order_by(SessionProduct.position)
            ).scalars()
        )

    def point_counts(self, session_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, int]:
        """How many chart points each of ``session_ids`` has (none: absent)."""
        rows = self.session.execute(
            select(ChartPoint.session_id, func.count())
            .where(ChartPoint.session_id.in_(list(session_ids)))
            .group_by(ChartPoint.session_id)
        )
        return {sid: int(n) for sid, n in rows}

    def remove_product(self, row: SessionProduct) -> None:
        """Delete one product row of a session (its product left the plan)."""
        self.session.delete(row)

    def products_of(
        self, clinic_id: uuid.UUID, session_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, list[SessionProduct]]:
        """The products of each of ``session_ids`` (of this clinic), in plan order."""
        out: dict[uuid.UUID, list[SessionProduct]] = {}
        if not session_ids:
            return out
        for p in self.session.execute(
            select(SessionProduct)
            .where(
                SessionProduct.clinic_id == clinic_id,
                SessionProduct.session_id.in_(list(session_ids)),
            )
            .order_by(SessionProduct.session_id, SessionProduct.position)
        ).scalars():
            out.setdefault(p.session_id, []).append(p)
        return out

    def snapshot(self, row: TreatmentSession, *, flush: bool = True) -> dict[str, Any]:
        """The session, its chart points and vial usage (and its products, when it has rows of
        them: a session recorded before they were kept keeps the snapshot it was audited with):
        what audit digests and amendments keep.

        ``flush=False``: the changes not yet flushed are taken as they stand, unwritten (the
        chart rows must have been flushed already), so that a write of the session row can
        carry a hash of what it writes."""
        if not flush:
            with self.session.no_autoflush:
                return self.snapshot(row)
        snap = {
            "session": snapshot(row),
            "points": [snapshot(p) for p in self.chart_points(row.id)],
            "usage": [snapshot(u) for u in self.vial_usage(row.id)],
        }
        products = [snapshot(p) for p in self.products(row.id)]
        if products:
            snap["products"] = products
        return snap

    def clear_chart(self, row: TreatmentSession) -> None:
        """Delete the session's chart points and vial usage (the caller gives the units back)."""
        self.session.execute(delete(SessionVialUsage).where(SessionVialUsage.session_id == row.id))
        self.session.execute(delete(ChartPoint).where(ChartPoint.session_id == row.id))
        self.session.expire(row, ["points"])

    def performed_before(
        self, clinic_id: uuid.UUID, patient_id: uuid.UUID, before: datetime, exclude: uuid.UUID
    ) -> list[TreatmentSession]:
        """The patient's other charted or signed sessions performed before ``before``."""
        return list(
            self.session.execute(
                select(TreatmentSession).where(
                    TreatmentSession.clinic_id == clinic_id,
                    TreatmentSession.patient_id == patient_id,
                    TreatmentSession.id != exclude,
                    TreatmentSession.status.in_(PERFORMED),
                    TreatmentSession.performed_at < before,
                )
            ).scalars()
        )

    def of_patient(self, clinic_id: uuid.UUID, patient_id: uuid.UUID) -> list[TreatmentSession]:
        """The patient's sessions, any status."""
        return list(
            self.session.execute(
                select(TreatmentSession).where(
                    TreatmentSession.clinic_id == clinic_id,
                    TreatmentSession.patient_id == patient_id,
                )
            ).scalars()
        )

    def count(self, clinic_id: uuid.UUID, statuses: Collection[str] | None = None) -> int:
        """How many sessions the clinic has (with one of ``statuses``, when given)."""
        q = (
            select(func.count())
            .select_from(TreatmentSession)
            .where(TreatmentSession.clinic_id == clinic_id)
        )
        if statuses is not None:
            q = q.where(TreatmentSession.status.in_(statuses))
        return int(self.session.execute(q).scalar_one())

    def amendments(self, clinic_id: uuid.UUID, session_id: uuid.UUID) -> list[Amendment]:
        """A session's amendments, oldest first."""
        return list(
            self.session.execute(
                select(Amendment)
                .where(Amendment.clinic_id == clinic_id, Amendment.session_id == session_id)
                .order_by(Amendment.number)
            ).scalars()
        )
