"""Column types, migrations and locking on both back ends."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, inspect, select
from sqlalchemy.orm.exc import StaleDataError

from dosemap.persistence.db import Database
from dosemap.persistence.errors import StorageError
from dosemap.persistence.migrate import current_revision, head_revision, require_current
from dosemap.persistence.models import Clinic, Staff
from dosemap.services import staff
from support.databases import temporary_database

amounts = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("99999"), places=4)


def test_migrated_to_head_with_named_constraints(db: Database) -> None:
    assert current_revision(db.engine) == head_revision()
    require_current(db.engine)
    insp = inspect(db.engine)
    fks = insp.get_foreign_keys("chart_points")
    assert {fk["name"] for fk in fks} >= {"fk_chart_points_vial_id_vials"}
    checks = {c["name"] for c in insp.get_check_constraints("treatment_sessions")}
    assert "ck_treatment_sessions_status" in checks


def test_empty_database_is_refused_until_upgraded(backend: str, tmp_path) -> None:
    with (
        temporary_database(backend, tmp_path, migrate=False) as empty,
        pytest.raises(StorageError, match="dosemap db upgrade"),
    ):
        require_current(empty.engine)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=st.lists(amounts, min_size=1, max_size=8))
def test_amounts_round_trip_and_sum_exactly(db: Database, values: list[Decimal]) -> None:
    from dosemap.persistence.models import ProductLot, Vial

    with db.write() as s:
        clinic = Clinic(
            id=uuid.uuid4(), name="x", jurisdiction="US-CA", created_at=datetime.now(UTC)
        )
        s.add(clinic)
        s.flush()
        lot = ProductLot(
            id=uuid.uuid4(),
            clinic_id=clinic.id,
            product="p",
            lot_number=str(uuid.uuid4()),
            expires_on=datetime(2030, 1, 1).date(),
            created_at=datetime.now(UTC),
        )
        s.add(lot)
        s.flush()
        for v in values:
            s.add(
                Vial(
                    id=uuid.uuid4(),
                    clinic_id=clinic.id,
                    lot_id=lot.id,
                    label="v",
                    vial_units=v,
                    diluent="saline",
                    diluent_ml=Decimal("2.5"),
                    reconstituted_at=datetime.now(UTC),
                    beyond_use_policy="label",
                    beyond_use_at=datetime.now(UTC),
                    units_drawn=Decimal(0),
                    created_at=datetime.now(UTC),
                )
            )
    with db.read() as s:
        stored = sorted(s.execute(select(Vial.vial_units).where(Vial.lot_id == lot.id)).scalars())
        total = s.execute(select(func.sum(Vial.vial_units)).where(Vial.lot_id == lot.id)).scalar()
    assert stored == sorted(values)
    assert total == sum(values, Decimal(0))


def test_too_precise_amounts_are_refused(db: Database) -> None:
    from sqlalchemy.exc import StatementError

    clinic = staff.create_clinic(db, staff.ClinicInput(name="x", jurisdiction="US-CA"))
    from dosemap.persistence.models import ProductLot

    with pytest.raises(StatementError, match="decimal places"), db.write() as s:
        s.add(
            ProductLot(
                id=uuid.uuid4(),
                clinic_id=clinic.id,
                product="p",
                lot_number="1",
                expires_on=datetime(2030, 1, 1).date(),
                created_at=datetime.now(UTC),
            )
        )
        s.flush()
        from dosemap.persistence.models import Vial

        s.add(
            Vial(
                id=uuid.uuid4(),
                clinic_id=clinic.id,
                lot_id=s.execute(select(ProductLot.id)).scalar(),
                label="v",
                vial_units=Decimal("1.00001"),
                diluent="s",
                diluent_ml=Decimal(1),
                reconstituted_at=datetime.now(UTC),
                beyond_use_policy="label",
                beyond_use_at=datetime.now(UTC),
                units_drawn=Decimal(0),
                created_at=datetime.now(UTC),
            )
        )


def test_timestamps_come_back_aware_and_equal(db: Database) -> None:
    tz = timezone(timedelta(hours=-7))
    at = datetime(2026, 7, 1, 9, 30, 15, 123456, tzinfo=tz)
    with db.write() as s:
        s.add(Clinic(id=uuid.uuid4(), name="x", jurisdiction="US-CA", created_at=at))
    with db.read() as s:
        got = s.execute(select(Clinic.created_at)).scalar_one()
    assert got == at and got.tzinfo is not None


def test_naive_timestamps_are_refused(db: Database) -> None:
    from sqlalchemy.exc import StatementError

    with pytest.raises(StatementError, match="timezone-aware"), db.write() as s:
        s.add(
            Clinic(id=uuid.uuid4(), name="x", jurisdiction="US-CA", created_at=datetime(2026, 1, 1))
        )


def test_concurrent_stale_update_raises(db: Database) -> None:
    """Two people load version 1; the second save must not silently overwrite the first."""
    clinic = staff.create_clinic(db, staff.ClinicInput(name="x", jurisdiction="US-CA"))
    member = staff.add_staff(
        db, clinic.id, staff.StaffInput(display_name="a", role="admin"), actor="t"
    )
    with db.writer() as first, db.writer() as second:
        b = second.get(Staff, member.id)
        second.commit()  # the second person's read ends; their copy stays in memory
        a = first.get(Staff, member.id)
        assert a is not None and b is not None
        a.display_name = "first"
        first.commit()
        b.display_name = "second"
        with pytest.raises(StaleDataError):
            second.commit()
    with db.read() as s:
        assert s.get(Staff, member.id).display_name == "first"  # type: ignore[union-attr]
