"""CSV exports: fixed columns, the record's numbers, spreadsheet-safe text, audited."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from dosemap.persistence.models import AuditEntry
from dosemap.services.exports import csv_files
from services.exports.conftest import Treated
from support.clinic import T0

DOCS = Path(__file__).resolve().parents[3] / "docs" / "exports.md"


def _rows(content: bytes) -> tuple[list[str], list[dict[str, str]]]:
    text = content.decode("utf-8")
    assert "\r\n" in text  # RFC 4180 line ends
    reader = csv.DictReader(io.StringIO(text, newline=""))
    return list(reader.fieldnames or []), list(reader)


def audit_actions(treated: Treated) -> list[str]:
    """Every audit entry's action, oldest first."""
    with treated.clinic.db.read() as session:
        return list(session.execute(select(AuditEntry.action).order_by(AuditEntry.seq)).scalars())


def test_sessions_csv_has_the_record_numbers(treated: Treated) -> None:
    c = treated.clinic
    file = csv_files.sessions_csv(c.db, c.clinic_id, actor="t")
    columns, rows = _rows(file.content)
    assert tuple(columns) == csv_files.SESSION_COLUMNS
    assert file.media_type.startswith("text/csv") and file.filename == "dosemap_sessions.csv"
    (row,) = rows
    s = treated.session
    assert row["session_id"] == str(s.id)
    assert row["chart_number"] == "C-0001"
    assert row["status"] == "signed"
    assert row["points"] == "6"
    assert Decimal(row["total_units"]) == s.total_units == Decimal("1.2")
    assert Decimal(row["total_volume_ul"]) == Decimal(60)
    assert Decimal(row["botox_equivalent_units"]) == s.botox_equivalent_units
    assert row["pain_score"] == "3" and row["numbing"] == "topical lidocaine 4%"
    assert row["performed_at"] == "2026-03-02T10:00:00Z"
    assert row["signed_by"] == "Ivy Injector"
    assert "export_sessions_csv" in audit_actions(treated)


def test_points_csv_sums_to_the_session_total(treated: Treated) -> None:
    c = treated.clinic
    columns, rows = _rows(csv_files.points_csv(c.db, c.clinic_id, actor="t").content)
    assert tuple(columns) == csv_files.POINT_COLUMNS
    assert [r["number"] for r in rows] == [str(n) for n in range(1, 7)]
    assert sum(Decimal(r["units"]) for r in rows) == treated.session.total_units
    point = treated.session.points[0]
    assert rows[0]["x_mm"] == f"{point.x_mm:.2f}"
    assert {r["vial_label"] for r in rows} == {"V-1"}
    assert {r["lot_number"] for r in rows} == {"C1234A"}
    assert Decimal(rows[0]["volume_ul"]) == Decimal(10)


def test_vials_csv_balances_units(treated: Treated) -> None:
    c = treated.clinic
    columns, rows = _rows(csv_files.vials_csv(c.db, c.clinic_id, actor="t").content)
    assert tuple(columns) == csv_files.VIAL_COLUMNS
    (row,) = rows
    assert Decimal(row["units_per_ml"]) == Decimal(40)  # 100 U in 2.5 mL
    assert Decimal(row["units_drawn"]) == Decimal("1.2")
    assert Decimal(row["units_charted"]) == Decimal("1.2") and row["sessions"] == "1"
    assert Decimal(row["units_left"]) == Decimal("98.8")
    assert row["lot_expires_on"] == "2027-06-30"


def test_adverse_events_csv_text_never_runs_as_a_formula(treated: Treated) -> None:
    c = treated.clinic
    columns, rows = _rows(csv_files.adverse_events_csv(c.db, c.clinic_id, actor="t").content)
    assert tuple(columns) == csv_files.ADVERSE_EVENT_COLUMNS
    (row,) = rows
    assert row["action"] == "'=cold compress"
    assert row["outcome"] == "resolved in 3 days"
    assert row["session_id"] == str(treated.session.id)


def test_filters_by_patient_and_time(treated: Treated) -> None:
    c = treated.clinic
    later = T0 + timedelta(days=2)
    _, rows = _rows(csv_files.sessions_csv(c.db, c.clinic_id, actor="t", since=later).content)
    assert rows == []
    file = csv_files.points_csv(c.db, c.clinic_id, actor="t", patient_id=c.patient_id)
    assert file.filename == "dosemap_points_C-0001.csv"
    assert len(_rows(file.content)[1]) == 6


def test_same_records_same_bytes(treated: Treated) -> None:
    c = treated.clinic
    first = csv_files.points_csv(c.db, c.clinic_id, actor="t").content
    assert csv_files.points_csv(c.db, c.clinic_id, actor="t").content == first


@pytest.mark.parametrize(
    "columns",
    [
        csv_files.SESSION_COLUMNS,
        csv_files.POINT_COLUMNS,
        csv_files.VIAL_COLUMNS,
        csv_files.ADVERSE_EVENT_COLUMNS,
    ],
)
def test_every_column_is_documented(columns: tuple[str, ...]) -> None:
    text = DOCS.read_text(encoding="utf-8")
    missing = [c for c in columns if f"`{c}`" not in text]
    assert not missing, f"docs/exports.md does not describe {missing}"
