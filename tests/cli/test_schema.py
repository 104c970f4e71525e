from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

import dosemap.cli as cli
from dosemap.domain.plan import Plan

runner = CliRunner()


def setup_module() -> None:
    cli._register()


def test_schema_plan_is_the_plan_models_schema():
    result = runner.invoke(cli.app, ["schema", "plan"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == Plan.model_json_schema()


def test_schema_writes_files(tmp_path):
    result = runner.invoke(cli.app, ["schema", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    written = json.loads((tmp_path / "plan.schema.json").read_text())
    assert written["title"] == "Plan"


def test_unknown_schema_is_one_line_exit_2():
    proc = subprocess.run(
        [sys.executable, "-m", "dosemap", "schema", "nonsense"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "name: unknown 'nonsense'" in proc.stderr
    assert "Traceback" not in proc.stderr
