"""Product lots and reconstituted vials: open, draw, discard, reconcile."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from pydantic import Field

from dosemap.domain.dosing import beyond_use_at
from dosemap.domain.errors import InvalidInputError
from dosemap.domain.library.catalog import Library
from dosemap.persistence.db import Database
from dosemap.persistence.models import ProductLot, Vial
from dosemap.persistence.unit_of_work import reading, writing
from dosemap.services._common import Input, check_version, in_range, now, retried, snap


class LotInput(Input):
    """A lot received from the manufacturer."""

    product: str = Field(min_length=1, max_length=60)
    lot_number: str = Field(min_length=1, max_length=60)
    expires_on: date


class WasteInput(Input):
    """Units drawn but not injected, as a person enters them."""

    units: Decimal = Field(gt=0, le=1000, decimal_places=4)
    expected_version: int | None = Field(default=None, ge=1)


class DiscardInput(Input):
    """Why a vial is discarded, as a person enters it."""

    reason: str = Field(min_length=1, max_length=200)
    expected_version: int | None = Field(default=None, ge=1)


class VialInput(Input):
    """A vial reconstituted from a lot."""

    lot_id: uuid.UUID
    label: str = Field(min_length=1, max_length=40)
    vial_units: Decimal = Field(gt=0, le=1000, decimal_places=4)
    diluent: str = Field(default="preservative-free 0.9% saline", min_length=1, max_length=80)
    diluent_ml: Decimal = Field(gt=0, le=20, decimal_places=4)
    reconstituted_at: datetime
    beyond_use_policy: str | None = Field(default=None, pattern=r"^[a-z0-9_]+$")


def vials_matching(db: Database, clinic_id: uuid.UUID, ref: str) -> list[uuid.UUID]:
    """Vials whose id or label is ``ref`` (what a person typed)."""
    with reading(db) as uow:
        return uow.vials.ids_matching(clinic_id, ref)


def receive_lot(
    db: Database, clinic_id: uuid.UUID, data: LotInput, library: Library, *, actor: str
) -> ProductLot:
    """Record a product lot (the product must be one the library knows)."""
    library.product(data.product)
    with writing(db) as uow:
        uow.clinics.get(clinic_id)
        for lot in uow.lots.numbered(clinic_id, data.lot_number):
            if lot.product == data.product:
                raise InvalidInputError(
                    "lot_number",
                    f"lot {data.lot_number} of {data.product} is already recorded ({lot.id})",
                    "a lot not recorded yet",
                )
        lot = ProductLot(
            id=uuid.uuid4(), clinic_id=clinic_id, created_at=now(), **data.model_dump()
        )
        uow.lots.add(lot)
        uow.audit.record(
            clinic_id=clinic_id,
            actor=actor,
            action="create",
            entity="lot",
            entity_id=lot.id,
            before=None,
            after=lot,
        )
        return lot


def clinic_lots(db: Database, clinic_id: uuid.UUID) -> list[ProductLot]:
    """The clinic's lots, latest expiry first."""
    with reading(db) as uow:
        return uow.lots.of_clinic(clinic_id)


def find_lot(db: Database, clinic_id: uuid.UUID, lot_number: str) -> list[ProductLot]:
    """Lots with this number (one per product)."""
    with reading(db) as uow:
        return uow.lots.numbered(clinic_id, lot_number)


@retried
def open_vial(
    db: Database,
    clinic_id: uuid.UUID,
    data: VialInput,
    library: Library,
    *,
    actor: str,
    opened_by: uuid.UUID | None = None,
) -> Vial:
    """Record a reconstituted vial; its beyond-use time follows the clinic's policy."""
    if data.reconstituted_at.tzinfo is None:
        raise InvalidInputError("reconstituted_at", "has no time zone", "an ISO time with offset")
    in_range("reconstituted_at", data.reconstituted_at)
    with writing(db) as uow:
        taken = uow.vials.ids_matching(clinic_id, data.label)
        if taken:  # a label is how a vial is found: two alike would be unusable
            raise InvalidInputError(
                "label", f"{data.label} is already vial {taken[0]}", "a label not in use"
            )
        clinic = uow.clinics.get(clinic_id)
        lot = uow.lots.get(clinic_id, data.lot_id)
        if data.reconstituted_at.date() > lot.expires_on:
            raise InvalidInputError(
                "lot_id", f"lot expired on {lot.expires_on.isoformat()}", "an unexpired lot"
            )
        policy_id = data.beyond_use_policy or clinic.beyond_use_policy
        policy = library.beyond_use_policy(lot.product, policy_id)
        vial = Vial(
            id=uuid.uuid4(),
            clinic_id=clinic_id,
            lot_id=lot.id,
            label=data.label,
            vial_units=data.vial_units,
            diluent=data.diluent,
            diluent_ml=data.diluent_ml,
            reconstituted_at=data.reconstituted_at,
            beyond_use_policy=policy.id,
            beyond_use_at=beyond_use_at(data.reconstituted_at, policy),
            units_drawn=Decimal(0),
            units_wasted=Decimal(0),
            opened_by=opened_by,
            created_at=now(),
        )
        uow.vials.add(vial)
        uow.audit.record(
            clinic_id=clinic_id,
            actor=actor,
            action="create",
            entity="vial",
            entity_id=vial.id,
            before=None,
            after=vial,
        )
        return vial


def units_left(vial: Vial) -> Decimal:
    """Units still in the vial."""
    return vial.vial_units - vial.units_drawn


@retried
def record_waste(
    db: Database,
    clinic_id: uuid.UUID,
    vial_id: uuid.UUID,
    units: Decimal,
    *,
    expected_version: int | None = None,
    actor: str,
) -> Vial:
    """Units drawn but not injected (syringe dead space, spill)."""
    if units <= 0:
        raise InvalidInputError("units", "must be positive", "> 0")
    with writing(db) as uow:
        vial = uow.vials.locked(clinic_id, vial_id)  # concurrent draws wait, none is lost
        check_version(vial, expected_version, "vial")
        if vial.discarded_at is not None:
            raise InvalidInputError("vial_id", "vial is discarded", "an open vial")
        if units > units_left(vial):
            raise InvalidInputError(
                "units", "more than is left in the vial", f"<= {units_left(vial)} U"
            )
        before = snap(vial)
        vial.units_drawn += units
        vial.units_wasted = (vial.units_wasted or Decimal(0)) + units
        uow.audit.record(
            clinic_id=clinic_id,
            actor=actor,
            action="waste",
            entity="vial",
            entity_id=vial.id,
            before=before,
            after=vial,
        )
        return vial


@retried
def discard_vial(
    db: Database,
    clinic_id: uuid.UUID,
    vial_id: uuid.UUID,
    *,
    reason: str,
    at: datetime,
    expected_version: int | None = None,
    actor: str,
) -> Vial:
    """Discard a vial; what is left in it counts as wasted."""
    if not reason.strip():
        raise InvalidInputError("reason", "is empty", "why the vial was discarded")
    with writing(db) as uow:
        vial = uow.vials.locked(clinic_id, vial_id)  # concurrent draws wait, none is lost
        check_version(vial, expected_version, "vial")
        if vial.discarded_at is not None:
            raise InvalidInputError("vial_id", "vial is already discarded", "an open vial")
        before = snap(vial)
        left = units_left(vial)
        vial.units_wasted = (vial.units_wasted or Decimal(0)) + left
        vial.units_drawn += left
        vial.discarded_at = at
        vial.discard_reason = reason.strip()[:200]
        uow.audit.record(
            clinic_id=clinic_id,
            actor=actor,
            action="discard",
            entity="vial",
            entity_id=vial.id,
            before=before,
            after=vial,
        )
        return vial


def open_vials(db: Database, clinic_id: uuid.UUID) -> list[Vial]:
    """Vials not yet discarded, oldest first."""
    with reading(db) as uow:
        return uow.vials.open(clinic_id)


@dataclass(frozen=True)
class VialReconciliation:
    """Where a vial's units went. ``unaccounted`` should be zero."""

    vial_id: uuid.UUID
    label: str
    product: str
    lot_number: str
    vial_units: Decimal
    units_drawn: Decimal
    units_charted: Decimal
    units_wasted: Decimal
    units_left: Decimal
    lot_id: uuid.UUID | None = None
    reconstituted_at: datetime | None = None
    beyond_use_at: datetime | None = None
    discarded_at: datetime | None = None
    version: int = 1

    @property
    def unaccounted(self) -> Decimal:
        """Drawn but neither charted nor recorded as waste."""
        return self.units_drawn - self.units_charted - self.units_wasted

    @property
    def mismatch(self) -> bool:
        """The vial's units do not add up: drawn units unaccounted for, more charted than
        drawn, or a negative amount left."""
        return self.unaccounted != 0 or self.units_charted > self.units_drawn or self.units_left < 0


@dataclass(frozen=True)
class LotReconciliation:
    """A lot's vials added up: units received (in reconstituted vials), charted, wasted, left."""

    lot_id: uuid.UUID
    product: str
    lot_number: str
    vials: int
    units_received: Decimal
    units_charted: Decimal
    units_wasted: Decimal
    units_left: Decimal
    unaccounted: Decimal
    mismatched_vials: int

    @property
    def mismatch(self) -> bool:
        """Any vial of the lot does not add up."""
        return self.mismatched_vials > 0 or self.unaccounted != 0


def reconcile(
    db: Database, clinic_id: uuid.UUID, vial_ids: list[uuid.UUID] | None = None
) -> list[VialReconciliation]:
    """Units drawn vs charted vs wasted, per vial."""
    with reading(db) as uow:
        return _reconciled(uow.vials.with_units_charted(clinic_id, vial_ids))


def _reconciled(rows: list[tuple[Vial, ProductLot, Decimal]]) -> list[VialReconciliation]:
    return [
        VialReconciliation(
            vial_id=vial.id,
            label=vial.label,
            product=lot.product,
            lot_number=lot.lot_number,
            vial_units=vial.vial_units,
            units_drawn=vial.units_drawn,
            units_charted=charted,
            units_wasted=vial.units_wasted or Decimal(0),
            units_left=units_left(vial),
            lot_id=lot.id,
            reconstituted_at=vial.reconstituted_at,
            beyond_use_at=vial.beyond_use_at,
            discarded_at=vial.discarded_at,
            version=vial.version,
        )
        for vial, lot, charted in rows
    ]


#: Vials per page of the reconciliation: a clinic with years of vials is read a page at a time.
VIALS_PER_PAGE = 50


@dataclass(frozen=True)
class VialPage:
    """One page of the reconciliation by vial, newest reconstitution first."""

    number: int  # from 1
    count: int  # pages in all (at least 1)
    total: int  # vials in all
    rows: list[VialReconciliation]

    @property
    def first(self) -> int:
        """The position of the page's first vial (from 1; 0 when there is none)."""
        return (self.number - 1) * VIALS_PER_PAGE + 1 if self.rows else 0

    @property
    def last(self) -> int:
        """The position of the page's last vial."""
        return self.first + len(self.rows) - 1 if self.rows else 0


@dataclass(frozen=True)
class VialsOverview:
    """What the Vials page shows: the clinic's lots with their vials added up, its open
    vials, and one page of every vial reconciled — a handful of queries however many years
    of vials the clinic has."""

    timezone: str  # the clinic's, for showing and entering times
    lots: list[ProductLot]  # latest expiry first
    lot_totals: list[LotReconciliation]  # lots with at least one vial
    open_vials: list[VialReconciliation]  # soonest beyond-use time first
    page: VialPage

    @property
    def mismatched_vials(self) -> int:
        """Vials that do not add up, on any page."""
        return sum(t.mismatched_vials for t in self.lot_totals)


def vials_overview(db: Database, clinic_id: uuid.UUID, page: int = 1) -> VialsOverview:
    """The clinic's lots and open vials, and page ``page`` of its vials (past the last page:
    the last page)."""
    with reading(db) as uow:
        timezone = uow.clinics.get(clinic_id).timezone
        totals = uow.vials.lot_totals(clinic_id)
        open_rows = uow.vials.with_units_charted(clinic_id, None, open_only=True)
        total = uow.vials.count(clinic_id)
        count = max(1, -(-total // VIALS_PER_PAGE))
        number = min(max(page, 1), count)
        rows = uow.vials.with_units_charted(
            clinic_id,
            None,
            newest_first=True,
            limit=VIALS_PER_PAGE,
            offset=(number - 1) * VIALS_PER_PAGE,
        )
    open_vials = sorted(
        _reconciled(open_rows), key=lambda v: (v.beyond_use_at is None, v.beyond_use_at)
    )
    return VialsOverview(
        timezone,
        [t.lot for t in totals],
        [
            LotReconciliation(
                lot_id=t.lot.id,
                product=t.lot.product,
                lot_number=t.lot.lot_number,
                vials=t.vials,
                units_received=t.units_received,
                units_charted=t.units_charted,
                units_wasted=t.units_wasted,
                units_left=t.units_left,
                unaccounted=t.unaccounted,
                mismatched_vials=t.mismatched_vials,
            )
            for t in totals
            if t.vials
        ],
        open_vials,
        VialPage(number, count, total, _reconciled(rows)),
    )
