"""``dosemap plan``: files, summary, and one-line errors with exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

import dosemap.cli as cli
from dosemap.domain.plan import Plan

runner = CliRunner()


def setup_module() -> None:
    cli._register()


def test_plan_writes_json_svg_png(tmp_path):
    out, svg, png = tmp_path / "plan.json", tmp_path / "plan.svg", tmp_path / "plan.png"
    args = ["plan", "--zones", "forehead,chin", "--protocol", "diaspro_2020_grid",
            "--out", str(out), "--svg", str(svg), "--png", str(png)]  # fmt: skip
    result = runner.invoke(cli.app, args)
    assert result.exit_code == 0, result.output
    plan = Plan.model_validate(json.loads(out.read_text()))
    assert {z.zone for z in plan.summary.zones} == {"forehead", "chin"}
    assert svg.read_text().startswith("<?xml") and png.read_bytes()[:4] == b"\x89PNG"
    assert f"{plan.summary.needle_entries} entries" in result.output
    assert "Off-label intradermal use" in result.output


def test_same_command_same_file(tmp_path):
    args = ["plan", "--goals", "oil_sebum,pores", "--protocol", "kesty_2021_forehead_30"]
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    assert runner.invoke(cli.app, [*args, "--out", str(first)]).exit_code == 0
    assert runner.invoke(cli.app, [*args, "--out", str(second)]).exit_code == 0
    assert first.read_bytes() == second.read_bytes()


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        (["--zones", "forehead,cheek"], "zones[1]"),
        (["--zones", "forehead", "--volume-ul", "-5"], "volume_ul"),
        (["--zones", "forehead", "--diluent-ml", "0"], "diluent_ml"),
        (["--zones", "neck"], "zones[0]"),
        (["--zones", "forehead", "--target", "forehead=900"], "zone_target_units[forehead]"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_no_file(tmp_path, extra, field):
    out = tmp_path / "plan.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dosemap",
            "plan",
            "--protocol",
            "diaspro_2020_grid",
            *extra,
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert proc.stderr.startswith(f"error: {field}:")
    assert not out.exists()


def test_plan_prints_its_safety_findings(tmp_path):
    # A decimal slip: 40 µL at Wu-24's concentration is 4x the preset's droplet. The planner
    # accepts it (the injector may mean it), and the safety table says so next to the summary.
    args = ["plan", "--zones", "chin", "--protocol", "wu_microbotox_24", "--volume-ul", "45",
            "--out", str(tmp_path / "plan.json")]  # fmt: skip
    result = runner.invoke(cli.app, args, terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "Safety check of the plan" in result.output
    assert "DM302" in result.output  # volume >= 2x the technique's typical droplet
    assert "DM901-OFF-LABEL" in result.output


def test_plan_on_a_photo_draws_on_the_patients_face(tmp_path, faces_dir):
    photo = str(faces_dir / "A000014.jpg")
    png, svg = tmp_path / "plan.png", tmp_path / "plan.svg"
    args = ["plan", "--zones", "forehead", "--protocol", "diaspro_2020_grid",
            "--out", str(tmp_path / "plan.json"), "--png", str(png), "--svg", str(svg),
            "--photo", photo]  # fmt: skip
    result = runner.invoke(cli.app, args)
    assert result.exit_code == 0, result.output
    from PIL import Image

    with Image.open(png) as drawn:
        # The 200x250 portrait is enlarged so the face is legible: far bigger than the source,
        # and not the template picture's fixed size.
        assert drawn.width > 800
        assert drawn.size != (1335, 2245)
    # The SVG carries the photo itself (pixels only) under the same drawing.
    assert "data:image/jpeg;base64," in svg.read_text()
