"""Product lots, reconstituted vials and what sessions drew from them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Subquery, case, func, literal, select, type_coerce, update

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

    def of_clinic(self, clinic_id: uuid.UUID) -> list[ProductLot]:
        """The clinic's lots, latest expiry first."""
        return list(
            self.session.execute(
                select(ProductLot)
                .where(ProductLot.clinic_id == clinic_id)
                .order_by(ProductLot.expires_on.desc(), ProductLot.lot_number)
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
        self,
        clinic_id: uuid.UUID,
        vial_ids: list[uuid.UUID] | None,
        *,
        open_only: bool = False,
        newest_first: bool = False,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[tuple[Vial, ProductLot, Decimal]]:
        """Each vial (all, ``vial_ids``, or only those not discarded) with its lot and the
        units charted from it; ``limit``/``offset`` page through them (years of vials)."""
        charted = _charted_per_vial(clinic_id)
        q = (
            select(Vial, ProductLot, charted.c.units)
            .join(ProductLot, ProductLot.id == Vial.lot_id)
            .outerjoin(charted, charted.c.vial_id == Vial.id)
            .where(Vial.clinic_id == clinic_id)
        )
        order = Vial.reconstituted_at.desc() if newest_first else Vial.reconstituted_at
        q = q.order_by(order, Vial.id).offset(offset).limit(limit)
        if vial_ids is not None:
            q = q.where(Vial.id.in_(vial_ids))
        if open_only:
            q = q.where(Vial.discarded_at.is_(None))
        return [
            (vial, lot, Decimal(units) + 0 if units is not None else Decimal(0))
            for vial, lot, units in self.session.execute(q)
        ]

    def count(self, clinic_id: uuid.UUID) -> int:
        """How many vials the clinic has reconstituted."""
        return int(
            self.session.execute(
                select(func.count()).select_from(Vial).where(Vial.clinic_id == clinic_id)
            ).scalar_one()
        )

    def lot_totals(self, clinic_id: uuid.UUID) -> list[LotTotals]:
        """Every lot of the clinic with its vials added up in the database (one query, not
        one row per vial in Python), latest expiry first. Amounts are exact on both engines
        (SQLite stores them as scaled integers, PostgreSQL as numeric)."""
        charted = _charted_per_vial(clinic_id)
        units_charted = func.coalesce(charted.c.units, 0)
        wasted = func.coalesce(Vial.units_wasted, 0)
        unaccounted = Vial.units_drawn - units_charted - wasted
        mismatched = case(
            (
                (unaccounted != 0)
                | (units_charted > Vial.units_drawn)
                | (Vial.vial_units < Vial.units_drawn),
                1,
            ),
            else_=0,
        )

        def total(column: Any) -> Any:
            return type_coerce(func.coalesce(func.sum(column), 0), Amount())

        q = (
            select(
                ProductLot,
                func.count(Vial.id),
                total(Vial.vial_units),
                total(units_charted),
                total(wasted),
                total(Vial.vial_units - Vial.units_drawn),
                total(unaccounted),
                func.coalesce(func.sum(mismatched), 0),
            )
            .outerjoin(Vial, Vial.lot_id == ProductLot.id)
            .outerjoin(charted, charted.c.vial_id == Vial.id)
            .where(ProductLot.clinic_id == clinic_id)
            .group_by(ProductLot.id)
            .order_by(ProductLot.expires_on.desc(), ProductLot.lot_number)
        )
        return [
            LotTotals(
                lot,
                int(n),
                _amount(received),
                _amount(charted_units),
                _amount(wasted_units),
                _amount(left),
                _amount(missing),
                int(bad),
            )
            for lot, n, received, charted_units, wasted_units, left, missing, bad in (
                self.session.execute(q)
            )
        ]


def _amount(value: Any) -> Decimal:
    return Decimal(value) + 0  # + 0: never a negative zero


@dataclass(frozen=True)
class LotTotals:
    """A lot and its vials added up."""

    lot: ProductLot
    vials: int
    units_received: Decimal
    units_charted: Decimal
    units_wasted: Decimal
    units_left: Decimal
    unaccounted: Decimal
    mismatched_vials: int


def _charted_per_vial(clinic_id: uuid.UUID) -> Subquery:
    return (
        select(SessionVialUsage.vial_id, func.sum(SessionVialUsage.units).label("units"))
        .where(SessionVialUsage.clinic_id == clinic_id)
        .group_by(SessionVialUsage.vial_id)
        .subquery()
    )
