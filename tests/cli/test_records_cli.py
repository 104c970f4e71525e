"""The records commands end to end through the real ``dosemap`` entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from dosemap.domain.plan import PlanRequest
from dosemap.domain.planning import build_plan
from dosemap.persistence.db import Database
from dosemap.persistence.migrate import upgrade
from dosemap.resources import load_library, template_mesh
from dosemap.services import patients, staff, vials


def _run(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # Writes need a known, active staff member acting: the clinic's nurse, unless a test says.
    env = {
        "DOSEMAP_ACTOR": "Nia Nurse",
        **os.environ,
        "DOSEMAP_DATA_DIR": str(tmp),
        "COLUMNS": "200",
    }
    env.pop("DOSEMAP_DATABASE_URL", None)
    env.pop("DOSEMAP_CLINIC", None)
    return subprocess.run(
        [sys.executable, "-m", "dosemap", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def clinic_dir(tmp_path: Path) -> Path:
    """A clinic made in-process through the services (fast), in the CLI's default database."""
    db = Database.from_url(f"sqlite:///{tmp_path / 'dosemap.sqlite3'}")
    upgrade(db.engine)
    library = load_library()
    c = staff.create_clinic(db, staff.ClinicInput(name="Rose Clinic", jurisdiction="US-CA"))
    nurse = staff.add_staff(
        db, c.id, staff.StaffInput(display_name="Nia Nurse", role="injector"), actor="t"
    )
    staff.add_credential(
        db,
        c.id,
        nurse.id,
        staff.CredentialInput(
            type="RN", number="RN1", jurisdiction="US-CA", expires_on=date(2031, 1, 1)
        ),
        actor="t",
    )
    staff.allow_procedure(
        db,
        c.id,
        procedure=staff.MICRODOSE_PROCEDURE,
        credential_type="RN",
        jurisdiction="US-CA",
        actor="t",
    )
    patients.register_patient(
        db,
        c.id,
        patients.PatientInput(
            chart_number="P-1",
            given_name="Lu",
            family_name="Tan",
            date_of_birth=date(1988, 2, 3),
            phone="+1 555 0199",
            skin_type="oily",
        ),
        actor="t",
    )
    lot = vials.receive_lot(
        db,
        c.id,
        vials.LotInput(product="botox_cosmetic", lot_number="LOT-77", expires_on=date(2031, 1, 1)),
        library,
        actor="t",
    )
    vials.open_vial(
        db,
        c.id,
        vials.VialInput(
            lot_id=lot.id,
            label="V-9",
            vial_units=Decimal(100),
            diluent_ml=Decimal("2.5"),
            reconstituted_at=datetime(2026, 5, 1, 9, tzinfo=UTC),
        ),
        library,
        actor="t",
    )
    db.dispose()
    return tmp_path


def test_plan_chart_sign_recall(clinic_dir: Path) -> None:
    plan = build_plan(PlanRequest(protocol="wu_microbotox_20"), load_library(), template_mesh())
    plan_file = clinic_dir / "plan.json"
    plan_file.write_text(plan.model_dump_json())
    made = _run(
        clinic_dir,
        "sessions",
        "create",
        str(plan_file),
        "--patient",
        "P-1",
        "--injector",
        "Nia Nurse",
        "--at",
        "2026-05-01T10:00+00:00",
    )
    assert made.returncode == 0, made.stderr
    session_id = made.stdout.split()[1]
    charted = _run(
        clinic_dir,
        "sessions",
        "chart",
        session_id,
        "--vial",
        "V-9",
        "--at",
        "2026-05-01T10:05+00:00",
        "--pain",
        "2",
    )
    assert charted.returncode == 0, charted.stderr
    # No consent on file: signing is refused, in one line, and the session stays unsigned.
    refused = _run(clinic_dir, "sessions", "sign", session_id, "--signer", "Nia Nurse")
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1 and "consent" in refused.stderr
    consent_text = clinic_dir / "consent.txt"
    consent_text.write_text("I consent to micro-dose toxin treatment.")
    consented = _run(
        clinic_dir,
        "patients",
        "consent",
        "P-1",
        "--text-file",
        str(consent_text),
        "--text-version",
        "v1",
        "--signature",
        "Lu Tan",
        "--at",
        "2026-05-01T09:30+00:00",
    )
    assert consented.returncode == 0, consented.stderr
    signed = _run(clinic_dir, "sessions", "sign", session_id, "--signer", "Nia Nurse")
    assert signed.returncode == 0, signed.stderr
    again = _run(clinic_dir, "sessions", "chart", session_id, "--vial", "V-9")
    assert again.returncode == 2 and "signed" in again.stderr
    recall = _run(clinic_dir, "recall", "LOT-77")
    assert recall.returncode == 0 and "P-1" in recall.stdout and "+1 555 0199" in recall.stdout
    verify = _run(clinic_dir, "audit", "verify")
    assert verify.returncode == 0 and "intact" in verify.stdout
    # Run on the server by its administrator: the warning names where it looked (the Audit
    # page does not).
    said = " ".join(verify.stdout.split())  # as one line, however the console wrapped it
    assert f"no checkpoint in {clinic_dir / 'checkpoints'}: a cut or rewound log" in said


def test_bad_input_is_one_line_names_the_field_and_writes_nothing(clinic_dir: Path) -> None:
    before = _run(clinic_dir, "audit", "verify").stdout
    bad = _run(
        clinic_dir,
        "patients",
        "add",
        "--chart-number",
        "P-2",
        "--given-name",
        "A",
        "--family-name",
        "B",
        "--dob",
        "1990-01-01",
        "--fitzpatrick",
        "9",
    )
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: fitzpatrick_type") and bad.stderr.count("\n") == 1
    assert "Traceback" not in bad.stderr
    bad_vial = _run(
        clinic_dir,
        "vials",
        "open",
        "--lot",
        "LOT-77",
        "--label",
        "V-10",
        "--units",
        "-5",
        "--diluent-ml",
        "2.5",
    )
    assert bad_vial.returncode == 2 and bad_vial.stderr.startswith("error: vial_units")
    assert _run(clinic_dir, "audit", "verify").stdout == before  # no audit entry: nothing written
    listed = _run(clinic_dir, "patients", "list")
    assert "P-2" not in listed.stdout


def test_backup_and_restore_round_trip(clinic_dir: Path) -> None:
    target = clinic_dir / "b.sqlite3"
    assert _run(clinic_dir, "backup", str(target)).returncode == 0
    manifest = json.loads((clinic_dir / "b.sqlite3.json").read_text())
    _run(
        clinic_dir,
        "patients",
        "add",
        "--chart-number",
        "P-3",
        "--given-name",
        "C",
        "--family-name",
        "D",
        "--dob",
        "1970-01-01",
    )
    refused = _run(clinic_dir, "restore", str(target))
    assert refused.returncode == 2 and "--yes" in refused.stderr
    done = _run(clinic_dir, "restore", str(target), "--yes")
    assert done.returncode == 0, done.stderr
    assert f"({manifest['audit_head_seq']} entries)" in done.stdout
    assert "P-3" not in _run(clinic_dir, "patients", "list").stdout


def test_writes_need_an_active_staff_member_acting(clinic_dir: Path) -> None:
    add = ("patients", "add", "--chart-number", "P-9", "--given-name", "A", "--family-name", "B")
    add += ("--dob", "1990-01-01")
    nobody = subprocess.run(
        [sys.executable, "-m", "dosemap", *add],
        env={
            **{k: v for k, v in os.environ.items() if k != "DOSEMAP_ACTOR"},
            "DOSEMAP_DATA_DIR": str(clinic_dir),
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert nobody.returncode == 2 and nobody.stderr.startswith("error: as: who is acting")
    stranger = _run(clinic_dir, *add, "--as", "Mallory")
    assert stranger.returncode == 2 and "no single staff member" in stranger.stderr
    done = _run(clinic_dir, "db", "staff-deactivate", "Nia Nurse")
    assert done.returncode == 0, done.stderr
    gone = _run(clinic_dir, *add)
    assert gone.returncode == 2 and "deactivated" in gone.stderr
    assert "P-9" not in _run(clinic_dir, "patients", "list").stdout


def test_a_session_of_two_products_shows_each_products_units(clinic_dir: Path) -> None:
    """`sessions create` and `sessions show` of a Botox + Dysport session: each product with its
    own planned units, never one figure of both added."""
    from dosemap.domain import display
    from support.products import two_products

    session = two_products(load_library())
    plan_file = clinic_dir / "session.json"
    plan_file.write_text(session.model_dump_json())
    made = _run(
        clinic_dir, "sessions", "create", str(plan_file), "--patient", "P-1",
        "--injector", "Nia Nurse", "--at", "2026-05-01T10:00+00:00",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    units = {p: display.units(u.quantize(Decimal("0.0001"))) for p, u in
             session.units_by_product().items()}  # fmt: skip
    for product, text in units.items():
        assert f"{product} {text}" in made.stdout, made.stdout
    session_id = made.stdout.split()[1]
    shown = _run(clinic_dir, "sessions", "show", session_id)
    assert shown.returncode == 0, shown.stderr
    line = " ".join(shown.stdout.split())
    assert "botox_cosmetic, dysport" in line
    assert all(f"{p} {t}" in line for p, t in units.items()), line
    added = display.units(sum(session.units_by_product().values(), Decimal(0)))
    assert added not in line
