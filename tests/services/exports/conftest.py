"""A charted, signed session on the test clinic, shared by the export tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest

from dosemap.persistence.models import TreatmentSession
from dosemap.services import followups, sessions
from support.clinic import T0, SeededClinic, make_plan


@dataclass
class Treated:
    """The test clinic after one signed session and an adverse event."""

    clinic: SeededClinic
    session: TreatmentSession
    adverse_event_id: uuid.UUID


def treat(clinic: SeededClinic, n_points: int = 6) -> TreatmentSession:
    """Plan, chart as planned (pain 3, topical numbing) and sign one session at T0."""
    plan = make_plan(n_points)
    row = sessions.plan_session(
        clinic.db,
        clinic.clinic_id,
        patient_id=clinic.patient_id,
        injector_id=clinic.injector,
        plan=plan,
        scheduled_at=T0,
        actor="t",
    )
    chart = sessions.ChartInput(
        performed_at=T0,
        points=sessions.chart_as_planned(plan, clinic.vial_id),
        pain_score=3,
        numbing="topical lidocaine 4%",
    )
    row = sessions.chart_session(
        clinic.db, clinic.clinic_id, row.id, chart, clinic.library, expected_version=1, actor="t"
    )
    return sessions.sign_session(
        clinic.db,
        clinic.clinic_id,
        row.id,
        clinic.library,
        signer_id=clinic.injector,
        expected_version=row.version,
        actor=str(clinic.injector),  # a signature's actor is a known, active staff member
        at=T0 + timedelta(minutes=30),
    )


@pytest.fixture
def treated(clinic: SeededClinic) -> Treated:
    row = treat(clinic)
    event = followups.record_adverse_event(
        clinic.db,
        clinic.clinic_id,
        clinic.patient_id,
        followups.AdverseEventInput(
            session_id=row.id,
            kind="bruising",
            onset_at=T0 + timedelta(days=1),
            severity="mild",
            action="=cold compress",  # a spreadsheet would run this as a formula
            outcome="resolved in 3 days",
        ),
        actor="t",
    )
    return Treated(clinic, sessions.get_session(clinic.db, clinic.clinic_id, row.id), event.id)
