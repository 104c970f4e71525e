"""The questions of a clinic's working day (the web app's Today and Patients pages).

Each is one query returning plain rows (no ORM objects, no query per row), so a page costs a
handful of indexed reads however busy the clinic is.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from dosemap.persistence.errors import NotFoundError
from dosemap.persistence.models import (
    Clinic,
    FollowUp,
    Patient,
    ProductLot,
    SessionProduct,
    Staff,
    TreatmentSession,
    Vial,
)
from dosemap.persistence.repositories._base import Repository


def _values(row: Any) -> tuple[Any, ...]:
    # A wide select is typed column by column; the dataclass takes the same columns in order.
    return tuple(row)


@dataclass(frozen=True, slots=True)
class ScheduledSession:
    """A session on the day's list."""

    session_id: uuid.UUID
    scheduled_at: datetime
    status: str
    product: str
    planned_units: Decimal
    patient_id: uuid.UUID
    chart_number: str
    given_name: str
    family_name: str
    injector: str
    # Every product with its own planned units, in plan order (``product``/``planned_units``
    # are the lead product's): filled by the service, units never added across products.
    products: tuple[tuple[str, Decimal], ...] = ()


@dataclass(frozen=True, slots=True)
class FollowUpDue:
    """An open follow-up with the patient to contact."""

    followup_id: uuid.UUID
    kind: str
    due_on: date
    patient_id: uuid.UUID
    chart_number: str
    given_name: str
    family_name: str
    phone: str | None


@dataclass(frozen=True, slots=True)
class OpenVial:
    """A reconstituted vial still in use."""

    vial_id: uuid.UUID
    label: str
    product: str
    lot_number: str
    vial_units: Decimal
    units_drawn: Decimal
    reconstituted_at: datetime
    beyond_use_at: datetime


@dataclass(frozen=True, slots=True)
class ExpiringLot:
    """A lot whose expiry date is near."""

    lot_id: uuid.UUID
    product: str
    lot_number: str
    expires_on: date


@dataclass(frozen=True, slots=True)
class PatientRow:
    """A patient as a list shows them."""

    patient_id: uuid.UUID
    chart_number: str
    given_name: str
    family_name: str
    date_of_birth: date


def _prefix(text: str) -> str:
    """A LIKE pattern for "starts with ``text``" (``%`` and ``_`` typed are literal)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


class ClinicDay(Repository):
    """Read-only questions of the working day."""

    def clinic_name_and_timezone(self, clinic_id: uuid.UUID) -> tuple[str, str]:
        """The clinic's name and time zone (not its whole row: that holds the logo)."""
        row = self.session.execute(
            select(Clinic.name, Clinic.timezone).where(Clinic.id == clinic_id)
        ).first()
        if row is None:
            raise NotFoundError("clinic", str(clinic_id))
        return str(row[0]), str(row[1])

    def sessions_between(
        self, clinic_id: uuid.UUID, start: datetime, end: datetime, limit: int
    ) -> list[ScheduledSession]:
        """Sessions scheduled in ``[start, end)``, in time order, with patient and injector."""
        rows = self.session.execute(
            select(
                TreatmentSession.id,
                TreatmentSession.scheduled_at,
                TreatmentSession.status,
                TreatmentSession.product,
                TreatmentSession.planned_units,
                Patient.id,
                Patient.chart_number,
                Patient.given_name,
                Patient.family_name,
                Staff.display_name,
            )
            .join(Patient, Patient.id == TreatmentSession.patient_id)
            .join(Staff, Staff.id == TreatmentSession.injector_id)
            .where(
                TreatmentSession.clinic_id == clinic_id,
                TreatmentSession.scheduled_at >= start,
                TreatmentSession.scheduled_at < end,
            )
            .order_by(TreatmentSession.scheduled_at)
            .limit(limit)
        )
        return [ScheduledSession(*_values(row)) for row in rows]

    def planned_products(
        self, clinic_id: uuid.UUID, session_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, list[tuple[str, Decimal]]]:
        """Each session's products with their planned units, in plan order (sessions recorded
        before migration 0013 have none)."""
        out: dict[uuid.UUID, list[tuple[str, Decimal]]] = {}
        if not session_ids:
            return out
        rows = self.session.execute(
            select(SessionProduct.session_id, SessionProduct.product, SessionProduct.planned_units)
            .where(
                SessionProduct.clinic_id == clinic_id, SessionProduct.session_id.in_(session_ids)
            )
            .order_by(SessionProduct.session_id, SessionProduct.position)
        )
        for session_id, product, units in rows:
            out.setdefault(session_id, []).append((product, units))
        return out

    def followups_due(
        self, clinic_id: uuid.UUID, on_or_before: date, limit: int
    ) -> list[FollowUpDue]:
        """Open follow-ups due on or before a day, earliest first."""
        rows = self.session.execute(
            select(
                FollowUp.id,
                FollowUp.kind,
                FollowUp.due_on,
                Patient.id,
                Patient.chart_number,
                Patient.given_name,
                Patient.family_name,
                Patient.phone,
            )
            .join(Patient, Patient.id == FollowUp.patient_id)
            .where(
                FollowUp.clinic_id == clinic_id,
                FollowUp.status == "open",
                FollowUp.due_on <= on_or_before,
            )
            .order_by(FollowUp.due_on, FollowUp.id)
            .limit(limit)
        )
        return [FollowUpDue(*row) for row in rows]

    def open_vials(self, clinic_id: uuid.UUID, limit: int) -> list[OpenVial]:
        """Vials not discarded, soonest beyond-use time first, with their lot."""
        rows = self.session.execute(
            select(
                Vial.id,
                Vial.label,
                ProductLot.product,
                ProductLot.lot_number,
                Vial.vial_units,
                Vial.units_drawn,
                Vial.reconstituted_at,
                Vial.beyond_use_at,
            )
            .join(ProductLot, ProductLot.id == Vial.lot_id)
            .where(Vial.clinic_id == clinic_id, Vial.discarded_at.is_(None))
            .order_by(Vial.beyond_use_at)
            .limit(limit)
        )
        return [OpenVial(*row) for row in rows]

    def lots_expiring(
        self, clinic_id: uuid.UUID, start: date, until: date, limit: int
    ) -> list[ExpiringLot]:
        """Lots expiring in ``[start, until]``, soonest first."""
        rows = self.session.execute(
            select(ProductLot.id, ProductLot.product, ProductLot.lot_number, ProductLot.expires_on)
            .where(
                ProductLot.clinic_id == clinic_id,
                ProductLot.expires_on >= start,
                ProductLot.expires_on <= until,
            )
            .order_by(ProductLot.expires_on)
            .limit(limit)
        )
        return [ExpiringLot(*row) for row in rows]

    def patients(
        self,
        clinic_id: uuid.UUID,
        *,
        name: str = "",
        chart_number: str = "",
        date_of_birth: date | None = None,
        limit: int = 50,
    ) -> list[PatientRow]:
        """Patients matching every given criterion (names and chart numbers by prefix)."""
        q = select(
            Patient.id,
            Patient.chart_number,
            Patient.given_name,
            Patient.family_name,
            Patient.date_of_birth,
        ).where(Patient.clinic_id == clinic_id)
        if name:
            for part in name.split()[:3]:
                like = _prefix(part)
                q = q.where(
                    Patient.family_name.ilike(like, escape="\\")
                    | Patient.given_name.ilike(like, escape="\\")
                )
        if chart_number:
            q = q.where(Patient.chart_number.ilike(_prefix(chart_number), escape="\\"))
        if date_of_birth is not None:
            q = q.where(Patient.date_of_birth == date_of_birth)
        q = q.order_by(Patient.family_name, Patient.given_name, Patient.id).limit(limit)
        return [PatientRow(*row) for row in self.session.execute(q)]
