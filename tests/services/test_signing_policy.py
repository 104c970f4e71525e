"""Only those the clinic's policy allows may sign or amend; the actor is a known, active person."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from dosemap.domain.errors import InvalidInputError
from dosemap.persistence.errors import SigningRefusedError
from dosemap.services import sessions, staff
from dosemap.services.sessions import ChartInput
from support.clinic import T0, SeededClinic, make_plan, sign


def _charted(c: SeededClinic):
    plan = make_plan(4)
    row = sessions.plan_session(
        c.db,
        c.clinic_id,
        patient_id=c.patient_id,
        injector_id=c.injector,
        plan=plan,
        scheduled_at=T0,
        actor=str(c.injector),
    )
    return sessions.chart_session(
        c.db,
        c.clinic_id,
        row.id,
        ChartInput(performed_at=T0, points=sessions.chart_as_planned(plan, c.vial_id)),
        c.library,
        expected_version=row.version,
        actor=str(c.injector),
    )


def _member(c: SeededClinic, name: str, role: str, cred: tuple[str, str, date] | None = None):
    m = staff.add_staff(
        c.db, c.clinic_id, staff.StaffInput(display_name=name, role=role), actor=str(c.admin)
    )
    if cred:
        staff.add_credential(
            c.db,
            c.clinic_id,
            m.id,
            staff.CredentialInput(
                type=cred[0], number="N-" + name, jurisdiction=cred[1], expires_on=cred[2]
            ),
            actor=str(c.admin),
        )
    return m


def test_front_desk_cannot_sign(clinic: SeededClinic) -> None:
    row = _charted(clinic)
    with pytest.raises(SigningRefusedError, match="front_desk"):
        sign(clinic, row, clinic.desk)


def test_admin_without_a_credential_cannot_sign(clinic: SeededClinic) -> None:
    row = _charted(clinic)
    with pytest.raises(SigningRefusedError, match="signer holds no"):
        sign(clinic, row, clinic.admin)


def test_deactivated_injector_cannot_sign_or_act(clinic: SeededClinic) -> None:
    row = _charted(clinic)
    staff.set_staff_active(clinic.db, clinic.clinic_id, clinic.injector, False, actor="t")
    with pytest.raises(InvalidInputError, match="deactivated"):
        sign(clinic, row, clinic.injector)
    nurse = _member(clinic, "Nora", "injector", ("RN", "US-CA", date(2030, 1, 1)))
    with pytest.raises(SigningRefusedError, match="deactivated"):
        sign(clinic, row, clinic.injector, actor=str(nurse.id))


def test_actor_must_be_a_known_staff_member(clinic: SeededClinic) -> None:
    row = _charted(clinic)
    for actor in ("cli", "t", str(uuid.uuid4())):
        with pytest.raises(InvalidInputError, match="actor"):
            sign(clinic, row, clinic.injector, actor=actor)


def test_credential_of_another_jurisdiction_or_expired_by_signing_day(clinic: SeededClinic) -> None:
    row = _charted(clinic)
    elsewhere = _member(clinic, "Tex", "injector", ("RN", "US-TX", date(2030, 1, 1)))
    with pytest.raises(SigningRefusedError, match="signer holds no MD/NP/RN credential"):
        sign(clinic, row, elsewhere.id)
    lapsing = _member(clinic, "Lapse", "injector", ("MD", "US-CA", T0.date() + timedelta(days=3)))
    with pytest.raises(SigningRefusedError, match="signer's credential expired"):
        sign(clinic, row, lapsing.id, at=T0 + timedelta(days=10))
    signed = sign(clinic, row, lapsing.id, at=T0 + timedelta(hours=1))
    assert signed.status == "signed" and signed.signed_content_sha256


def test_credentialed_md_signs_for_the_injector(clinic: SeededClinic) -> None:
    md = _member(clinic, "Dr Who", "admin", ("MD", "US-CA", date(2031, 1, 1)))
    row = _charted(clinic)
    assert sign(clinic, row, md.id).signed_by == md.id


def test_amending_follows_the_signing_rule(clinic: SeededClinic) -> None:
    row = sign(clinic, _charted(clinic), clinic.injector)
    chart = ChartInput(
        performed_at=T0, points=sessions.chart_as_planned(make_plan(3), clinic.vial_id)
    )
    with pytest.raises(SigningRefusedError, match="front_desk"):
        sessions.amend_session(
            clinic.db,
            clinic.clinic_id,
            row.id,
            chart,
            clinic.library,
            reason="fewer points",
            amended_by=clinic.desk,
            expected_version=row.version,
            actor=str(clinic.desk),
        )


def test_policy_credential_types_are_upper_case_and_not_repeated(clinic: SeededClinic) -> None:
    policy = staff.allow_procedure(
        clinic.db,
        clinic.clinic_id,
        procedure=staff.MICRODOSE_PROCEDURE,
        credential_type=" pa ",
        jurisdiction="us-ca",
        actor=str(clinic.admin),
    )
    assert (policy.credential_type, policy.jurisdiction) == ("PA", "US-CA")
    with pytest.raises(InvalidInputError, match="already"):
        staff.allow_procedure(
            clinic.db,
            clinic.clinic_id,
            procedure=staff.MICRODOSE_PROCEDURE,
            credential_type="RN",
            jurisdiction="US-CA",
            actor=str(clinic.admin),
        )
