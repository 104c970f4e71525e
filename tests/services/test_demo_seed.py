"""The demo clinic's bulk seed: whole, consistent records and an unbroken audit chain."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from dosemap.persistence import models as m
from dosemap.persistence.audit_verify import verify_all
from dosemap.persistence.db import Database
from dosemap.services.demo import seed_demo_clinic

TODAY = date(2026, 11, 20)


def test_the_demo_seed_is_whole_and_audited(db: Database, library) -> None:
    summary = seed_demo_clinic(db, patients=6, months=12, today=TODAY, library=library)
    assert summary.created and summary.patients == 6 and summary.sessions > 6
    again = seed_demo_clinic(db, patients=6, months=12, today=TODAY, library=library)
    assert not again.created and again.sessions == summary.sessions
    with db.read() as s:
        # Every record's current state matches its audit entry (for a session, the same
        # snapshot with points and vial usage the services digest), the chain is whole.
        report = verify_all(s, None)
        assert report.ok, [str(p) for p in report.problems[:5]]
        entries = {e.entity_id: e for e in s.execute(select(m.AuditEntry)).scalars()}
        assert report.records_checked == len(entries)
        rows = list(s.execute(select(m.TreatmentSession)).scalars())
        assert len(rows) == summary.sessions
        for row in rows:
            points = s.execute(
                select(func.count(), func.sum(m.ChartPoint.units)).where(
                    m.ChartPoint.session_id == row.id
                )
            ).one()
            plan_points = len(row.plan["points"])
            assert points[0] == plan_points and points[1] == row.total_units
            followups = s.execute(
                select(func.count()).where(m.FollowUp.session_id == row.id)
            ).scalar_one()
            assert followups == (2 if row.status == "signed" else 0)
        # Vials: what was drawn is what the charts used plus what was wasted at discard.
        for vial in s.execute(select(m.Vial)).scalars():
            used = s.execute(
                select(func.coalesce(func.sum(m.SessionVialUsage.units), 0)).where(
                    m.SessionVialUsage.vial_id == vial.id
                )
            ).scalar_one()
            assert vial.units_drawn == Decimal(used) + vial.units_wasted
            assert vial.units_drawn <= vial.vial_units
            if vial.beyond_use_at.date() < TODAY:
                assert vial.discarded_at is not None
        # Follow-ups long past were closed; recent ones are still due.
        open_due = s.execute(
            select(func.min(m.FollowUp.due_on)).where(m.FollowUp.status == "open")
        ).scalar_one()
        assert open_due is None or open_due >= TODAY - timedelta(days=21)
