"""A chart that differs from its plan is checked as charted: the totals come from the charted
points, so a point left out does not read as a contradicted summary (DM109) and block signing."""

from __future__ import annotations

from decimal import Decimal

from dosemap.services import sessions
from dosemap.services.exports import pdf_documents
from support.clinic import T0, SeededClinic, make_plan


def test_a_chart_with_fewer_points_than_planned_signs(clinic: SeededClinic) -> None:
    plan = make_plan(6)
    row = sessions.plan_session(
        clinic.db,
        clinic.clinic_id,
        patient_id=clinic.patient_id,
        injector_id=clinic.injector,
        plan=plan,
        scheduled_at=T0,
        actor=str(clinic.injector),
    )
    chart = sessions.ChartInput(
        performed_at=T0, points=sessions.chart_as_planned(plan, clinic.vial_id)[:5]
    )
    row = sessions.chart_session(
        clinic.db,
        clinic.clinic_id,
        row.id,
        chart,
        clinic.library,
        expected_version=1,
        actor=str(clinic.injector),
    )
    found = sessions.session_findings(clinic.db, clinic.clinic_id, row.id, clinic.library)
    assert "DM109-SUMMARY-MISMATCH" not in {f.code for f in found}
    signed = sessions.sign_session(
        clinic.db,
        clinic.clinic_id,
        row.id,
        clinic.library,
        signer_id=clinic.injector,
        expected_version=row.version,
        actor=str(clinic.injector),
    )
    assert signed.status == "signed" and signed.total_units == Decimal("1.0")
    charted = pdf_documents.charted_plan(
        signed, sessions.get_session(clinic.db, clinic.clinic_id, row.id).points
    )
    assert charted.summary.needle_entries == 5 and charted.summary.total_units == Decimal("1.0")
