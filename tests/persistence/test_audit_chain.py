"""The audit chain names any edited, deleted or reordered entry (both back ends)."""

from __future__ import annotations

from sqlalchemy import text

from dosemap.persistence.audit import verify_chain
from dosemap.persistence.db import Database
from dosemap.services import staff


def _five_writes(db: Database) -> None:
    clinic = staff.create_clinic(db, staff.ClinicInput(name="A", jurisdiction="US-TX"))
    for i in range(4):
        staff.add_staff(
            db, clinic.id, staff.StaffInput(display_name=f"S{i}", role="front_desk"), actor="test"
        )


def _problems(db: Database) -> list[str]:
    with db.read() as s:
        return [str(p) for p in verify_chain(s).problems]


def test_intact_chain_verifies(db: Database) -> None:
    _five_writes(db)
    with db.read() as s:
        report = verify_chain(s)
    assert report.ok and report.entries == 5 and report.head_seq == 5


def test_edited_entry_is_named(db: Database) -> None:
    _five_writes(db)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3"))
    assert _problems(db) == ["audit entry 3: content does not match its hash (edited)"]


def test_deleted_entry_is_named(db: Database) -> None:
    _five_writes(db)
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    problems = _problems(db)
    assert problems[0] == "audit entry 2: missing (deleted?): seq 2"
    assert "audit entry 3: does not follow the entry before it (deleted or reordered)" in problems


def test_reordered_entries_are_named(db: Database) -> None:
    _five_writes(db)
    with db.engine.begin() as conn:  # swap the contents of entries 2 and 4
        conn.execute(text("UPDATE audit_log SET seq = -2 WHERE seq = 2"))
        conn.execute(text("UPDATE audit_log SET seq = 2 WHERE seq = 4"))
        conn.execute(text("UPDATE audit_log SET seq = 4 WHERE seq = -2"))
    problems = _problems(db)
    assert any(p.startswith("audit entry 2:") for p in problems)
    assert any(p.startswith("audit entry 4:") for p in problems)


def test_truncated_tail_is_named(db: Database) -> None:
    _five_writes(db)
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 5"))
    assert _problems(db) == ["audit entry 5: head says seq 5 but the log ends at 4 (truncated?)"]


def test_failed_write_leaves_no_entry(db: Database) -> None:
    _five_writes(db)
    import uuid

    import pytest

    from dosemap.persistence.errors import NotFoundError
    from dosemap.services.staff import CredentialInput

    with pytest.raises(NotFoundError):
        staff.add_credential(
            db,
            uuid.uuid4(),
            uuid.uuid4(),
            CredentialInput(type="RN", number="1", jurisdiction="US-TX", expires_on="2030-01-01"),
            actor="t",
        )
    with db.read() as s:
        report = verify_chain(s)
    assert report.ok and report.entries == 5


def test_concurrent_writers_keep_one_unbroken_chain(db: Database) -> None:
    import threading

    clinic = staff.create_clinic(db, staff.ClinicInput(name="A", jurisdiction="US-TX"))
    errors: list[BaseException] = []

    def writer(tag: str) -> None:
        try:
            for i in range(8):
                staff.add_staff(
                    db,
                    clinic.id,
                    staff.StaffInput(display_name=f"{tag}{i}", role="front_desk"),
                    actor=tag,
                )
        except BaseException as exc:  # collected and re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(t,)) for t in ("a", "b", "c")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.read() as s:
        report = verify_chain(s)
    assert report.ok and report.entries == 1 + 3 * 8
