"""Product lots, reconstituted vials and what sessions drew from them."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import func, literal, select, update

from dosemap.persistence.models import ProductLot, SessionVialUsage, Vial
from dosemap.persistence.repositories._base import ScopedRepository, as_uuid_or_none
from dosemap.persistence.types import Amount


class LotRepository(ScopedRepository[ProductLot]):
    """Lots received from manufacturers."""

    model = ProductLot

    def numbered(self, clinic_id: uuid.UUID, lot_number: str) -> list[ProductLot]:
        """Lots with this number (one per product)."""
        return list(
            self.session.execute(
                select(ProductLot).where(
                    ProductLot.clinic_id == clinic_id, ProductLot.lot_number == lot_number
                )
            ).scalars()
        )

    def of_vial(self, vial: Vial) -> ProductLot:
        """The lot a vial was reconstituted from."""
        lot = self.session.get(ProductLot, vial.lot_id)
        if lot is None:  # the foreign key makes this impossible short of a damaged database
            raise LookupError(f"vial {vial.id} names lot {vial.lot_id}, which is missing")
        return lot


class VialRepository(ScopedRepository[Vial]):
    """Reconstituted vials."""

    model = Vial

    def by_id(self, vial_id: uuid.UUID) -> Vial:
        """A vial another record of the clinic names (from the unit of work's identity map)."""
        vial = self.session.get(Vial, vial_id)
        if vial is None:  # the foreign key makes this impossible short of a damaged database
            raise LookupError(f"vial {vial_id} is named by a record but missing")
        return vial

    def find(self, clinic_id: uuid.UUID, vial_id: uuid.UUID) -> Vial | None:
        """The vial of this clinic with this id, if any."""
        return self.session.execute(
            select(Vial).where(Vial.id == vial_id, Vial.clinic_id == clinic_id)
        ).scalar_one_or_none()

    def ids_matching(self, clinic_id: uuid.UUID, ref: str) -> list[uuid.UUID]:
        """Vials whose id or label is ``ref``."""
        q = select(Vial.id).where(Vial.clinic_id == clinic_id)
        found = as_uuid_or_none(ref)
        q = q.where(Vial.id == found) if found else q.where(Vial.label == ref)
        return list(self.session.execute(q).scalars())

    def draw(self, clinic_id: uuid.UUID, vial_id: uuid.UUID, units: Decimal) -> Vial | None:
        """Add ``units`` (negative: give back) to what was drawn from the vial in one
        conditional UPDATE, or None when the vial would be overdrawn (or below zero). Atomic
        under concurrency on both back ends; the vial is returned as now stored."""
        amount = literal(units, Amount())
        done = self.session.execute(
            update(Vial)
            .where(
                Vial.id == vial_id,
                Vial.clinic_id == clinic_id,
                Vial.units_drawn + amount <= Vial.vial_units,
                Vial.units_drawn + amount >= 0,
            )
            .values(units_drawn=Vial.units_drawn + amount, version=Vial.version + 1)
            .execution_options(synchronize_session=False)
        )
        vial = self.session.get(Vial, vial_id)
        if vial is not None:
            self.session.refresh(vial)
        return vial if done.rowcount == 1 else None  # type: ignore[attr-defined]

    def open(self, clinic_id: uuid.UUID) -> list[Vial]:
        """Vials not yet discarded, oldest first."""
        return list(
            self.session.execute(
                select(Vial)
                .where(Vial.clinic_id == clinic_id, Vial.discarded_at.is_(None))
                .order_by(Vial.reconstituted_at)
            ).scalars()
        )

    def with_units_charted(
        self, clinic_id: uuid.UUID, vial_ids: list[uuid.UUID] | None
    ) -> list[tuple[Vial, ProductLot, Decimal]]:
        """Each vial (all, or ``vial_ids``) with its lot and the units charted from it."""
        charted = (
            select(SessionVialUsage.vial_id, func.sum(SessionVialUsage.units).label("units"))
            .where(SessionVialUsage.clinic_id == clinic_id)
            .group_by(SessionVialUsage.vial_id)
            .subquery()
        )
        q = (
            select(Vial, ProductLot, charted.c.units)
            .join(ProductLot, ProductLot.id == Vial.lot_id)
            .outerjoin(charted, charted.c.vial_id == Vial.id)
            .where(Vial.clinic_id == clinic_id)
            .order_by(Vial.reconstituted_at)
        )
        if vial_ids is not None:
            q = q.where(Vial.id.in_(vial_ids))
        return [
            (vial, lot, Decimal(units) + 0 if units is not None else Decimal(0))
            for vial, lot, units in self.session.execute(q)
        ]
