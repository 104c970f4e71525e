"""``dosemap export …`` and ``dosemap db clinic-profile`` through the real entry point."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dosemap.persistence.db import Database
from dosemap.persistence.migrate import upgrade
from dosemap.resources import load_library
from services.exports.conftest import treat
from support.clinic import build_test_clinic


def _run(tmp: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "DOSEMAP_DATA_DIR": str(tmp), "COLUMNS": "200"}
    env.pop("DOSEMAP_DATABASE_URL", None)
    env.pop("DOSEMAP_CLINIC", None)
    return subprocess.run(
        [sys.executable, "-m", "dosemap", *args], env=env, capture_output=True, check=False, cwd=tmp
    )


@pytest.fixture(scope="module")
def clinic_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test clinic with one signed session, in the CLI's default database."""
    tmp = tmp_path_factory.mktemp("export_cli")
    db = Database.from_url(f"sqlite:///{tmp / 'dosemap.sqlite3'}")
    upgrade(db.engine)
    treat(build_test_clinic(db, load_library()))
    db.dispose()
    return tmp


def test_csv_to_stdout_and_to_a_file(clinic_dir: Path) -> None:
    out = _run(clinic_dir, "export", "csv", "points", "--patient", "C-0001", "-o", "-")
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout.decode(), newline="")))
    assert len(rows) == 6 and rows[0]["zone"] == "forehead"
    done = _run(clinic_dir, "export", "csv", "vials")
    assert done.returncode == 0, done.stderr
    assert (clinic_dir / "dosemap_vials.csv").read_bytes().startswith(b"vial_id,label,")


def test_ical_file(clinic_dir: Path) -> None:
    target = clinic_dir / "due.ics"
    out = _run(
        clinic_dir,
        "export",
        "ical",
        "--from",
        "2026-03-01",
        "--until",
        "2026-12-31",
        "-o",
        str(target),
    )
    assert out.returncode == 0, out.stderr
    assert target.read_bytes().count(b"BEGIN:VEVENT") == 2


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("export", "csv", "payments"), "table"),
        (("export", "ical", "--from", "March"), "from"),
        (("export", "ical", "--detail", "everything"), "detail"),
        (("export", "csv", "sessions", "--since", "2026-01-01"), "since"),
        (("db", "clinic-profile", "--logo", "dosemap.sqlite3"), "logo"),
        (("db", "clinic-profile", "--calendar-detail", "all"), "calendar_detail"),
    ],
)
def test_bad_input_is_one_line_naming_the_field(
    clinic_dir: Path, args: tuple[str, ...], field: str
) -> None:
    out = _run(clinic_dir, *args)
    assert out.returncode == 2, out.stderr
    err = out.stderr.decode()
    assert err.count("\n") == 1 and field in err and "Traceback" not in err


def test_fhir_export_then_import_elsewhere(clinic_dir: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.json"
    out = _run(clinic_dir, "export", "fhir", "--patient", "C-0001", "-o", str(bundle))
    assert out.returncode == 0, out.stderr
    elsewhere = tmp_path / "other"
    elsewhere.mkdir()
    done = _run(elsewhere, "import", "fhir", str(bundle))
    assert done.returncode == 0, done.stderr
    assert b"1 patients, 1 sessions, 6 chart points" in done.stderr + done.stdout
    again = _run(elsewhere, "export", "fhir", "--patient", "C-0001", "-o", "-")
    assert again.returncode == 0, again.stderr
    assert again.stdout == bundle.read_bytes()
    twice = _run(elsewhere, "import", "fhir", str(bundle))
    assert twice.returncode == 2 and b"already in this database" in twice.stderr


def test_pdfs(clinic_dir: Path) -> None:
    sessions = _run(clinic_dir, "export", "csv", "sessions", "-o", "-")
    session_id = next(csv.DictReader(io.StringIO(sessions.stdout.decode())))["session_id"]
    for args in (("record", session_id), ("aftercare", session_id), ("vials",)):
        out = _run(clinic_dir, "export", "pdf", *args, "--paper", "letter", "-o", "-")
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith(b"%PDF-")
    for args, field in (
        (("record",), "ref"),
        (("record", "not-an-id"), "ref"),
        (("vials", "--paper", "legal"), "paper"),
        (("poster",), "kind"),
    ):
        bad = _run(clinic_dir, "export", "pdf", *args)
        assert bad.returncode == 2, bad.stderr
        assert bad.stderr.decode().count("\n") == 1 and field in bad.stderr.decode()
