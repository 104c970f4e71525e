"""Signing suggests the retreatment from the cited interval and the patient's own returns."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from dosemap.services import charting, sessions, vials
from support.clinic import T0, SeededClinic, make_plan


def _treated(c: SeededClinic, days: int) -> list[charting.FollowUpView]:
    """Plan, chart (from a vial opened that morning) and sign a session ``days`` after T0."""
    at = T0 + timedelta(days=days)
    vial = vials.open_vial(
        c.db, c.clinic_id,
        vials.VialInput(lot_id=c.lot_id, label=f"V-{days}", vial_units=Decimal(100),
                        diluent_ml=Decimal("2.5"), reconstituted_at=at - timedelta(hours=1)),
        c.library, actor="test",
    )  # fmt: skip
    plan = make_plan(6)
    row = sessions.plan_session(
        c.db, c.clinic_id, patient_id=c.patient_id, injector_id=c.injector, plan=plan,
        scheduled_at=at, actor="test",
    )  # fmt: skip
    chart = sessions.ChartInput(performed_at=at, points=sessions.chart_as_planned(plan, vial.id))
    row = sessions.chart_session(
        c.db, c.clinic_id, row.id, chart, c.library, expected_version=1, actor="test"
    )
    sessions.sign_session(
        c.db, c.clinic_id, row.id, c.library, signer_id=c.injector,
        expected_version=row.version, actor=str(c.injector), at=at + timedelta(minutes=30),
    )  # fmt: skip
    return charting.session_followups(c.db, c.clinic_id, row.id)


def _retreatment(found: list[charting.FollowUpView]) -> charting.FollowUpView:
    return next(f for f in found if f.kind == "retreatment")


def test_the_patients_own_interval_once_enough_returns(clinic: SeededClinic) -> None:
    first = _retreatment(_treated(clinic, 0))
    assert first.due_on == T0.date() + timedelta(days=90)
    assert first.basis.startswith(
        "cited: botox_cosmetic minimum retreatment interval 90 days [LABEL]"
    )
    assert first.basis.endswith("this patient: no return on record")
    second = _retreatment(_treated(clinic, 112))
    assert second.due_on == T0.date() + timedelta(days=112 + 90)  # one return: too few
    assert "returned after 16 weeks over 2 sessions" in second.basis
    _treated(clinic, 126)  # a top-up two weeks later: not a return
    third = _retreatment(_treated(clinic, 112 + 105))
    assert third.due_on == T0.date() + timedelta(days=112 + 105 + 105)
    assert "cited: botox_cosmetic minimum retreatment interval 90 days" in third.basis
    assert "this patient: returned after 15–16 weeks over 3 sessions (median 105 d), used" in (
        third.basis
    )
