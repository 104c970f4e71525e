"""A session of two products keeps each product's own figures (session_products): planned and
charted units per product, never added across products; audited and verified record by record;
every reader of the session record shows each product's figures."""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text

from dosemap.persistence.unit_of_work import reading
from dosemap.services import audit as audit_service
from dosemap.services import reporting, sessions
from support.clinic import T0, SeededClinic
from support.products import charted_two_products, plan_two_products, two_products

_Q = Decimal("0.0001")


def _units(plan: object) -> Decimal:
    return sum((p.units for p in plan.points), Decimal(0)).quantize(_Q)  # type: ignore[attr-defined]


def test_planned_then_charted_each_product_has_its_own_figures(
    clinic: SeededClinic, tmp_path: Path
) -> None:
    c = clinic
    session = two_products(c.library)
    botox, dysport = session.plans
    row_id = plan_two_products(c.db, c.clinic_id, c.patient_id, c.injector, session, T0)
    planned = sessions.session_products(c.db, c.clinic_id, row_id)
    assert [(f.product, f.planned_points, f.planned_units) for f in planned] == [
        ("botox_cosmetic", len(botox.points), _units(botox)),
        ("dysport", len(dysport.points), _units(dysport)),
    ]
    assert all(f.total_units is None and f.charted_points is None for f in planned)

    row_id, _ = charted_two_products(
        c.db, c.clinic_id, c.patient_id, c.injector, c.vial_id, c.library, T0, sign=True
    )
    charted = sessions.session_products(c.db, c.clinic_id, row_id)
    assert [(f.product, f.charted_points, f.total_units) for f in charted] == [
        ("botox_cosmetic", len(botox.points), _units(botox)),
        ("dysport", len(dysport.points), _units(dysport)),
    ]
    assert audit_service.verify(c.db, tmp_path / "checkpoints").problems == ()


def test_a_session_products_row_changed_outside_dosemap_is_named(
    clinic: SeededClinic, tmp_path: Path
) -> None:
    c = clinic
    row_id, _ = charted_two_products(
        c.db, c.clinic_id, c.patient_id, c.injector, c.vial_id, c.library, T0, sign=True
    )
    with c.db.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE session_products SET total_units = total_units + 1"
                " WHERE product = 'dysport'"
            )
        )
    problems = [str(p) for p in audit_service.verify(c.db, tmp_path / "checkpoints").problems]
    assert any(row_id.hex in p.replace("-", "") and "session products" in p for p in problems), (
        problems
    )
    assert any("signed content changed" in p for p in problems), problems


def test_timeline_shows_every_products_units_never_added(clinic: SeededClinic) -> None:
    c = clinic
    row_id, session = charted_two_products(
        c.db, c.clinic_id, c.patient_id, c.injector, c.vial_id, c.library, T0
    )
    botox, dysport = session.plans
    [line] = [
        e for e in reporting.patient_timeline(c.db, c.clinic_id, c.patient_id)
        if e.record_id == row_id
    ]  # fmt: skip
    from dosemap.domain import display

    assert f"botox_cosmetic {display.units(_units(botox))}" in line.summary
    assert f"dysport {display.units(_units(dysport))}" in line.summary
    added = display.units(_units(botox) + _units(dysport))
    assert added not in line.summary


def test_units_per_product_month_counts_every_product(clinic: SeededClinic) -> None:
    c = clinic
    _, session = charted_two_products(
        c.db, c.clinic_id, c.patient_id, c.injector, c.vial_id, c.library, T0
    )
    botox, dysport = session.plans
    month = T0.strftime("%Y-%m")
    usage = reporting.units_per_product_month(c.db, c.clinic_id, T0 - _DAY, T0 + _DAY)
    assert usage[("botox_cosmetic", month)] == _units(botox)
    assert usage[("dysport", month)] == _units(dysport)


def test_a_session_recorded_before_0013_has_its_figures_derived(clinic: SeededClinic) -> None:
    """Its product rows never written (as a session from before the migration): the figures
    come from its plan and its vial usage, per product."""
    c = clinic
    row_id, session = charted_two_products(
        c.db, c.clinic_id, c.patient_id, c.injector, c.vial_id, c.library, T0
    )
    botox, dysport = session.plans
    with c.db.engine.begin() as conn:
        conn.execute(text("DELETE FROM session_products"))
    figures = sessions.session_products(c.db, c.clinic_id, row_id)
    assert [(f.product, f.planned_units, f.total_units) for f in figures] == [
        ("botox_cosmetic", _units(botox), _units(botox)),
        ("dysport", _units(dysport), _units(dysport)),
    ]


def test_other_clinics_rows_are_not_read(clinic: SeededClinic) -> None:
    c = clinic
    row_id, _ = charted_two_products(
        c.db, c.clinic_id, c.patient_id, c.injector, c.vial_id, c.library, T0
    )
    with reading(c.db) as uow:
        assert uow.sessions.products_of(uuid.uuid4(), [row_id]) == {}


_DAY = __import__("datetime").timedelta(days=1)

pytestmark = pytest.mark.usefixtures("clinic")


def test_today_lists_every_products_planned_units(clinic: SeededClinic) -> None:
    from dosemap.services import clinic_day

    c = clinic
    session = two_products(c.library)
    botox, dysport = session.plans
    row_id = plan_two_products(c.db, c.clinic_id, c.patient_id, c.injector, session, T0)
    [listed] = [
        s for s in clinic_day.today(c.db, c.clinic_id, T0).sessions if s.session_id == row_id
    ]
    assert listed.products == (
        ("botox_cosmetic", _units(botox)),
        ("dysport", _units(dysport)),
    )
