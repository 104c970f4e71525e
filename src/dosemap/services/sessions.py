"""Treatment sessions: plan → chart → sign → amend.

The plan is stored as planned (the core's :class:`~dosemap.domain.plan.Plan`, as JSON); the
chart holds one row per droplet as performed, with the vial it came from. Signing locks the
record: it is refused when the core's safety rules return a blocking finding, when the
injector's credential does not cover the procedure on the day, or when no consent is on file.
Any later change is an amendment with a reason; the record as it was is kept with it.
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from pydantic import AwareDatetime, Field

from dosemap.domain.dosing import botox_equivalent_units
from dosemap.domain.errors import InvalidInputError
from dosemap.domain.intake import Intake as IntakeAnswers
from dosemap.domain.intake import PriorTreatment, SessionContext, VialInUse
from dosemap.domain.library.catalog import Library
from dosemap.domain.plan import (
    MeshAnchor,
    Plan,
    PlannedPoint,
    SessionPlan,
    as_session,
    read_plan_document,
)
from dosemap.domain.retreatment import RetreatmentSuggestion, suggest_retreatment
from dosemap.persistence.audit import _canonical, digest
from dosemap.persistence.audit_records import signed_content_sha256
from dosemap.persistence.db import Database
from dosemap.persistence.errors import RecordLockedError, SigningRefusedError
from dosemap.persistence.models import (
    Amendment,
    ChartPoint,
    FollowUp,
    SessionProduct,
    SessionVialUsage,
    TreatmentSession,
)
from dosemap.persistence.unit_of_work import UnitOfWork, reading, writing
from dosemap.services._common import Input, check_version, in_range, now, retried, snap
from dosemap.services.staff import (
    MICRODOSE_PROCEDURE,
    acting_staff,
    credential_problems,
    signer_problems,
)

_Q = Decimal("0.0001")


class ChartPointInput(Input):
    """One droplet as performed: the plan point's fields plus the vial it came from."""

    number: int = Field(ge=1)
    zone: str = Field(min_length=1, max_length=60)
    position_mm: tuple[float, float, float]
    anchor: MeshAnchor
    technique: str = Field(min_length=1, max_length=60)
    depth: str = Field(min_length=1, max_length=400)
    volume_ul: Decimal = Field(gt=0, le=1000, decimal_places=4)
    units: Decimal = Field(gt=0, le=100, decimal_places=4)
    mix: str = Field(min_length=1, max_length=200)
    vial_id: uuid.UUID


class ChartInput(Input):
    """The chart as performed."""

    performed_at: AwareDatetime
    points: tuple[ChartPointInput, ...] = Field(min_length=1, max_length=2000)
    pain_score: int | None = Field(default=None, ge=0, le=10)
    numbing: str | None = Field(default=None, max_length=120)
    aftercare: str | None = Field(default=None, max_length=4000)


def mix_label(plan: Plan) -> str:
    """Short description of the working mix for the chart."""
    parts = [f"{c.ingredient} {c.fraction}" for c in plan.mix.components]
    return f"{plan.mix.units_per_ml} U/mL " + ", ".join(parts)


def chart_as_planned(
    plan: Plan | SessionPlan, vial_for_point: dict[int, uuid.UUID] | uuid.UUID
) -> tuple[ChartPointInput, ...]:
    """Chart points equal to the plan's, each from the given vial (one vial or per point).

    For a session of several products give a vial per point (:func:`vials_for_points`)."""

    def vial(point: PlannedPoint) -> uuid.UUID:
        return (
            vial_for_point
            if isinstance(vial_for_point, uuid.UUID)
            else vial_for_point[point.number]
        )

    session = as_session(plan)
    labels = {p.number: mix_label(one)[:200] for one in session.plans for p in one.points}
    return tuple(
        ChartPointInput(
            number=p.number,
            zone=p.zone,
            position_mm=p.position_mm,
            anchor=p.anchor,
            technique=p.technique,
            depth=p.depth,
            volume_ul=p.volume_ul.quantize(_Q),
            units=p.units.quantize(_Q),
            mix=labels[p.number],
            vial_id=vial(p),
        )
        for p in session.points
    )


#: How far from the face's origin a point may be (mm): a face is ~200 mm across, a metre is
#: nonsense (a plan file saying 1e308 mm is refused, not stored).
_MAX_POSITION_MM = 1000.0


def checked_plan_units(plan: Plan) -> Decimal:
    """The plan's total units, recomputed from its points, after checking each point: a known
    zone, a finite position on the face, and units that are its volume at the mix's strength.
    A summary that disagrees with the points is refused, naming both figures."""
    from dosemap.domain.atlas.zones import zone

    if not plan.points:
        raise InvalidInputError("points", "the plan has no points", "at least one point")
    per_ml = plan.mix.units_per_ml
    for i, p in enumerate(plan.points):
        zone(p.zone, f"points[{i}].zone")
        if not all(math.isfinite(c) and abs(c) <= _MAX_POSITION_MM for c in p.position_mm):
            raise InvalidInputError(
                f"points[{i}].position_mm",
                f"{p.position_mm} is not on a face",
                f"finite, within ±{_MAX_POSITION_MM:.0f} mm",
            )
        expected = p.volume_ul * per_ml / 1000
        if abs(p.units - expected) > Decimal("0.001"):
            raise InvalidInputError(
                f"points[{i}].units",
                f"{p.units} U in {p.volume_ul} µL of a {per_ml} U/mL mix (that is {expected} U)",
                "the units the volume holds at the mix's strength",
            )
    total = sum((p.units for p in plan.points), Decimal(0)).quantize(_Q)
    if abs(plan.summary.total_units - total) > Decimal("0.001"):
        raise InvalidInputError(
            "summary.total_units",
            f"says {plan.summary.total_units} U but the points sum to {total} U",
            "the sum of the points' units",
        )
    return total


def vials_for_points(
    db: Database, clinic_id: uuid.UUID, plan: Plan | SessionPlan, vial_ids: list[uuid.UUID]
) -> dict[int, uuid.UUID]:
    """Each planned point's vial: the first of ``vial_ids`` holding its plan's product."""
    session = as_session(plan)
    with reading(db) as uow:
        product_of: dict[str, uuid.UUID] = {}
        for index, vial_id in enumerate(vial_ids):
            vial = uow.vials.find(clinic_id, vial_id)
            if vial is None:
                raise InvalidInputError(
                    f"vials[{index}]", "no such vial in this clinic", "an opened vial's id"
                )
            product_of.setdefault(uow.lots.of_vial(vial).product, vial_id)
    chosen: dict[int, uuid.UUID] = {}
    for one in session.plans:
        if one.product not in product_of:
            raise InvalidInputError(
                "vials", f"no vial of {one.product}", "a vial of every product of the session"
            )
        chosen |= {p.number: product_of[one.product] for p in one.points}
    return chosen


def session_plan(row: TreatmentSession) -> SessionPlan:
    """The session's plan as stored (a one-plan file or a session of several products)."""
    return as_session(read_plan_document(row.plan))


@dataclass(frozen=True)
class ProductFigures:
    """One product of a session and its own figures, in its own units: units of two products
    are never added (a Dysport unit is not a Botox unit)."""

    product: str
    planned_points: int
    planned_units: Decimal
    charted_points: int | None  # None until charted
    total_units: Decimal | None  # units charted of this product; None until charted

    @property
    def units(self) -> Decimal:
        """Charted units once charted, else planned."""
        return self.total_units if self.total_units is not None else self.planned_units


def _planned_by_product(session: SessionPlan) -> dict[str, tuple[int, Decimal]]:
    out: dict[str, tuple[int, Decimal]] = {}
    for one in session.plans:
        points, units = out.get(one.product, (0, Decimal(0)))
        out[one.product] = (
            points + len(one.points),
            units + sum((p.units for p in one.points), Decimal(0)),
        )
    return {k: (n, u.quantize(_Q)) for k, (n, u) in out.items()}


def sync_planned_products(uow: UnitOfWork, row: TreatmentSession, session: SessionPlan) -> None:
    """The session's product rows as its plan says: one per product, in plan order, with the
    product's planned points and units (charted figures kept). In the open transaction."""
    planned = _planned_by_product(session)
    have = {p.product: p for p in uow.sessions.products(row.id)}
    for product, gone in have.items():
        if product not in planned:
            uow.sessions.remove_product(gone)
    for position, (product, (points, units)) in enumerate(planned.items()):
        one = have.get(product)
        if one is None:
            uow.sessions.add(
                SessionProduct(
                    session_id=row.id,
                    product=product,
                    clinic_id=row.clinic_id,
                    position=position,
                    planned_points=points,
                    planned_units=units,
                )
            )
        else:
            one.position, one.planned_points, one.planned_units = position, points, units
    uow.flush()


def product_figures(
    uow: UnitOfWork, rows: Sequence[TreatmentSession]
) -> dict[uuid.UUID, tuple[ProductFigures, ...]]:
    """Each session's products with their own figures, in plan order (read only).

    From ``session_products``; a session recorded before those rows were kept (migration 0013)
    has them derived: a one-product session from the record's own columns, a session of several
    products from its plan (planned) and its vial usage by the vials' products (charted)."""
    stored = uow.sessions.products_of(rows[0].clinic_id, [r.id for r in rows]) if rows else {}
    # Sessions without rows, of one plan: their columns hold their one product's figures (the
    # plan document is not validated again: a tenth of a timeline's time each).
    single = {
        r.id
        for r in rows
        if r.id not in stored and (r.plan or {}).get("schema_version", "1") == "1"
    }
    counts = uow.sessions.point_counts(single) if single else {}
    out: dict[uuid.UUID, tuple[ProductFigures, ...]] = {}
    for row in rows:
        mine = stored.get(row.id)
        if mine:
            out[row.id] = tuple(
                ProductFigures(
                    p.product, p.planned_points, p.planned_units, p.charted_points, p.total_units
                )
                for p in mine
            )
            continue
        if row.id in single:
            out[row.id] = (
                ProductFigures(
                    row.product,
                    len((row.plan or {}).get("points", ())),
                    row.planned_units,
                    None if row.total_units is None else counts.get(row.id, 0),
                    row.total_units,
                ),
            )
            continue
        session = session_plan(row)
        charted: dict[str, list[Decimal]] = defaultdict(list)
        for p in row.points:
            charted[uow.lots.of_vial(uow.vials.by_id(p.vial_id)).product].append(p.units)
        performed = row.performed_at is not None
        out[row.id] = tuple(
            ProductFigures(
                product,
                points,
                units,
                len(charted.get(product, [])) if performed else None,
                sum(charted.get(product, []), Decimal(0)).quantize(_Q) if performed else None,
            )
            for product, (points, units) in _planned_by_product(session).items()
        )
    return out


def session_products(
    db: Database, clinic_id: uuid.UUID, session_id: uuid.UUID
) -> tuple[ProductFigures, ...]:
    """One session's products with their own figures, in plan order."""
    with reading(db) as uow:
        return product_figures(uow, [uow.sessions.get(clinic_id, session_id)])[session_id]


def products_text(figures: Sequence[ProductFigures], name: Any = None) -> str:
    """``botox_cosmetic 24 U · dysport 30 U``: each product with its own units (``name``
    turns a product id into its name)."""
    from dosemap.domain import display

    return " · ".join(
        f"{name(f.product) if name else f.product} {display.units(f.units)}" for f in figures
    )


@retried
def plan_session(
    db: Database,
    clinic_id: uuid.UUID,
    *,
    patient_id: uuid.UUID,
    injector_id: uuid.UUID,
    plan: Plan | SessionPlan,
    scheduled_at: datetime,
    actor: str,
    procedure: str = MICRODOSE_PROCEDURE,
) -> TreatmentSession:
    """Create a session from a plan (status ``planned``).

    A session of several products (:class:`SessionPlan`) is stored whole, with one
    ``session_products`` row per product holding its own figures (units are never added across
    products); the record's ``product`` and ``planned_units`` are its lead (first) product's.
    A plan file is untrusted: each plan's totals are recomputed from its points and its
    points checked (zone, position, units for the volume at the mix's strength) before
    anything is stored."""
    session = as_session(plan)
    first = session.plans[0].product
    if scheduled_at.tzinfo is None:
        raise InvalidInputError("scheduled_at", "has no time zone", "an ISO time with offset")
    for one in session.plans:  # untrusted: every plan's points checked, totals recomputed
        checked_plan_units(one)
    with writing(db) as uow:
        uow.patients.get(clinic_id, patient_id)
        injector = uow.staff.get(clinic_id, injector_id)
        if injector.role not in ("injector", "admin"):
            raise InvalidInputError(
                "injector", f"staff role is {injector.role}", "injector or admin"
            )
        stamp = now()
        row = TreatmentSession(
            id=uuid.uuid4(),
            clinic_id=clinic_id,
            patient_id=patient_id,
            injector_id=injector_id,
            procedure=procedure,
            status="planned",
            product=first,
            plan=plan.model_dump(mode="json"),
            planned_units=session.units_by_product()[first].quantize(_Q),
            scheduled_at=scheduled_at,
            created_at=stamp,
            updated_at=stamp,
        )
        uow.sessions.add(row)
        uow.flush()
        sync_planned_products(uow, row, session)
        uow.audit.record(
            clinic_id=clinic_id,
            actor=actor,
            action="plan",
            entity="session",
            entity_id=row.id,
            before=None,
            after=lambda: uow.sessions.snapshot(row),
        )
        return row


def session_snapshot(uow: UnitOfWork, row: TreatmentSession) -> dict[str, Any]:
    """The session, its chart points and vial usage: what audit digests and amendments keep."""
    return uow.sessions.snapshot(row)


def _apply_chart(
    uow: UnitOfWork,
    row: TreatmentSession,
    chart: ChartInput,
    library: Library,
    actor: str,
    *,
    status: str,
    amending: bool = False,
) -> None:
    """Replace the chart (points, vial usage, vial draws) in the open transaction; the
    session's status becomes ``status`` in the same write of its row. ``amending``: that
    write also counts the amendment and carries the hash of the content it re-attests."""
    in_range("performed_at", chart.performed_at)
    numbers = [p.number for p in chart.points]
    if len(set(numbers)) != len(numbers):
        raise InvalidInputError("points", "point numbers repeat", "unique numbers")
    per_vial: dict[uuid.UUID, list[Decimal]] = defaultdict(list)
    for p in chart.points:
        per_vial[p.vial_id].append(p.units)
    session = session_plan(row)
    # A vial must hold the product of the plan its points belong to (any of the session's
    # products for a point the plan does not hold).
    plan_product = {p.number: one.product for one in session.plans for p in one.points}

    def wrong_product_points(vial_id: uuid.UUID, product: str) -> list[int]:
        numbers = [p.number for p in chart.points if p.vial_id == vial_id]
        return [
            n
            for n in numbers
            if plan_product.get(n, product if product in session.products else "") != product
        ]

    product_of_vial: dict[uuid.UUID, str] = {}
    # What each vial's draw changes by: the new chart's units less what the previous drew.
    delta: dict[uuid.UUID, Decimal] = defaultdict(Decimal)
    for usage in uow.sessions.vial_usage(row.id):
        delta[usage.vial_id] -= usage.units
    fields: dict[uuid.UUID, str] = {}
    for vial_id, units in per_vial.items():
        first = next(i for i, p in enumerate(chart.points) if p.vial_id == vial_id)
        field = fields[vial_id] = f"points[{first}].vial_id"
        vial = uow.vials.find(row.clinic_id, vial_id)
        if vial is None:
            raise InvalidInputError(field, "no such vial in this clinic", "an opened vial's id")
        lot = uow.lots.of_vial(vial)
        wrong = wrong_product_points(vial_id, lot.product)
        if wrong:
            wanted = plan_product.get(wrong[0], " or ".join(session.products))
            raise InvalidInputError(
                field, f"vial holds {lot.product}", f"a {wanted} vial for point {wrong[0]}"
            )
        product_of_vial[vial_id] = lot.product
        if vial.discarded_at is not None and vial.discarded_at <= chart.performed_at:
            raise InvalidInputError(field, "vial was discarded before the session", "an open vial")
        if chart.performed_at < vial.reconstituted_at:
            raise InvalidInputError(
                "performed_at",
                f"is before vial {vial.label} was reconstituted",
                f"at or after {vial.reconstituted_at.isoformat()}",
            )
        delta[vial_id] += sum(units, Decimal(0))
    uow.sessions.clear_chart(row)
    for vial_id, units in per_vial.items():
        uow.sessions.add(
            SessionVialUsage(
                session_id=row.id,
                vial_id=vial_id,
                clinic_id=row.clinic_id,
                points=len(units),
                units=sum(units, Decimal(0)),
            )
        )
    for p in chart.points:
        uow.sessions.add(
            ChartPoint(
                id=uuid.uuid4(),
                clinic_id=row.clinic_id,
                session_id=row.id,
                vial_id=p.vial_id,
                number=p.number,
                zone=p.zone,
                x_mm=p.position_mm[0],
                y_mm=p.position_mm[1],
                z_mm=p.position_mm[2],
                anchor={"vertices": list(p.anchor.vertices), "weights": list(p.anchor.weights)},
                technique=p.technique,
                depth=p.depth,
                volume_ul=p.volume_ul,
                units=p.units,
                mix=p.mix,
            )
        )
    by_product: dict[str, Decimal] = defaultdict(Decimal)
    for p in chart.points:
        by_product[product_of_vial[p.vial_id]] += p.units
    points_of: dict[str, int] = defaultdict(int)
    for p in chart.points:
        points_of[product_of_vial[p.vial_id]] += 1
    sync_planned_products(uow, row, session)  # flushes the chart rows: the session row not yet
    for one in uow.sessions.products(row.id):
        one.charted_points = points_of.get(one.product, 0)
        one.total_units = by_product.get(one.product, Decimal(0)).quantize(_Q)
    # Every change to the session row after the chart rows' flush and before the flush below:
    # the row is written once, one version step (a second write would make the device's next
    # edit stale), and an amendment can hash the stored content before that write.
    row.status = status
    row.performed_at = chart.performed_at
    # Each product's units on its own row; the record's are its lead product's; the
    # Botox-equivalent total adds every product's (converted, never the raw units).
    row.total_units = by_product.get(row.product, Decimal(0))
    row.botox_equivalent_units = sum(
        (
            botox_equivalent_units(units, product, library).default
            for product, units in sorted(by_product.items())
        ),
        Decimal(0),
    ).quantize(_Q, rounding=ROUND_HALF_EVEN)
    row.pain_score = chart.pain_score
    row.numbing = chart.numbing
    row.aftercare = chart.aftercare
    row.updated_at = now()
    if amending:
        row.amendment_count += 1
        # The amended chart is what the record now attests: its hash replaces the signed one.
        # Hashed before the write, from the unflushed row: the flush adds only the version,
        # which the content leaves out, so this is the hash of the content as stored.
        row.signed_content_sha256 = signed_content_sha256(uow.sessions.snapshot(row, flush=False))
    uow.flush()
    # The draws last, in vial order, each one conditional UPDATE: two sessions drawing from one
    # vial never lose an update nor overdraw it, and its row lock is held for the end of the
    # transaction only.
    for vial_id in sorted(d for d in delta if delta[d] != 0):
        drawn = uow.vials.draw(row.clinic_id, vial_id, delta[vial_id])
        if drawn is None:
            vial = uow.vials.by_id(vial_id)
            left = vial.vial_units - vial.units_drawn
            raise InvalidInputError(
                fields.get(vial_id, "points"),
                f"charts {delta[vial_id]} U more from a vial with {left} U left",
                f"<= {left} U",
            )
        after = snap(drawn)
        before = {**after, "units_drawn": drawn.units_drawn - delta[vial_id]}
        before["version"] = drawn.version - 1  # the UPDATE changed exactly these two
        uow.audit.record(  # each vial's draw is audited as its own write
            clinic_id=row.clinic_id,
            actor=actor,
            action="draw",
            entity="vial",
            entity_id=vial_id,
            before=before,
            after=drawn,
        )


@retried
def chart_session(
    db: Database,
    clinic_id: uuid.UUID,
    session_id: uuid.UUID,
    chart: ChartInput,
    library: Library,
    *,
    expected_version: int,
    actor: str,
) -> TreatmentSession:
    """Record (or re-record, before signing) the chart as performed."""
    with writing(db) as uow:
        row = uow.sessions.locked(clinic_id, session_id)
        check_version(row, expected_version, "session")
        if row.status == "signed":
            raise RecordLockedError(f"session {row.id} is signed: amend it with a reason")
        before = uow.sessions.snapshot(row)
        _apply_chart(uow, row, chart, library, actor, status="charted")
        uow.audit.record(
            clinic_id=clinic_id,
            actor=actor,
            action="chart",
            entity="session",
            entity_id=row.id,
            before=before,
            after=lambda: uow.sessions.snapshot(row),
        )
        return row


def _charted_plan(uow: UnitOfWork, row: TreatmentSession, points: list[ChartPoint]) -> SessionPlan:
    """The session's plan with the charted points in place of the planned ones: each charted
    point in the plan holding its number, else in the first plan of its vial's product. Each
    plan's totals are recomputed from its charted points."""
    from dosemap.domain.planning.planner import as_charted  # numpy and the mesh: only when used

    session = session_plan(row)
    product_of_vial = {
        vial_id: uow.lots.of_vial(uow.vials.by_id(vial_id)).product
        for vial_id in {p.vial_id for p in points}
    }
    owner = {p.number: index for index, one in enumerate(session.plans) for p in one.points}
    first_of: dict[str, int] = {}
    for index, one in enumerate(session.plans):
        first_of.setdefault(one.product, index)
    charted: list[list[PlannedPoint]] = [[] for _ in session.plans]
    for p in points:
        fallback = first_of.get(product_of_vial[p.vial_id], 0)
        index = owner.get(p.number, fallback)
        charted[index].append(
            PlannedPoint(
                number=p.number,
                zone=p.zone,
                position_mm=(p.x_mm, p.y_mm, p.z_mm),
                anchor=MeshAnchor(
                    vertices=tuple(p.anchor["vertices"]), weights=tuple(p.anchor["weights"])
                ),
                technique=p.technique,
                depth=p.depth,
                volume_ul=p.volume_ul,
                units=p.units,
            )
        )
    plans = tuple(
        as_charted(one, tuple(mine)) for one, mine in zip(session.plans, charted, strict=True)
    )
    return session.model_copy(update={"plans": plans})


def recorded_treatments(
    uow: UnitOfWork, row: TreatmentSession, at: datetime
) -> tuple[PriorTreatment, ...]:
    """The patient's own sessions in this record performed before ``at``, as prior treatments.

    These always count, whatever the intake's date: the intake's self-reported history adds to
    them, it never replaces them (:func:`dosemap.domain.intake.merge_history`).
    """
    prior = uow.sessions.performed_before(row.clinic_id, row.patient_id, at, row.id)
    treatments = []
    for p in sorted(prior, key=lambda s: (s.performed_at, str(s.id))):
        if p.performed_at is None or (
            not p.total_units and (p.plan or {}).get("schema_version", "1") == "1"
        ):
            continue
        if (p.plan or {}).get("schema_version", "1") == "1":
            zones = [z.get("zone", "") for z in (p.plan or {}).get("summary", {}).get("zones", [])]
            treatments.append(
                PriorTreatment(
                    treated_on=p.performed_at.date(),
                    product=p.product,
                    units=p.total_units,
                    zones=tuple(z for z in zones if z),
                )
            )
            continue
        # A session of several products: per product, from the chart as performed.
        points = uow.sessions.chart_points(p.id)
        for one in _charted_plan(uow, p, points).plans:
            units = sum((q.units for q in one.points), Decimal(0))
            if not units:
                continue
            treatments.append(
                PriorTreatment(
                    treated_on=p.performed_at.date(),
                    product=one.product,
                    units=units,
                    zones=tuple(dict.fromkeys(q.zone for q in one.points)),
                )
            )
    return tuple(treatments)


def safety_inputs(
    uow: UnitOfWork, row: TreatmentSession
) -> tuple[SessionPlan, IntakeAnswers | None, SessionContext]:
    """Build the core's inputs from the database: the chart as a plan, the intake with the
    record's own earlier sessions merged into its history, and the context with the vials
    actually used."""
    points = uow.sessions.chart_points(row.id)
    plan = _charted_plan(uow, row, points) if points else session_plan(row)
    intake, context = _intake_and_context(uow, row, points)
    return plan, intake, context


def intake_and_context(
    uow: UnitOfWork, row: TreatmentSession
) -> tuple[IntakeAnswers | None, SessionContext]:
    """What :func:`safety_inputs` gives besides the plan, for a caller that has the plan
    already (the editor: reading the plan document again cost a tenth of an edit)."""
    return _intake_and_context(uow, row, uow.sessions.chart_points(row.id))


def _intake_and_context(
    uow: UnitOfWork, row: TreatmentSession, points: list[ChartPoint]
) -> tuple[IntakeAnswers | None, SessionContext]:
    at = row.performed_at or row.scheduled_at
    intake_row = uow.patients.latest_intake(row.clinic_id, row.patient_id, at)
    intake: IntakeAnswers | None = None
    if intake_row is not None:
        intake = IntakeAnswers.model_validate(intake_row.answers)
    vial_ids = {p.vial_id for p in points}
    vials = []
    for vial_id in sorted(vial_ids):
        vial = uow.vials.by_id(vial_id)
        lot = uow.lots.of_vial(vial)
        vials.append(
            VialInUse(
                product=lot.product,
                lot=lot.lot_number,
                lot_expiry=lot.expires_on,
                reconstituted_at=vial.reconstituted_at,
                beyond_use_policy=vial.beyond_use_policy,
                beyond_use_at=vial.beyond_use_at,
            )
        )
    context = SessionContext(
        treatment_at=at, vials=tuple(vials), recorded_treatments=recorded_treatments(uow, row, at)
    )
    return intake, context


def evaluate_session(uow: UnitOfWork, row: TreatmentSession, library: Library) -> tuple[Any, ...]:
    """The core's safety findings for this session as charted."""
    from dosemap.domain.safety import evaluate
    from dosemap.resources import template_mesh

    plan, intake, context = safety_inputs(uow, row)
    return tuple(evaluate(plan, library, intake=intake, context=context, mesh=template_mesh()))


def session_findings(
    db: Database, clinic_id: uuid.UUID, session_id: uuid.UUID, library: Library
) -> tuple[Any, ...]:
    """Safety findings for a session (read only)."""
    with reading(db) as uow:
        return evaluate_session(uow, uow.sessions.get(clinic_id, session_id), library)


@retried
def sign_session(
    db: Database,
    clinic_id: uuid.UUID,
    session_id: uuid.UUID,
    library: Library,
    *,
    signer_id: uuid.UUID,
    expected_version: int,
    actor: str,
    at: datetime | None = None,
) -> TreatmentSession:
    """Sign a charted session, locking it, and schedule its follow-ups.

    Raises :class:`SigningRefusedError` listing every reason when a safety finding blocks, the
    signer may not sign (role, deactivated, no credential covering the procedure under the
    clinic's policy on the day and today), the injector's credential does not cover it, or no
    consent is on file. ``actor`` must be an active staff member of the clinic.
    """
    with writing(db) as uow:
        row = uow.sessions.locked(clinic_id, session_id)
        check_version(row, expected_version, "session")
        if row.status != "charted":
            raise RecordLockedError(
                f"session {row.id} is {row.status}: only a charted session can be signed"
            )
        signer = uow.staff.get(clinic_id, signer_id)
        acting_staff(uow, clinic_id, actor)  # the actor of a signature is a known, active person
        assert row.performed_at is not None
        clinic = uow.clinics.get(clinic_id)
        signed_at = at or now()
        # Who signs: role, active, a credential covering the procedure (the clinic's policy).
        reasons = signer_problems(
            uow, clinic, signer, row.procedure, row.performed_at.date(), signed_at.date()
        )
        if signer.id != row.injector_id:
            reasons += credential_problems(
                uow, clinic, row.injector_id, row.procedure, row.performed_at.date()
            )
        if not uow.patients.consent_on_file(
            clinic_id, row.patient_id, row.procedure, row.performed_at
        ):
            reasons.append(f"no signed consent for {row.procedure} before the session")
        for finding in evaluate_session(uow, row, library):
            if finding.severity == "block":
                reasons.append(f"{finding.code}: {finding.title}")
        if reasons:
            raise SigningRefusedError(reasons)
        before = uow.sessions.snapshot(row)
        content = signed_content_sha256(before)  # the chart and clinical fields signed
        row.status = "signed"
        row.signed_at = signed_at
        row.signed_by = signer_id
        row.signed_content_sha256 = content
        uow.audit.record(
            clinic_id=clinic_id,
            actor=actor,
            action="sign",
            entity="session",
            entity_id=row.id,
            before=before,
            after=lambda: uow.sessions.snapshot(row),
            content_sha256=content,
        )
        _schedule_followups(uow, row, library, actor)
        return row


def followups_for(
    row: TreatmentSession,
    library: Library,
    created_at: datetime,
    earlier: Sequence[date] = (),
) -> list[FollowUp]:
    """The review and retreatment visits a signed session calls for (not yet added).

    ``earlier``: the days of the patient's earlier treatments with the same product; with
    enough returns among them, the patient's own interval sets the retreatment date
    (:func:`dosemap.domain.retreatment.suggest_retreatment`), both reasons in its basis.
    """
    assert row.performed_at is not None
    day: date = row.performed_at.date()
    # A session of several products: the shortest of their minimum intervals, so the visit
    # is offered no later than the earliest product allows (the checker warns per product).
    products = session_plan(row).products if row.plan else (row.product,)
    retreat = min(
        (library.product(p).min_retreatment_days for p in products), key=lambda c: c.value
    )
    which = row.product if len(products) == 1 else "shortest of " + ", ".join(products) + ":"
    suggestion = suggest_retreatment(
        day,
        earlier if len(products) == 1 else (),
        cited_days=int(retreat.value),
        booster_days=int(library.figure("booster_days").value),
        min_returns=int(library.figure("own_response_min_returns").value),
    )
    # A review visit after onset: the library's review_after_days (effects show in 5-14 days).
    review = library.figure("review_after_days")
    review_days = int(review.value)
    plans = [
        (
            "review",
            day + timedelta(days=review_days),
            f"review {review_days} days after treatment {review.cite()}",
        ),
        (
            "retreatment",
            suggestion.due_on,
            retreatment_basis(
                suggestion,
                f"{which} minimum retreatment interval {retreat.value} days {retreat.cite()}",
            ),
        ),
    ]
    return [
        FollowUp(
            id=uuid.uuid4(),
            clinic_id=row.clinic_id,
            patient_id=row.patient_id,
            session_id=row.id,
            kind=kind,
            due_on=due,
            status="open",
            basis=basis[:200],
            created_at=created_at,
        )
        for kind, due, basis in plans
    ]


def retreatment_basis(suggestion: RetreatmentSuggestion, cited: str) -> str:
    """Why the retreatment date: the cited interval and the patient's own, both (cut to the
    record's 200 characters)."""
    return f"cited: {cited}; {suggestion.patient_reason()}"[:200]


def _schedule_followups(
    uow: UnitOfWork, row: TreatmentSession, library: Library, actor: str
) -> None:
    assert row.performed_at is not None
    earlier = [
        s.performed_at.date()
        for s in uow.sessions.performed_before(
            row.clinic_id, row.patient_id, row.performed_at, row.id
        )
        if s.performed_at is not None and s.product == row.product
    ]
    for fu in followups_for(row, library, now(), earlier):
        uow.followups.add(fu)
        uow.audit.record(
            clinic_id=row.clinic_id,
            actor=actor,
            action="schedule",
            entity="followup",
            entity_id=fu.id,
            before=None,
            after=fu,
        )


@retried
def amend_session(
    db: Database,
    clinic_id: uuid.UUID,
    session_id: uuid.UUID,
    chart: ChartInput,
    library: Library,
    *,
    reason: str,
    amended_by: uuid.UUID,
    expected_version: int,
    actor: str,
) -> Amendment:
    """Change a signed session's chart; the record as it was is kept with the reason."""
    if not reason.strip():
        raise InvalidInputError("reason", "is empty", "why the signed record is changed")
    with writing(db) as uow:
        row = uow.sessions.locked(clinic_id, session_id)
        check_version(row, expected_version, "session")
        if row.status != "signed":
            raise InvalidInputError(
                "session", f"is {row.status}", "a signed session (re-chart it instead)"
            )
        amender = uow.staff.get(clinic_id, amended_by)
        acting_staff(uow, clinic_id, actor)
        assert row.performed_at is not None
        reasons = signer_problems(
            uow,
            uow.clinics.get(clinic_id),
            amender,
            row.procedure,
            row.performed_at.date(),
            now().date(),
        )
        if reasons:  # an amendment re-attests the record: the same rule as signing
            raise SigningRefusedError(reasons)
        before = uow.sessions.snapshot(row)
        _apply_chart(uow, row, chart, library, actor, status="signed", amending=True)
        after = uow.sessions.snapshot(row)  # as stored: one write, the new hash with it
        content = row.signed_content_sha256
        amendment = Amendment(
            id=uuid.uuid4(),
            clinic_id=clinic_id,
            session_id=row.id,
            number=row.amendment_count,
            reason=reason.strip(),
            amended_by=amended_by,
            amended_at=now(),
            before=_canonical(before),
            before_digest=digest(before),
            after_digest=digest(after),
        )
        uow.sessions.add(amendment)
        uow.audit.record(
            clinic_id=clinic_id,
            actor=actor,
            action="amend",
            entity="session",
            entity_id=row.id,
            before=before,
            after=lambda: uow.sessions.snapshot(row),
            content_sha256=content,
        )
        uow.audit.record(
            clinic_id=clinic_id,
            actor=actor,
            action="create",
            entity="amendment",
            entity_id=amendment.id,
            before=None,
            after=amendment,
        )
        return amendment


def get_session(db: Database, clinic_id: uuid.UUID, session_id: uuid.UUID) -> TreatmentSession:
    """A session with its chart points loaded."""
    with reading(db) as uow:
        return uow.sessions.get_with_points(clinic_id, session_id)


def amendments(db: Database, clinic_id: uuid.UUID, session_id: uuid.UUID) -> list[Amendment]:
    """A session's amendments, oldest first."""
    with reading(db) as uow:
        return uow.sessions.amendments(clinic_id, session_id)
