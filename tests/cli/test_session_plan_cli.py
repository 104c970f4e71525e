"""Issue 10: `dosemap plan --with` writes a session of several products; `check` reads it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

import dosemap.cli as cli

runner = CliRunner()


def test_plan_with_another_products_plan_writes_a_session_that_check_reads(tmp_path: Path) -> None:
    first = tmp_path / "dysport.json"
    both = tmp_path / "session.json"
    done = runner.invoke(
        cli.app, ["plan", "--protocol", "kesty_2021_forehead_30", "--out", str(first)]
    )
    assert done.exit_code == 0, done.output
    assert json.loads(first.read_text())["schema_version"] == "1"
    done = runner.invoke(
        cli.app,
        [
            "plan",
            "--protocol",
            "salem_2024_5ml",
            "--zones",
            "medial_cheek_left,medial_cheek_right",
            "--with",
            str(first),
            "--out",
            str(both),
        ],
    )
    assert done.exit_code == 0, done.output
    session = json.loads(both.read_text())
    assert session["schema_version"] == "2"
    assert [p["product"] for p in session["plans"]] == ["dysport", "botox_cosmetic"]
    checked = runner.invoke(cli.app, ["check", str(both), "--json"])
    assert checked.exit_code == 0, checked.output
    codes = [f["code"] for f in json.loads(checked.output)["findings"]]
    assert "DM903-SESSION-PRODUCTS" in codes
    # the old single-plan file is still read
    assert runner.invoke(cli.app, ["check", str(first)]).exit_code == 0


def test_check_refuses_an_unknown_plan_format(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"schema_version": "7", "plans": []}))
    done = subprocess.run(
        [sys.executable, "-m", "dosemap", "check", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "schema_version" in done.stderr and "Traceback" not in done.stderr
