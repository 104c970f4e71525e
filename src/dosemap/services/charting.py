"""Chart mode and the session's plan: taps saved one by one, edits and acknowledgements.

Every tap is written as it happens under the id the device made for it: the same tap sent
twice (a lost answer, an offline queue replayed) is written once. A tap carries the session
version the device last saw; a tap from a device that missed another device's write is refused
with the optimistic-locking conflict (never applied over it), and the device shows it. When the
treatment is over, :func:`finish_chart` turns the taps into the chart
(:func:`dosemap.services.sessions.chart_session`): the points done, at their µL, from their vial.

The session's plan is edited while the session is only planned; every edit and acknowledgement
is audited.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, Field

from dosemap.domain.charting import PointState, Tap, TapAction, replay
from dosemap.domain.dosing import units_for_volume
from dosemap.domain.errors import InvalidInputError
from dosemap.domain.library import Library
from dosemap.domain.library.models import Severity
from dosemap.domain.plan import Plan, as_session, read_plan_document
from dosemap.domain.plan import SessionPlan as SessionPlanFile
from dosemap.domain.plan_edit import PlanEdit, apply_edits_to
from dosemap.domain.plan_review import Acknowledgement, PlanReview, finding_key, review_plan
from dosemap.persistence.audit import _canonical as canonical
from dosemap.persistence.db import Database
from dosemap.persistence.errors import RecordLockedError
from dosemap.persistence.models import (
    ChartTap,
    PlanAcknowledgement,
    ProductLot,
    TreatmentSession,
    Vial,
)
from dosemap.persistence.unit_of_work import UnitOfWork, reading, writing
from dosemap.resources import template_mesh
from dosemap.services._common import Input, as_uuid, check_version, now
from dosemap.services.sessions import (
    ChartInput,
    ChartPointInput,
    chart_session,
    intake_and_context,
    mix_label,
    plan_session,
    sync_planned_products,
)

_Q = Decimal("0.0001")


class TapInput(Input):
    """One tap from chart mode; ``id`` is made by the device (a UUID) and never reused."""

    id: uuid.UUID
    point_number: int = Field(ge=1)
    action: Literal["done", "skipped", "undo"]
    volume_ul: Decimal | None = Field(default=None, gt=0, le=1000, decimal_places=1)
    vial_id: uuid.UUID | None = None
    tapped_at: AwareDatetime


@dataclass(frozen=True)
class TapResult:
    """The session version after the tap, and whether it had been recorded already."""

    version: int
    duplicate: bool


@dataclass(frozen=True)
class SessionPlan:
    """A session's plan as the editor and chart mode see it."""

    session_id: uuid.UUID
    patient_id: uuid.UUID
    status: str
    version: int
    plan: Plan  # the first product's plan (the record's product)
    acknowledgements: tuple[Acknowledgement, ...]
    points: dict[int, PointState]  # chart mode's state of each point of every product
    patient_name: str = ""
    timezone: str = "UTC"  # the clinic's, for times shown
    recorded_taps: tuple[dict[str, object], ...] = ()  # the taps as chart mode replays them
    review: PlanReview | None = None  # the live panel, when asked for with an edit
    #: The plan file as stored: one plan (format 1) or one plan per product (format 2).
    document: Plan | SessionPlanFile | None = None
    #: After an edit: the edited product's plan just before the last edit (which point an add
    #: or a move placed: ``plan_edit.placed_point``).
    before_last_edit: Plan | None = None

    @property
    def plans(self) -> tuple[Plan, ...]:
        """Every product's plan, in the file's order (one for a format-1 file)."""
        return as_session(self.document or self.plan).plans


@dataclass(frozen=True)
class VialChoice:
    """An open vial chart mode offers (label, lot, beyond-use time)."""

    id: uuid.UUID
    label: str


def _acks(uow: UnitOfWork, row: TreatmentSession) -> tuple[Acknowledgement, ...]:
    return tuple(
        Acknowledgement(
            code=a.code,
            zone=a.zone,
            point_numbers=tuple(a.point_numbers["numbers"]),
            by=a.acknowledged_by_name,
            at=a.acknowledged_at,
            reason=a.reason,
        )
        for a in uow.charting.acknowledgements(row.id)
    )


def _as_tap(t: ChartTap) -> Tap:
    return Tap(t.point_number, TapAction(t.action), t.volume_ul, t.vial_id)


def _session_plan(
    uow: UnitOfWork, row: TreatmentSession, document: Plan | SessionPlanFile | None = None
) -> SessionPlan:
    document = document if document is not None else read_plan_document(row.plan)
    plan = as_session(document).plans[0]
    taps = uow.charting.taps(row.id)
    patient = uow.patients.get(row.clinic_id, row.patient_id)
    return SessionPlan(
        session_id=row.id,
        patient_id=row.patient_id,
        status=row.status,
        version=row.version,
        plan=plan,
        acknowledgements=_acks(uow, row),
        points=replay(document, [_as_tap(t) for t in taps]),
        patient_name=f"{patient.given_name} {patient.family_name}",
        timezone=uow.clinics.get(row.clinic_id).timezone,
        recorded_taps=tuple(
            {
                "id": str(t.id),
                "point_number": t.point_number,
                "action": t.action,
                "volume_ul": None if t.volume_ul is None else str(t.volume_ul.normalize()),
                "vial_id": None if t.vial_id is None else str(t.vial_id),
            }
            for t in taps
        ),
        document=document,
    )


def _unusable(vial: Vial, lot: ProductLot, stamp: datetime, today: date) -> str | None:
    """Why chart mode must not draw from an undiscarded ``vial`` now, or ``None``."""
    if lot.expires_on < today:
        return f"lot {lot.lot_number} expired on {lot.expires_on.isoformat()}"
    if vial.beyond_use_at <= stamp:
        return f"vial {vial.label} was beyond use at {_use_by(vial)}"
    return None


def _use_by(vial: Vial) -> str:
    return f"{vial.beyond_use_at:%Y-%m-%d %H:%M} UTC"


def _choice(vial: Vial, lot: ProductLot) -> VialChoice:
    return VialChoice(vial.id, f"{vial.label} · lot {lot.lot_number} · use by {_use_by(vial)}")


def _open_of_product(
    uow: UnitOfWork, clinic_id: uuid.UUID, product: str
) -> list[tuple[Vial, ProductLot, str | None]]:
    """The clinic's undiscarded vials of ``product``, oldest first, each with why it may not
    be used now (``None``: usable)."""
    stamp = now()
    today = stamp.astimezone(ZoneInfo(uow.clinics.get(clinic_id).timezone)).date()
    found = []
    for vial in uow.vials.open(clinic_id):
        lot = uow.lots.of_vial(vial)
        if lot.product == product:
            found.append((vial, lot, _unusable(vial, lot, stamp, today)))
    return found


def open_vials(db: Database, clinic_id: uuid.UUID, product: str) -> list[VialChoice]:
    """The clinic's open vials of ``product`` (not discarded, lot not expired, not past
    beyond-use), oldest first, labelled with lot and beyond-use time."""
    with reading(db) as uow:
        return [
            _choice(v, lot) for v, lot, why in _open_of_product(uow, clinic_id, product) if not why
        ]


def vials_of_lot(
    db: Database, clinic_id: uuid.UUID, product: str, lot_number: str
) -> list[VialChoice]:
    """The clinic's usable open vials of ``product`` from the lot numbered ``lot_number``
    (typed, or scanned from the vial's barcode), oldest first: one or several.

    None is a field error on ``lot_number`` saying why (no such lot, another product's, the lot
    expired, every vial of it beyond use or discarded) and which lots may be used now.
    """
    number = lot_number.strip()
    with reading(db) as uow:
        of_product = _open_of_product(uow, clinic_id, product)
        usable = sorted({lot.lot_number for _, lot, why in of_product if why is None})
        allowed = (
            f"the lot of an open vial of {product}: {', '.join(usable)}"
            if usable
            else f"none: no vial of {product} is open and usable (open one on the Vials page)"
        )
        if not number:
            raise InvalidInputError("lot_number", "is empty", allowed)
        lots = uow.lots.numbered(clinic_id, number)
        if not lots:
            raise InvalidInputError("lot_number", f"no lot {number} in this clinic", allowed)
        if all(lot.product != product for lot in lots):
            other = ", ".join(sorted({lot.product for lot in lots}))
            raise InvalidInputError(
                "lot_number", f"lot {number} is {other}, this plan is {product}", allowed
            )
        of_lot = [(v, lot, why) for v, lot, why in of_product if lot.lot_number == number]
        chosen = [_choice(v, lot) for v, lot, why in of_lot if why is None]
        if chosen:
            return chosen
        if of_lot:
            reasons = "; ".join(sorted({why for _, _, why in of_lot if why}))
            raise InvalidInputError("lot_number", f"refused: {reasons}", allowed)
        expired = [lot for lot in lots if lot.product == product and lot.expires_on < now().date()]
        said = f"lot {number} expired on {expired[0].expires_on.isoformat()}; " if expired else ""
        raise InvalidInputError(
            "lot_number",
            f"{said}no open vial of lot {number} (none reconstituted, or all discarded)",
            allowed,
        )


def session_plan(db: Database, clinic_id: uuid.UUID, session_id: uuid.UUID) -> SessionPlan:
    """The session's plan, acknowledgements and chart-mode state."""
    with reading(db) as uow:
        return _session_plan(uow, uow.sessions.get(clinic_id, session_id))


def review_session_plan(
    db: Database, clinic_id: uuid.UUID, session_id: uuid.UUID, library: Library
) -> PlanReview:
    """The live panel for the session's plan, with the patient's intake and its acks."""
    with reading(db) as uow:
        row = uow.sessions.get(clinic_id, session_id)
        intake, context = intake_and_context(uow, row)
        return review_plan(
            read_plan_document(row.plan),
            library,
            mesh=template_mesh(),
            intake=intake,
            context=context,
            acknowledgements=_acks(uow, row),
        )


def edit_session_plan(
    db: Database,
    clinic_id: uuid.UUID,
    session_id: uuid.UUID,
    edits: Sequence[PlanEdit],
    library: Library,
    *,
    expected_version: int,
    actor: str,
    review: bool = False,
    plan_index: int = 0,
) -> SessionPlan:
    """Apply ``edits`` to a planned session's plan (all or none); audited.

    ``plan_index``: in a session of several products, the chosen product's plan the edits act
    on (the file keeps its format). ``review``: also review the edited plan (with the
    patient's intake and the session's acknowledgements) in the same unit of work, for the
    editor's panel (totals per product, findings for the whole session).
    """
    with writing(db) as uow:
        row = uow.sessions.get(clinic_id, session_id)
        check_version(row, expected_version, "session")
        if row.status != "planned":
            raise RecordLockedError(
                f"session {row.id} is {row.status}: its plan can no longer be edited"
            )
        if uow.charting.taps(row.id):
            raise RecordLockedError(f"session {row.id} is being charted: the plan is fixed")
        before = uow.sessions.snapshot(row)
        # The last edit apart: the plan just before it tells which point it placed.
        before_last = apply_edits_to(
            read_plan_document(row.plan), edits[:-1], library, template_mesh(),
            plan_index=plan_index,
        )  # fmt: skip
        edited = apply_edits_to(
            before_last, edits[-1:], library, template_mesh(), plan_index=plan_index,
            first_index=max(len(edits) - 1, 0),
        )  # fmt: skip
        row.plan = edited.model_dump(mode="json")
        # The record's units are its first product's, as when it was planned; every product's
        # own figures are on its session_products row.
        row.planned_units = as_session(edited).plans[0].summary.total_units.quantize(_Q)
        row.updated_at = now()
        # Last: its flush writes the row once, so one edit is one version step.
        sync_planned_products(uow, row, as_session(edited))
        uow.audit.record(
            clinic_id=clinic_id,
            actor=actor,
            action="edit_plan",
            entity="session",
            entity_id=row.id,
            before=before,
            after=lambda: uow.sessions.snapshot(row),
        )
        current = replace(
            _session_plan(uow, row, edited),
            before_last_edit=as_session(before_last).plans[plan_index],
        )
        if not review:
            return current
        intake, context = intake_and_context(uow, row)
        panel = review_plan(
            edited,
            library,
            mesh=template_mesh(),
            intake=intake,
            context=context,
            acknowledgements=current.acknowledgements,
        )
        return replace(current, review=panel)


def acknowledge_warning(
    db: Database,
    clinic_id: uuid.UUID,
    session_id: uuid.UUID,
    library: Library,
    *,
    code: str,
    zone: str | None,
    point_numbers: tuple[int, ...],
    reason: str,
    staff_id: uuid.UUID,
    actor: str,
) -> Acknowledgement:
    """Record that ``staff_id`` accepts a current warning, and why (a block cannot be)."""
    if not reason.strip():
        raise InvalidInputError("reason", "is empty", "why the warning is accepted")
    with writing(db) as uow:
        row = uow.sessions.get(clinic_id, session_id)
        staff = uow.staff.get(clinic_id, staff_id)
        intake, context = intake_and_context(uow, row)
        plan = read_plan_document(row.plan)
        key = (code, zone, tuple(point_numbers))
        review = review_plan(plan, library, mesh=template_mesh(), intake=intake, context=context)
        found = next((r.finding for r in review.findings if finding_key(r.finding) == key), None)
        if found is None or found.severity is Severity.INFO:
            raise InvalidInputError("code", f"no current warning {code} there", "a warning")
        if found.severity is Severity.BLOCK:
            raise InvalidInputError(
                "code", f"{code} blocks", "a warning (a block is resolved, not accepted)"
            )
        stamp = now()
        name = staff.display_name
        record = PlanAcknowledgement(
            id=uuid.uuid4(),
            clinic_id=clinic_id,
            session_id=row.id,
            code=code,
            zone=zone,
            point_numbers={"numbers": list(point_numbers)},
            reason=reason.strip(),
            acknowledged_by=staff.id,
            acknowledged_by_name=name[:200],
            acknowledged_at=stamp,
        )
        uow.charting.add(record)
        uow.audit.record(
            clinic_id=clinic_id,
            actor=actor,
            action="acknowledge",
            entity="plan_acknowledgement",
            entity_id=record.id,
            before=None,
            after=record,
        )
        return Acknowledgement(
            code=code,
            zone=zone,
            point_numbers=tuple(point_numbers),
            by=record.acknowledged_by_name,
            at=stamp,
            reason=record.reason,
        )


def record_tap(
    db: Database,
    clinic_id: uuid.UUID,
    session_id: uuid.UUID,
    tap: TapInput,
    *,
    expected_version: int,
    actor: str,
) -> TapResult:
    """Save one tap (idempotent by its id; see the module docstring)."""
    return record_taps(
        db, clinic_id, session_id, (tap,), expected_version=expected_version, actor=actor
    )


def record_taps(
    db: Database,
    clinic_id: uuid.UUID,
    session_id: uuid.UUID,
    taps: Sequence[TapInput],
    *,
    expected_version: int,
    actor: str,
) -> TapResult:
    """Save taps in the order given, all or none, each written once by its id.

    A device that was offline (or slow) sends what it queued in one request instead of one
    request a tap: the same checks as one tap, one transaction, one round trip. ``duplicate``
    is true only when every tap had been recorded already (a lost answer, replayed).
    """
    if not taps:
        raise InvalidInputError("taps", "is empty", "one tap or more")
    with writing(db) as uow:
        row = uow.sessions.get(clinic_id, session_id)
        fresh = []
        for index, tap in enumerate(taps):
            existing = uow.charting.tap(tap.id)
            if existing is None:
                fresh.append((index, tap))
            elif existing.session_id != row.id:
                raise InvalidInputError(
                    _tap_field(taps, index, "id"),
                    "is the id of another session's tap",
                    "a new UUID",
                )
        if not fresh:
            return TapResult(row.version, duplicate=True)
        check_version(row, expected_version, "session")
        if row.status == "signed":
            raise RecordLockedError(f"session {row.id} is signed: amend it with a reason")
        plans = row.plan.get("plans", [row.plan])  # format 2: one plan per product
        # Numbers run on across the products: a tap's number names one point of one plan.
        product_of = {p["number"]: plan["product"] for plan in plans for p in plan["points"]}
        vial_products: dict[uuid.UUID, str | None] = {}
        before = uow.sessions.snapshot(row)
        seq = uow.charting.next_seq(row.id)
        for index, tap in fresh:
            if uow.charting.tap(tap.id) is not None:
                continue  # the same id twice in one batch: written once
            if tap.point_number not in product_of:
                raise InvalidInputError(
                    _tap_field(taps, index, "point_number"),
                    f"no point {tap.point_number}",
                    "a planned point",
                )
            if tap.vial_id is not None:
                _check_tap_vial(
                    uow, clinic_id, tap, product_of[tap.point_number], vial_products,
                    _tap_field(taps, index, "vial_id"),
                )  # fmt: skip
            stamp = now()
            record = ChartTap(
                id=tap.id,
                clinic_id=clinic_id,
                session_id=row.id,
                seq=seq,
                point_number=tap.point_number,
                action=tap.action,
                volume_ul=tap.volume_ul,
                vial_id=tap.vial_id,
                tapped_at=tap.tapped_at,
                recorded_at=stamp,
                actor=actor[:80],
            )
            seq += 1
            uow.charting.add(record)
            uow.audit.record(
                clinic_id=clinic_id,
                actor=actor,
                action="tap",
                entity="chart_tap",
                entity_id=record.id,
                before=None,
                after=record,
            )
        row.updated_at = now()  # a new version: another device's stale tap is a conflict
        uow.audit.record(
            clinic_id=clinic_id,
            actor=actor,
            action="tap",
            entity="session",
            entity_id=row.id,
            before=before,
            after=lambda: uow.sessions.snapshot(row),
        )
        return TapResult(row.version, duplicate=False)


def _check_tap_vial(
    uow: UnitOfWork,
    clinic_id: uuid.UUID,
    tap: TapInput,
    wanted: str,
    products: dict[uuid.UUID, str | None],
    field: str,
) -> None:
    """Refuse a tap whose vial is not this clinic's or holds another product than the plan of
    its point (in a session of several products each is drawn from its own vial)."""
    assert tap.vial_id is not None
    if tap.vial_id not in products:
        vial = uow.vials.find(clinic_id, tap.vial_id)
        products[tap.vial_id] = None if vial is None else uow.lots.of_vial(vial).product
    product = products[tap.vial_id]
    if product is None:
        raise InvalidInputError(field, "no such vial in this clinic", "an opened vial's id")
    if product != wanted:
        raise InvalidInputError(
            field,
            f"the vial holds {product}, point {tap.point_number} is of the {wanted} plan",
            f"a vial of {wanted}",
        )


def _tap_field(taps: Sequence[TapInput], index: int, name: str) -> str:
    """The field a refusal names: ``point_number`` for one tap, ``taps[3].point_number`` else."""
    return name if len(taps) == 1 else f"taps[{index}].{name}"


def chart_from_taps(
    plan: Plan | SessionPlanFile, points: dict[int, PointState]
) -> tuple[ChartPointInput, ...]:
    """The chart points of the taps: every point done, at its µL, from its vial; its units at
    the dilution of its own product's plan (a session of several products has one a plan)."""
    chart = []
    for one in as_session(plan).plans:
        label = mix_label(one)[:200]
        for p in one.points:
            state = points[p.number]
            if state.state != "done":
                continue
            if state.vial_id is None:
                raise InvalidInputError(
                    f"points[{p.number}].vial_id",
                    "point done without a vial",
                    f"the {one.product} vial it came from",
                )
            units = units_for_volume(state.volume_ul, one.mix.units_per_ml)
            chart.append(
                ChartPointInput(
                    number=p.number,
                    zone=p.zone,
                    position_mm=p.position_mm,
                    anchor=p.anchor,
                    technique=p.technique,
                    depth=p.depth,
                    volume_ul=state.volume_ul.quantize(_Q),
                    units=units.quantize(_Q),
                    mix=label,
                    vial_id=state.vial_id,
                )
            )
    if not chart:
        raise InvalidInputError("points", "no point is marked done", "at least one point done")
    return tuple(chart)


def finish_chart(
    db: Database,
    clinic_id: uuid.UUID,
    session_id: uuid.UUID,
    library: Library,
    *,
    performed_at: datetime,
    pain_score: int | None,
    numbing: str | None,
    notes: str | None,
    expected_version: int,
    actor: str,
) -> TreatmentSession:
    """Write the chart from the taps (status ``charted``; signing is a separate step)."""
    current = session_plan(db, clinic_id, session_id)
    chart = ChartInput(
        performed_at=performed_at,
        points=chart_from_taps(current.document or current.plan, current.points),
        pain_score=pain_score,
        numbing=numbing or None,
        aftercare=notes or None,
    )
    return chart_session(
        db, clinic_id, session_id, chart, library, expected_version=expected_version, actor=actor
    )


@dataclass(frozen=True)
class ProductFigures:
    """One product's part of a charted session, as the record shows it (from its chart)."""

    index: int  # the product's plan in the session (1 for the second product)
    product: str
    units_per_ml: Decimal  # its own dilution
    points: tuple[int, ...]  # the charted point numbers of this product
    volume_ul: Decimal
    units: Decimal  # in this product's own units
    vials: tuple[str, ...]  # the labels of the vials it was drawn from


@dataclass(frozen=True)
class RecordFigures:
    """Per product figures of a session's chart, and each charted point's plan."""

    products: tuple[ProductFigures, ...]
    plan_of_point: dict[int, int]  # charted point number -> the index of its product's plan

    def units_per_ml(self, number: int) -> Decimal:
        """The dilution a charted point's µL are counted at (its own product's)."""
        return self.products[self.plan_of_point[number]].units_per_ml


def record_figures(db: Database, clinic_id: uuid.UUID, session_id: uuid.UUID) -> RecordFigures:
    """The chart's points, µL, units and vials per product (each at its own dilution).

    A charted point belongs to the plan holding its number, else to the first plan of its
    vial's product (as signing reads the chart)."""
    with reading(db) as uow:
        row = uow.sessions.get(clinic_id, session_id)
        plans = as_session(read_plan_document(row.plan)).plans
        owner = {p.number: index for index, one in enumerate(plans) for p in one.points}
        first_of: dict[str, int] = {}
        for index, one in enumerate(plans):
            first_of.setdefault(one.product, index)
        vials = {v: uow.vials.by_id(v) for v in sorted({p.vial_id for p in row.points})}
        vial_product = {v: uow.lots.of_vial(vial).product for v, vial in vials.items()}
        mine: list[list[Any]] = [[] for _ in plans]
        plan_of_point = {}
        for p in sorted(row.points, key=lambda p: p.number):
            index = owner.get(p.number, first_of.get(vial_product[p.vial_id], 0))
            plan_of_point[p.number] = index
            mine[index].append(p)
        products = tuple(
            ProductFigures(
                index=index,
                product=one.product,
                units_per_ml=one.mix.units_per_ml,
                points=tuple(p.number for p in points),
                volume_ul=sum((p.volume_ul for p in points), Decimal(0)),
                units=sum((p.units for p in points), Decimal(0)),
                vials=tuple(dict.fromkeys(vials[p.vial_id].label for p in points)),
            )
            for index, (one, points) in enumerate(zip(plans, mine, strict=True))
        )
    return RecordFigures(products, plan_of_point)


@dataclass(frozen=True)
class AmendmentView:
    """One amendment of a signed record: when, by whom, why, and what it changed."""

    number: int
    amended_at: datetime
    reason: str
    before_digest: str
    after_digest: str
    changes: tuple[str, ...]


def _chart_lines(snap: dict[str, Any]) -> dict[int, str]:
    """Point number -> what the chart says about it (µL, units, vial), from a snapshot."""
    return {
        int(p["number"]): f"{p['volume_ul']} µL = {p['units']} U, vial {str(p['vial_id'])[:8]}"
        for p in snap.get("points", [])
    }


def _changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[str, ...]:
    old, new = _chart_lines(before), _chart_lines(after)
    lines = []
    for number in sorted(set(old) | set(new)):
        if number not in new:
            lines.append(f"point {number} removed (was {old[number]})")
        elif number not in old:
            lines.append(f"point {number} added: {new[number]}")
        elif old[number] != new[number]:
            lines.append(f"point {number}: {old[number]} → {new[number]}")
    for key in ("pain_score", "numbing", "aftercare"):
        was, now_ = before.get("session", {}).get(key), after.get("session", {}).get(key)
        if was != now_:
            lines.append(f"{key}: {was!r} → {now_!r}")
    return tuple(lines)


def amendment_history(
    db: Database, clinic_id: uuid.UUID, session_id: uuid.UUID
) -> list[AmendmentView]:
    """A session's amendments, oldest first, each with what it changed in the chart."""
    with reading(db) as uow:
        row = uow.sessions.get(clinic_id, session_id)
        found = uow.sessions.amendments(clinic_id, session_id)
        current = canonical(uow.sessions.snapshot(row))
    states = [a.before for a in found] + [current]
    return [
        AmendmentView(
            number=a.number,
            amended_at=a.amended_at,
            reason=a.reason,
            before_digest=a.before_digest,
            after_digest=a.after_digest,
            changes=_changes(states[k], states[k + 1]),
        )
        for k, a in enumerate(found)
    ]


@dataclass(frozen=True)
class FollowUpView:
    """A follow-up a signed session called for (with why that date)."""

    id: uuid.UUID
    kind: str
    due_on: date
    status: str
    basis: str


def session_followups(
    db: Database, clinic_id: uuid.UUID, session_id: uuid.UUID
) -> list[FollowUpView]:
    """The review and retreatment visits signing scheduled for this session."""
    with reading(db) as uow:
        uow.sessions.get(clinic_id, session_id)
        return [
            FollowUpView(f.id, f.kind, f.due_on, f.status, f.basis)
            for f in uow.followups.of_session(clinic_id, session_id)
        ]


#: The hour (clinic time) a booked session is put at; the desk moves it as needed.
BOOKED_HOUR = 10


def book_followup(
    db: Database,
    clinic_id: uuid.UUID,
    session_id: uuid.UUID,
    followup_id: uuid.UUID | str,
    *,
    injector_id: uuid.UUID,
    actor: str,
) -> TreatmentSession:
    """Book the follow-up in one tap: a planned session on its due day, with this session's
    plan (to be edited then), for the same patient."""
    with reading(db) as uow:
        row = uow.sessions.get(clinic_id, session_id)
        followup = uow.followups.get(clinic_id, as_uuid(followup_id, "followup"))
        if followup.session_id != row.id:
            raise InvalidInputError("followup", "is another session's", "this session's")
        if followup.status != "open":
            raise InvalidInputError("followup", f"is {followup.status}", "an open follow-up")
        zone = ZoneInfo(uow.clinics.get(clinic_id).timezone)
        plan = read_plan_document(row.plan)
    at = datetime.combine(followup.due_on, time(BOOKED_HOUR), tzinfo=zone)
    return plan_session(
        db, clinic_id, patient_id=row.patient_id, injector_id=injector_id, plan=plan,
        scheduled_at=at, actor=actor,
    )  # fmt: skip
