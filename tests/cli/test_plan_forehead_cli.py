"""``dosemap plan --forehead-height-mm``: the forehead above the mesh, and bad heights refused."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

import dosemap.cli as cli
from dosemap.domain.plan import Plan
from dosemap.resources import template_mesh

runner = CliRunner()


def setup_module() -> None:
    cli._register()


def test_height_plans_above_the_mesh_and_says_so(tmp_path):
    out, png = tmp_path / "plan.json", tmp_path / "plan.png"
    args = ["plan", "--zones", "forehead", "--protocol", "diaspro_2020_grid",
            "--forehead-height-mm", "55", "--out", str(out), "--png", str(png)]  # fmt: skip
    result = runner.invoke(cli.app, args, terminal_width=200)
    assert result.exit_code == 0, result.output
    plan = Plan.model_validate(json.loads(out.read_text()))
    assert plan.request.forehead_height_mm == 55
    top_y = template_mesh().vertices_mm[10, 1]
    assert any(p.position_mm[1] > top_y + 10 for p in plan.points)
    assert "hairline" in result.output and "55 mm above the brows" in result.output
    assert png.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("height", ["20", "71", "0", "-3", "tall"])
def test_bad_height_is_one_line_exit_2_and_nothing_written(tmp_path, height):
    out, png = tmp_path / "plan.json", tmp_path / "plan.png"
    proc = subprocess.run(
        [sys.executable, "-m", "dosemap", "plan", "--protocol", "diaspro_2020_grid",
         "--zones", "forehead", f"--forehead-height-mm={height}", "--out", str(out),
         "--png", str(png)],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert proc.stderr.startswith("error: forehead_height_mm:")
    assert not out.exists() and not png.exists()
