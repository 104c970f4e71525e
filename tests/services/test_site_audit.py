"""Clinic groups, memberships and site grants are verified record by record like the other
audited tables, including memberships logged before they had an entity of their own (as a
"join" of the group)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.orm import Session

from dosemap.persistence import audit
from dosemap.persistence import models as m
from dosemap.persistence.db import Database
from dosemap.services import audit as audit_service
from dosemap.services import sites, staff


def _problems(db: Database, tmp_path: Path) -> list[str]:
    return [str(p) for p in audit_service.verify(db, tmp_path / "checkpoints").problems]


def test_a_membership_logged_as_a_join_of_the_group_still_verifies(
    db: Database, tmp_path: Path
) -> None:
    clinic = staff.create_clinic(db, staff.ClinicInput(name="North", jurisdiction="US-CA"))
    group = sites.create_group(db, "Rose", actor="test")
    other = sites.create_group(db, "Other", actor="test")
    with db.engine.begin() as conn:  # as join_group first wrote it: entity clinic_group
        session = Session(bind=conn)
        member = m.ClinicGroupMember(
            clinic_id=clinic.id, group_id=group.id, joined_at=datetime.now(UTC)
        )
        session.add(member)
        session.flush()
        audit.append(
            session, clinic_id=clinic.id, actor="cli", action="join", entity="clinic_group",
            entity_id=group.id, after=audit.snapshot(member),
        )  # fmt: skip
        session.flush()
    audit_service.checkpoint(db, tmp_path / "checkpoints")
    assert _problems(db, tmp_path) == []  # the group checked against its own "create"
    with db.engine.begin() as conn:
        conn.execute(
            update(m.ClinicGroupMember)
            .where(m.ClinicGroupMember.clinic_id == clinic.id)
            .values(group_id=other.id)
        )
    problems = _problems(db, tmp_path)
    assert any(f"clinic_group_members {clinic.id}" in p and "group_id" in p for p in problems), (
        problems
    )


def test_a_group_renamed_and_a_membership_invented_are_named(db: Database, tmp_path: Path) -> None:
    clinic = staff.create_clinic(db, staff.ClinicInput(name="North", jurisdiction="US-CA"))
    stranger = staff.create_clinic(db, staff.ClinicInput(name="Stranger", jurisdiction="US-CA"))
    group = sites.create_group(db, "Rose", actor="test")
    sites.join_group(db, "Rose", clinic.id, actor="test")
    audit_service.checkpoint(db, tmp_path / "checkpoints")
    assert _problems(db, tmp_path) == []
    with db.engine.begin() as conn:
        conn.execute(update(m.ClinicGroup).values(name="Renamed"))
        conn.execute(
            m.ClinicGroupMember.__table__.insert().values(
                clinic_id=stranger.id, group_id=group.id, joined_at=datetime.now(UTC)
            )
        )
    problems = _problems(db, tmp_path)
    assert any(f"clinic_groups {group.id}" in p and "name" in p for p in problems), problems
    assert any(
        f"clinic_group_members {stranger.id}" in p and "no audit entry" in p for p in problems
    ), problems
