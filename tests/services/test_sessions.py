"""Plan → chart → sign → amend, on both back ends."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from dosemap.domain.errors import InvalidInputError
from dosemap.persistence.audit import verify_chain
from dosemap.persistence.audit_verify import verify_all
from dosemap.persistence.errors import ConflictError, RecordLockedError, SigningRefusedError
from dosemap.services import reporting, sessions, staff, vials
from dosemap.services.sessions import ChartInput
from support.clinic import T0, SeededClinic, make_plan, sign


def _planned(c: SeededClinic, n_points: int = 6):
    plan = make_plan(n_points)
    row = sessions.plan_session(
        c.db,
        c.clinic_id,
        patient_id=c.patient_id,
        injector_id=c.injector,
        plan=plan,
        scheduled_at=T0,
        actor=str(c.injector),
    )
    return plan, row


def _chart(c: SeededClinic, plan, row, *, performed_at=T0, vial_id=None):
    chart = ChartInput(
        performed_at=performed_at,
        pain_score=2,
        numbing="topical lidocaine",
        aftercare="no massage 4 h",
        points=sessions.chart_as_planned(plan, vial_id or c.vial_id),
    )
    return sessions.chart_session(
        c.db,
        c.clinic_id,
        row.id,
        chart,
        c.library,
        expected_version=row.version,
        actor=str(c.injector),
    )


def test_chart_stores_points_usage_and_equivalents(clinic: SeededClinic) -> None:
    plan, row = _planned(clinic)
    charted = _chart(clinic, plan, row)
    got = sessions.get_session(clinic.db, clinic.clinic_id, row.id)
    assert charted.status == "charted"
    assert [p.number for p in got.points] == [p.number for p in plan.points]
    assert got.total_units == sum((p.units for p in plan.points), Decimal(0))
    assert got.botox_equivalent_units == got.total_units  # Botox itself: same units
    assert all(p.vial_id == clinic.vial_id for p in got.points)
    [rec] = vials.reconcile(clinic.db, clinic.clinic_id, [clinic.vial_id])
    assert rec.units_charted == got.total_units == rec.units_drawn
    assert rec.unaccounted == 0


def test_rechart_gives_back_the_previous_draw(clinic: SeededClinic) -> None:
    plan, row = _planned(clinic, 6)
    row = _chart(clinic, plan, row)
    smaller = make_plan(3)
    chart = ChartInput(performed_at=T0, points=sessions.chart_as_planned(smaller, clinic.vial_id))
    sessions.chart_session(
        clinic.db,
        clinic.clinic_id,
        row.id,
        chart,
        clinic.library,
        expected_version=row.version,
        actor="t",
    )
    [rec] = vials.reconcile(clinic.db, clinic.clinic_id, [clinic.vial_id])
    assert rec.units_drawn == sum((p.units for p in smaller.points), Decimal(0))


def test_two_people_saving_the_same_session_conflict(clinic: SeededClinic) -> None:
    plan, row = _planned(clinic)
    stale_version = row.version
    _chart(clinic, plan, row)
    chart = ChartInput(performed_at=T0, points=sessions.chart_as_planned(plan, clinic.vial_id))
    with pytest.raises(ConflictError, match="changed by someone else"):
        sessions.chart_session(
            clinic.db,
            clinic.clinic_id,
            row.id,
            chart,
            clinic.library,
            expected_version=stale_version,
            actor="t",
        )


def test_vial_of_another_product_is_refused_naming_the_field(clinic: SeededClinic) -> None:
    lot = vials.receive_lot(
        clinic.db,
        clinic.clinic_id,
        vials.LotInput(product="dysport", lot_number="D1", expires_on=date(2027, 1, 1)),
        clinic.library,
        actor="t",
    )
    dys = vials.open_vial(
        clinic.db,
        clinic.clinic_id,
        vials.VialInput(
            lot_id=lot.id,
            label="V-D",
            vial_units=Decimal(300),
            diluent_ml=Decimal("2.5"),
            reconstituted_at=T0 - timedelta(hours=1),
        ),
        clinic.library,
        actor="t",
    )
    plan, row = _planned(clinic)
    with pytest.raises(InvalidInputError) as err:
        _chart(clinic, plan, row, vial_id=dys.id)
    assert err.value.field == "points[0].vial_id"
    got = sessions.get_session(clinic.db, clinic.clinic_id, row.id)
    assert got.status == "planned" and got.points == []  # nothing half-written


def test_charting_more_than_the_vial_holds_is_refused(clinic: SeededClinic) -> None:
    plan = make_plan(20, volume_ul="50", units_per_ml="120")  # 6 U a point, 120 U in all
    row = sessions.plan_session(
        clinic.db,
        clinic.clinic_id,
        patient_id=clinic.patient_id,
        injector_id=clinic.injector,
        plan=plan,
        scheduled_at=T0,
        actor="t",
    )
    with pytest.raises(InvalidInputError, match="left"):
        _chart(clinic, plan, row)
    [rec] = vials.reconcile(clinic.db, clinic.clinic_id, [clinic.vial_id])
    assert rec.units_drawn == 0


def test_signing_locks_and_schedules_followups(clinic: SeededClinic) -> None:
    plan, row = _planned(clinic)
    row = _chart(clinic, plan, row)
    signed = sign(clinic, row)
    assert signed.status == "signed"
    due = reporting_due(clinic, T0.date() + timedelta(days=400))
    assert sorted(d.kind for d in due) == ["retreatment", "review"]
    retreat = next(d for d in due if d.kind == "retreatment")
    assert retreat.due_on == T0.date() + timedelta(days=90)
    chart = ChartInput(performed_at=T0, points=sessions.chart_as_planned(plan, clinic.vial_id))
    with pytest.raises(RecordLockedError):
        sessions.chart_session(
            clinic.db,
            clinic.clinic_id,
            row.id,
            chart,
            clinic.library,
            expected_version=signed.version,
            actor="t",
        )


def reporting_due(clinic: SeededClinic, day: date):
    from dosemap.services.followups import followups_due

    return followups_due(clinic.db, clinic.clinic_id, day)


def test_amendment_keeps_the_original(clinic: SeededClinic) -> None:
    plan, row = _planned(clinic, 6)
    row = _chart(clinic, plan, row)
    row = sign(clinic, row)
    fewer = make_plan(4)
    chart = ChartInput(performed_at=T0, points=sessions.chart_as_planned(fewer, clinic.vial_id))
    with pytest.raises(InvalidInputError, match="reason"):
        sessions.amend_session(
            clinic.db,
            clinic.clinic_id,
            row.id,
            chart,
            clinic.library,
            reason=" ",
            amended_by=clinic.injector,
            expected_version=row.version,
            actor=str(clinic.injector),
        )
    amendment = sessions.amend_session(
        clinic.db,
        clinic.clinic_id,
        row.id,
        chart,
        clinic.library,
        reason="points 5-6 not injected: patient asked to stop",
        amended_by=clinic.injector,
        expected_version=row.version,
        actor=str(clinic.injector),
    )
    assert amendment.number == 1
    assert len(amendment.before["points"]) == 6
    got = sessions.get_session(clinic.db, clinic.clinic_id, row.id)
    assert got.status == "signed" and len(got.points) == 4 and got.amendment_count == 1
    with clinic.db.read() as s:
        assert verify_chain(s).ok


def test_signing_refused_without_a_covering_credential(clinic: SeededClinic) -> None:
    # A front-desk member with an expired RN licence is made the injector of record.
    other = staff.add_staff(
        clinic.db,
        clinic.clinic_id,
        staff.StaffInput(display_name="Old Nurse", role="injector"),
        actor="t",
    )
    staff.add_credential(
        clinic.db,
        clinic.clinic_id,
        other.id,
        staff.CredentialInput(
            type="RN", number="RN9", jurisdiction="US-CA", expires_on=T0.date() - timedelta(days=1)
        ),
        actor="t",
    )
    plan = make_plan(4)
    row = sessions.plan_session(
        clinic.db,
        clinic.clinic_id,
        patient_id=clinic.patient_id,
        injector_id=other.id,
        plan=plan,
        scheduled_at=T0,
        actor="t",
    )
    row = _chart(clinic, plan, row)
    with pytest.raises(SigningRefusedError, match="expired"):
        sign(clinic, row, other.id)
    assert sessions.get_session(clinic.db, clinic.clinic_id, row.id).status == "charted"


def test_signing_refused_for_a_credential_type_the_policy_does_not_name(
    clinic: SeededClinic,
) -> None:
    other = staff.add_staff(
        clinic.db,
        clinic.clinic_id,
        staff.StaffInput(display_name="Esthetician", role="injector"),
        actor="t",
    )
    staff.add_credential(
        clinic.db,
        clinic.clinic_id,
        other.id,
        staff.CredentialInput(
            type="LE", number="E1", jurisdiction="US-CA", expires_on=date(2030, 1, 1)
        ),
        actor="t",
    )
    plan = make_plan(4)
    row = sessions.plan_session(
        clinic.db,
        clinic.clinic_id,
        patient_id=clinic.patient_id,
        injector_id=other.id,
        plan=plan,
        scheduled_at=T0,
        actor="t",
    )
    row = _chart(clinic, plan, row)
    with pytest.raises(SigningRefusedError, match="credential"):
        sign(clinic, row, other.id)


def test_rolling_units_and_recall(clinic: SeededClinic) -> None:
    plan, row = _planned(clinic)
    row = _chart(clinic, plan, row)
    total = sum((p.units for p in plan.points), Decimal(0))
    r90 = reporting.rolling_units(
        clinic.db, clinic.clinic_id, clinic.patient_id, T0 + timedelta(days=1)
    )
    assert r90.botox_equivalent_units == total and r90.sessions == 1
    later = reporting.rolling_units(
        clinic.db, clinic.clinic_id, clinic.patient_id, T0 + timedelta(days=91)
    )
    assert later.botox_equivalent_units == 0
    [hit] = reporting.lot_recall(clinic.db, clinic.clinic_id, "C1234A")
    assert hit.session_id == row.id and hit.vial_id == clinic.vial_id and hit.units == total
    assert hit.phone == "+1 555 0100"
    assert reporting.lot_recall(clinic.db, clinic.clinic_id, "NOPE") == []
    per_month = reporting.units_per_product_month(
        clinic.db, clinic.clinic_id, T0 - timedelta(days=40), T0 + timedelta(days=1)
    )
    assert per_month == {("botox_cosmetic", "2026-03"): total}


def test_other_clinics_cannot_see_the_record(clinic: SeededClinic) -> None:
    other = staff.create_clinic(
        clinic.db, staff.ClinicInput(name="Elsewhere", jurisdiction="US-NY")
    )
    _plan, row = _planned(clinic)
    from dosemap.persistence.errors import NotFoundError

    with pytest.raises(NotFoundError):
        sessions.get_session(clinic.db, other.id, row.id)
    assert reporting.lot_recall(clinic.db, other.id, "C1234A") == []


def test_the_records_own_earlier_session_counts_whatever_the_intake_date(
    clinic: SeededClinic,
) -> None:
    """Issue 10: a session 40 days after another dosemap session warns (DM501), although
    the intake was recorded before both sessions."""
    plan, first = _planned(clinic)
    first = _chart(clinic, plan, first)
    sign(clinic, first)
    later = T0 + timedelta(days=40)
    second = sessions.plan_session(
        clinic.db,
        clinic.clinic_id,
        patient_id=clinic.patient_id,
        injector_id=clinic.injector,
        plan=plan,
        scheduled_at=later,
        actor=str(clinic.injector),
    )
    second = _chart(clinic, plan, second, performed_at=later)
    findings = sessions.session_findings(clinic.db, clinic.clinic_id, second.id, clinic.library)
    (interval,) = [f for f in findings if f.code.startswith("DM501-")]
    assert interval.values["days_since"] == 40
    (totals,) = [f for f in findings if f.code.startswith("DM506-")]
    assert totals.values["cumulative_botox_equivalent_units"] == 2 * first.total_units


def test_a_session_of_two_products_is_stored_charted_and_checked_on_signing(
    clinic: SeededClinic,
) -> None:
    """Issue 10: a Botox plan and a Dysport plan in one session: stored whole, charted from a
    vial of each product, signed with the caps added across products in Botox-eq units."""
    from dosemap.domain.plan import combine_plans

    botox = make_plan(4)
    dysport_only = make_plan(4, units_per_ml="50")
    dysport = dysport_only.model_copy(
        update={
            "product": "dysport",
            "mix": dysport_only.mix.model_copy(
                update={
                    "product": "dysport",
                    "stock_vial_units": Decimal(300),
                    "components": tuple(
                        c.model_copy(update={"ingredient": "stock:dysport"})
                        if c.ingredient.startswith("stock:")
                        else c
                        for c in dysport_only.mix.components
                    ),
                }
            ),
        }
    )
    session = combine_plans([botox, dysport])
    lot = vials.receive_lot(
        clinic.db,
        clinic.clinic_id,
        vials.LotInput(product="dysport", lot_number="D-77", expires_on=date(2027, 6, 30)),
        clinic.library,
        actor=str(clinic.admin),
    )
    dysport_vial = vials.open_vial(
        clinic.db,
        clinic.clinic_id,
        vials.VialInput(
            lot_id=lot.id,
            label="D-1",
            vial_units=Decimal(300),
            diluent_ml=Decimal(6),
            reconstituted_at=T0 - timedelta(hours=2),
        ),
        clinic.library,
        actor=str(clinic.injector),
    )
    row = sessions.plan_session(
        clinic.db,
        clinic.clinic_id,
        patient_id=clinic.patient_id,
        injector_id=clinic.injector,
        plan=session,
        scheduled_at=T0,
        actor=str(clinic.injector),
    )
    assert sessions.session_plan(row) == session  # stored whole (format 2)
    assert row.product == "botox_cosmetic" and row.planned_units == botox.summary.total_units
    per_point = sessions.vials_for_points(
        clinic.db, clinic.clinic_id, session, [clinic.vial_id, dysport_vial.id]
    )
    # one vial for both products is refused, naming the product it holds
    with pytest.raises(InvalidInputError, match="vial holds botox_cosmetic"):
        sessions.chart_session(
            clinic.db,
            clinic.clinic_id,
            row.id,
            ChartInput(performed_at=T0, points=sessions.chart_as_planned(session, clinic.vial_id)),
            clinic.library,
            expected_version=row.version,
            actor=str(clinic.injector),
        )
    charted = sessions.chart_session(
        clinic.db,
        clinic.clinic_id,
        row.id,
        ChartInput(performed_at=T0, points=sessions.chart_as_planned(session, per_point)),
        clinic.library,
        expected_version=row.version,
        actor=str(clinic.injector),
    )
    dysport_units = dysport.summary.total_units
    assert charted.total_units == botox.summary.total_units
    assert charted.botox_equivalent_units == (
        botox.summary.total_units + dysport_units / Decimal("2.5")
    ).quantize(Decimal("0.0001"))
    findings = sessions.session_findings(clinic.db, clinic.clinic_id, row.id, clinic.library)
    (products,) = [f for f in findings if f.code.startswith("DM903-")]
    assert products.values["dysport_units"] == dysport_units
    assert not [f for f in findings if f.code.startswith(("DM703-", "DM704-"))]
    signed = sign(clinic, charted)
    assert signed.status == "signed"


def test_each_write_is_one_version_step(clinic: SeededClinic) -> None:
    """A device that wrote version v and holds v + 1 is not refused as stale by its own
    write: plan, chart, re-chart, sign and amend each step the session's version by one (a
    chart stepped it by three: its row was written at each of three flushes; an amendment
    by three too, the amendment count and the new content hash each a write of their own)."""
    plan, row = _planned(clinic, 6)
    versions = [row.version]
    row = _chart(clinic, plan, row)
    versions.append(row.version)
    row = _chart(clinic, plan, row, performed_at=T0 + timedelta(minutes=5))
    versions.append(row.version)
    row = sign(clinic, row)
    versions.append(row.version)
    assert sessions.get_session(clinic.db, clinic.clinic_id, row.id).version == row.version
    amendments = []
    for n_points in (4, 3):  # two: the second finds the record as the first stored it
        amendments.append(
            sessions.amend_session(
                clinic.db,
                clinic.clinic_id,
                row.id,
                ChartInput(
                    performed_at=T0 + timedelta(minutes=5),
                    points=sessions.chart_as_planned(make_plan(n_points), clinic.vial_id),
                ),
                clinic.library,
                reason=f"only {n_points} points injected",
                amended_by=clinic.injector,
                expected_version=versions[-1],
                actor=str(clinic.injector),
            )
        )
        versions.append(sessions.get_session(clinic.db, clinic.clinic_id, row.id).version)
    assert versions == list(range(versions[0], versions[0] + 6))
    # An amendment's "after" is the record as stored: the next one found it so.
    assert amendments[0].after_digest == amendments[1].before_digest
    with clinic.db.read() as s:  # the stored content hash and the audit entries agree with it
        report = verify_all(s, None)
        assert report.ok, [str(p) for p in report.problems]
