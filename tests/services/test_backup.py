"""Backup and restore on both back ends, verified against the audit chain."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from dosemap.persistence.errors import IntegrityError
from dosemap.services import audit as audit_service
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


def _later_patient(clinic: SeededClinic) -> None:
    patients.register_patient(
        clinic.db,
        clinic.clinic_id,
        patients.PatientInput(
            chart_number="C-0009",
            given_name="Newer",
            family_name="Record",
            date_of_birth="1991-01-01",
        ),
        actor=str(clinic.desk),
    )


def _live_is_untouched(clinic: SeededClinic) -> None:
    charts = sorted(p.chart_number for p in patients.find_patients(clinic.db, clinic.clinic_id))
    assert charts == ["C-0001", "C-0009"]
    assert audit_service.verify(clinic.db, None).ok


def test_a_backup_with_edited_doses_and_a_recomputed_checksum_is_refused(
    clinic: SeededClinic, tmp_path: Path, backend: str
) -> None:
    target = tmp_path / "clinic.backup"
    backup.backup(clinic.db, target)
    _later_patient(clinic)
    if backend == "sqlite":  # edit the copy's vial (what a dose is drawn from) in place
        conn = sqlite3.connect(target)
        with conn:
            conn.execute("UPDATE vials SET vial_units = vial_units * 2")
        conn.close()
    else:  # a dump is compressed: flip bytes as an editor would
        data = bytearray(target.read_bytes())
        data[len(data) // 2] ^= 0xFF
        target.write_bytes(bytes(data))
    manifest = json.loads(backup.manifest_path(target).read_text())
    manifest["sha256"] = hashlib.sha256(target.read_bytes()).hexdigest()
    backup.manifest_path(target).write_text(json.dumps(manifest))
    with pytest.raises(IntegrityError, match="changed after it was signed"):
        backup.restore(clinic.db, target)
    _live_is_untouched(clinic)


def test_a_backup_of_tampered_records_is_refused_and_the_live_database_kept(
    clinic: SeededClinic, tmp_path: Path
) -> None:
    # The chain is whole but a record was changed behind the services before the backup.
    with clinic.db.engine.begin() as conn:
        conn.execute(text("UPDATE product_lots SET lot_number = 'FAKE'"))
    target = tmp_path / "clinic.backup"
    backup.backup(clinic.db, target)
    with clinic.db.engine.begin() as conn:  # the live database is then repaired …
        conn.execute(text("UPDATE product_lots SET lot_number = 'C1234A'"))
    _later_patient(clinic)  # … and life goes on
    with pytest.raises(IntegrityError, match="product_lots"):
        backup.restore(clinic.db, target)
    _live_is_untouched(clinic)


def test_an_unsigned_manifest_is_refused(clinic: SeededClinic, tmp_path: Path) -> None:
    target = tmp_path / "clinic.backup"
    backup.backup(clinic.db, target)
    manifest = json.loads(backup.manifest_path(target).read_text())
    manifest["mac"] = ""
    backup.manifest_path(target).write_text(json.dumps(manifest))
    _later_patient(clinic)
    with pytest.raises(IntegrityError, match="not signed"):
        backup.restore(clinic.db, target)
    _live_is_untouched(clinic)


def test_backup_into_a_folder_and_restore_writes_checkpoints(
    clinic: SeededClinic, tmp_path: Path
) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    checkpoints = tmp_path / "checkpoints"
    manifest = backup.backup(clinic.db, folder, checkpoints=checkpoints)
    files = sorted(p.name for p in folder.iterdir())
    assert len(files) == 2 and files[1] == files[0] + ".json"
    assert not list(tmp_path.glob("*.partial")) and not list(folder.glob("*.partial"))
    _later_patient(clinic)
    assert audit_service.verify(clinic.db, checkpoints).ok
    report = backup.restore(clinic.db, folder / files[0], checkpoints=checkpoints)
    assert report.head_seq == manifest.audit_head_seq
    # The head moved back on purpose: the restore's checkpoint anchors the new head.
    after = audit_service.verify(clinic.db, checkpoints)
    assert after.ok and not after.warnings, [str(p) for p in after.problems]
