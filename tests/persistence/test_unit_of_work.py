"""The unit of work: a writing unit is all or nothing; commit splits it into whole steps."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from dosemap.persistence.db import Database
from dosemap.persistence.errors import NotFoundError
from dosemap.persistence.models import Clinic, Staff
from dosemap.persistence.unit_of_work import reading, writing


def _clinic(name: str) -> Clinic:
    return Clinic(id=uuid.uuid4(), name=name, jurisdiction="US-CA", created_at=datetime.now(UTC))


def _names(db: Database) -> list[str]:
    with reading(db) as uow:
        return [c.name for c in uow.clinics.all()]


class Boom(Exception):
    """Raised inside a unit of work to abandon it."""


def test_a_writing_unit_commits_when_its_block_ends(db: Database) -> None:
    with writing(db) as uow:
        uow.clinics.add(_clinic("Rose"))
    assert _names(db) == ["Rose"]


def test_an_error_rolls_back_everything_since_the_last_commit(db: Database) -> None:
    with pytest.raises(Boom), writing(db) as uow:
        uow.clinics.add(_clinic("First"))
        uow.commit()
        uow.clinics.add(_clinic("Second"))
        uow.flush()  # sent to the database, yet not committed
        raise Boom
    assert _names(db) == ["First"]


def test_explicit_rollback_discards_pending_work(db: Database) -> None:
    with writing(db) as uow:
        uow.clinics.add(_clinic("Dropped"))
        uow.flush()
        uow.rollback()
        uow.clinics.add(_clinic("Kept"))
    assert _names(db) == ["Kept"]


def test_records_stay_readable_after_the_unit_ends(db: Database) -> None:
    with writing(db) as uow:
        clinic = _clinic("Rose")
        uow.clinics.add(clinic)
    with reading(db) as uow:
        loaded = uow.clinics.get(clinic.id)
    assert (loaded.name, loaded.version) == ("Rose", 1)


def test_scoped_lookups_refuse_another_clinics_record(db: Database) -> None:
    a, b = _clinic("A"), _clinic("B")
    member = Staff(
        id=uuid.uuid4(),
        clinic_id=a.id,
        display_name="Ivy",
        role="injector",
        created_at=datetime.now(UTC),
    )
    with writing(db) as uow:
        uow.clinics.add(a)
        uow.clinics.add(b)
        uow.flush()
        uow.staff.add(member)
    with reading(db) as uow:
        assert uow.staff.get(a.id, member.id).display_name == "Ivy"
        with pytest.raises(NotFoundError, match=f"staff {member.id} not found"):
            uow.staff.get(b.id, member.id)
        with pytest.raises(NotFoundError, match="clinic"):
            uow.clinics.get(uuid.uuid4())


def test_a_reading_unit_cannot_commit(db: Database) -> None:
    with reading(db) as uow, pytest.raises(RuntimeError, match="cannot commit"):
        uow.commit()


def test_a_unit_is_unusable_outside_its_block(db: Database) -> None:
    unit = writing(db)
    with unit:
        pass
    with pytest.raises(RuntimeError, match="outside its `with` block"):
        unit.flush()
