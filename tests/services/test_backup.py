"""Backup and restore on both back ends, verified against the audit chain."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from dosemap.persistence.errors import IntegrityError
from dosemap.services import backup, patients
from support.clinic import SeededClinic


def test_backup_then_restore_brings_the_record_back(clinic: SeededClinic, tmp_path: Path) -> None:
    target = tmp_path / "b" / "clinic.backup"
    manifest = backup.backup(clinic.db, target)
    assert target.is_file() and manifest.audit_head_seq > 0
    # Life goes on after the backup: a new patient is registered …
    patients.register_patient(
        clinic.db,
        clinic.clinic_id,
        patients.PatientInput(
            chart_number="C-0002",
            given_name="Later",
            family_name="Patient",
            date_of_birth="1990-01-01",
        ),
        actor="t",
    )
    assert len(patients.find_patients(clinic.db, clinic.clinic_id)) == 2
    # … then the backup is restored: the record is as it was, and the chain verifies.
    report = backup.restore(clinic.db, target)
    assert report.ok and report.head_seq == manifest.audit_head_seq
    assert [p.chart_number for p in patients.find_patients(clinic.db, clinic.clinic_id)] == [
        "C-0001"
    ]


def test_tampered_backup_file_is_refused(clinic: SeededClinic, tmp_path: Path) -> None:
    target = tmp_path / "clinic.backup"
    backup.backup(clinic.db, target)
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="checksum"):
        backup.restore(clinic.db, target)


def test_backup_of_a_broken_chain_is_refused(clinic: SeededClinic, tmp_path: Path) -> None:
    with clinic.db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET action = 'x' WHERE seq = 2"))
    with pytest.raises(IntegrityError, match="audit entry 2"):
        backup.backup(clinic.db, tmp_path / "x.backup")
