"""Records the desk pages (vials, follow-ups, adverse events, staff) need in the web world:
clinic A's patient treated in a signed session (so follow-ups are due and a lot was charted),
clinic B's lot, vial, follow-up and adverse event, so that the authorisation matrix names a
real record of the other clinic."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from dosemap.persistence.db import Database
from dosemap.persistence.models import FollowUp
from dosemap.persistence.unit_of_work import writing
from dosemap.resources import load_library
from dosemap.services import accounts, followups, sessions, staff, vials
from support.clinic import T0, SeededClinic, make_plan

if TYPE_CHECKING:
    from support.web import ClinicSide

#: A day after every follow-up the world schedules.
FAR_AHEAD = date(2100, 1, 1)


def treat_own(seeded: SeededClinic, side: ClinicSide) -> None:
    """Plan, chart (from the seeded vial) and sign one session at T0, then record a bruise."""
    plan = make_plan(6)
    db, cid = seeded.db, seeded.clinic_id
    row = sessions.plan_session(
        db,
        cid,
        patient_id=seeded.patient_id,
        injector_id=seeded.injector,
        plan=plan,
        scheduled_at=T0,
        actor="test",
    )
    chart = sessions.ChartInput(
        performed_at=T0, points=sessions.chart_as_planned(plan, seeded.vial_id), pain_score=2
    )
    row = sessions.chart_session(
        db, cid, row.id, chart, seeded.library, expected_version=1, actor="test"
    )
    row = sessions.sign_session(
        db,
        cid,
        row.id,
        seeded.library,
        signer_id=seeded.injector,
        expected_version=row.version,
        actor=str(seeded.injector),
        at=T0 + timedelta(minutes=30),
    )
    event = followups.record_adverse_event(
        db,
        cid,
        seeded.patient_id,
        followups.AdverseEventInput(
            session_id=row.id,
            kind="bruising",
            onset_at=T0 + timedelta(days=1),
            severity="mild",
            action="cold compress",
            outcome="resolved in 3 days",
        ),
        actor="test",
    )
    due = followups.followups_due(db, cid, FAR_AHEAD)
    side.records.update(
        lot_id=seeded.lot_id,
        vial_id=seeded.vial_id,
        session_id=row.id,
        followup_id=due[0].followup_id,
        adverse_event_id=event.id,
        staff_id=seeded.injector,
    )


def add_desk_records(db: Database, side: ClinicSide) -> None:
    """A lot, an open vial, a planned session with a follow-up and an adverse event in
    ``side``'s clinic (the other one), named in ``side.records``."""
    library = load_library()
    cid = side.clinic_id
    lot = vials.receive_lot(
        db,
        cid,
        vials.LotInput(
            product="botox_cosmetic", lot_number="B-LOT-9", expires_on=date(2031, 1, 31)
        ),
        library,
        actor="test",
    )
    vial = vials.open_vial(
        db,
        cid,
        vials.VialInput(
            lot_id=lot.id,
            label="B-V1",
            vial_units=Decimal(100),
            diluent_ml=Decimal("2.5"),
            reconstituted_at=datetime(2026, 1, 1, 9, 0, tzinfo=UTC),
        ),
        library,
        actor="test",
    )
    injector = staff.add_staff(
        db, cid, staff.StaffInput(display_name="Bo Injector", role="injector"), actor="test"
    )
    row = sessions.plan_session(
        db,
        cid,
        patient_id=side.patient_id,
        injector_id=injector.id,
        plan=make_plan(2),
        scheduled_at=T0,
        actor="test",
    )
    with writing(db) as uow:  # a follow-up as signing would schedule it (B's session is unsigned)
        fu = FollowUp(
            id=uuid.uuid4(),
            clinic_id=cid,
            patient_id=side.patient_id,
            session_id=row.id,
            kind="review",
            due_on=T0.date(),
            status="open",
            basis="test",
            created_at=T0,
        )
        uow.followups.add(fu)
        uow.audit.record(
            clinic_id=cid,
            actor="test",
            action="schedule",
            entity="followup",
            entity_id=fu.id,
            before=None,
            after=fu,
        )
    event = followups.record_adverse_event(
        db,
        cid,
        side.patient_id,
        followups.AdverseEventInput(kind="swelling", onset_at=T0, severity="moderate"),
        actor="test",
    )
    side.records.update(
        lot_id=lot.id,
        vial_id=vial.id,
        session_id=row.id,
        followup_id=fu.id,
        adverse_event_id=event.id,
        staff_id=injector.id,
    )


def add_spare_login(db: Database, side: ClinicSide, prefix: str) -> None:
    """A front-desk login no test client signs in with: the matrix may change its role or
    deactivate it without locking out the per-role clients."""
    spare = accounts.create_account(
        db,
        side.clinic_id,
        accounts.AccountInput(
            username=f"{prefix}-spare",
            display_name=f"{prefix} spare",
            role="front_desk",
            password="a long enough password",
        ),
        actor="test",
    )
    side.records["account_id"] = spare.id
