"""``dosemap render PLAN.json [--photo FACE]``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PIL import Image
from typer.testing import CliRunner

import dosemap.cli as cli
from support.faces import face_files

FACES = face_files()  # raises at collection if any is missing
runner = CliRunner()


def setup_module() -> None:
    cli._register()


def _plan(tmp_path: Path) -> Path:
    out = tmp_path / "plan.json"
    result = runner.invoke(
        cli.app,
        [
            "plan",
            "--out",
            str(out),
            "--protocol",
            "wu_microbotox_20",
            "--zones",
            "forehead,glabella",
        ],
    )
    assert result.exit_code == 0, result.output
    return out


def test_render_on_a_photo_writes_png_and_svg(tmp_path):
    plan = _plan(tmp_path)
    png, svg = tmp_path / "p.png", tmp_path / "p.svg"
    result = runner.invoke(
        cli.app,
        ["render", str(plan), "--photo", str(FACES[2]), "--png", str(png), "--svg", str(svg)],
    )
    assert result.exit_code == 0, result.output
    assert "mm/px from the iris" in result.output
    with Image.open(png) as picture:
        assert picture.width >= 1000  # a 200 px test photo is enlarged to be legible
    assert svg.read_text().startswith("<?xml")


def test_render_without_a_photo_uses_the_template(tmp_path):
    plan = _plan(tmp_path)
    result = runner.invoke(cli.app, ["render", str(plan)])
    assert result.exit_code == 0, result.output
    assert plan.with_suffix(".png").is_file()


def test_render_refuses_a_photo_without_a_face(tmp_path):
    plan = _plan(tmp_path)
    blank = tmp_path / "wall.png"
    Image.new("RGB", (300, 300), (200, 190, 180)).save(blank)
    proc = subprocess.run(
        [sys.executable, "-m", "dosemap", "render", str(plan), "--photo", str(blank)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: photo wall.png: no face found (allowed: one frontal face)"
    assert not plan.with_suffix(".png").exists()
