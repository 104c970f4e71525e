"""``dosemap catalog``: tables, one record with every figure, JSON, clinic files, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import dosemap.cli as cli
from dosemap.resources import load_library

runner = CliRunner()


def setup_module() -> None:
    cli._register()


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("products", "botox_cosmetic"),
        ("protocols", "park_2021_inco"),
        ("techniques", "microinfusion_stamp"),
        ("adjuncts", "ha_skin_booster"),
        ("goals", "redness_flushing"),
        ("conversions", "NO — label-dose ratio"),
        ("sources", "alam_2015"),
    ],
)
def test_tables(kind: str, expected: str) -> None:
    result = runner.invoke(cli.app, ["catalog", kind], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert expected in result.output


def test_one_record_shows_every_figure_with_source_and_tag() -> None:
    result = runner.invoke(
        cli.app, ["catalog", "protocols", "dayan_2012_rosacea"], env={"COLUMNS": "250"}
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "volume_per_point_ul" in out and "UNCONFIRMED" in out
    assert "working_units_per_ml" in out and "DERIVED" in out
    assert "Dayan SH, Pritzker RN" in out  # the source's citation is printed
    assert "embedded:40_protocols.toml" in out


def test_json_list_is_exact() -> None:
    result = runner.invoke(cli.app, ["catalog", "products", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    ids = [p["id"] for p in payload["products"]]
    assert ids == list(load_library().products)
    botox = payload["products"][0]
    rows = {r["diluent_ml"]: r["units_per_0_1_ml"]["value"] for r in botox["label_dilutions"]}
    assert rows["8"] == "1.25"


def test_json_one_record() -> None:
    result = runner.invoke(cli.app, ["catalog", "conversions", "daxxify", "--json"])
    payload = json.loads(result.output)
    assert payload["record"]["is_potency_ratio"] is False
    assert payload["origin"].startswith("embedded:")


def test_clinic_file(tmp_path: Path) -> None:
    clinic = tmp_path / "clinic.toml"
    clinic.write_text(
        '[sources.sop]\ncitation = "Clinic SOP"\n'
        '[adjuncts.glycerin]\nname = "Glycerin"\nkind = "saline"\n'
        'description = { value = "House.", source = "sop", tag = "CLINIC" }\n',
        encoding="utf-8",
    )
    result = runner.invoke(
        cli.app,
        ["catalog", "adjuncts", "glycerin", "--clinic-file", str(clinic)],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "CLINIC" in result.output and "clinic.toml" in result.output


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dosemap", *args], capture_output=True, text=True, check=False
    )


def test_unknown_id_is_one_line_exit_2() -> None:
    proc = run("catalog", "protocols", "wu_microbotox_99")
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "wu_microbotox_20" in proc.stderr


def test_broken_clinic_file_is_one_line_exit_2(tmp_path: Path) -> None:
    clinic = tmp_path / "broken.toml"
    clinic.write_text('[adjuncts.x]\nname = "X"\nkind = "magic"\n', encoding="utf-8")
    proc = run("catalog", "adjuncts", "--clinic-file", str(clinic))
    assert proc.returncode == 2
    line = proc.stderr.strip()
    assert line.count("\n") == 0
    assert str(clinic) in line and "adjuncts.x.kind" in line and "hyaluronic_acid" in line
