"""``dosemap photos`` end to end on the test faces."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys

import numpy as np
from PIL import Image
from typer.testing import CliRunner

import dosemap.cli as cli
from dosemap.domain.errors import InvalidInputError
from support.faces import face_files

FACES = face_files()  # raises at collection if any is missing
runner = CliRunner()


def setup_module() -> None:
    cli._register()


def test_check_json_reports_scale_and_skin():
    result = runner.invoke(cli.app, ["photos", "check", str(FACES[0]), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert 50 <= report["quality"]["ipd_mm"] <= 75
    assert report["skin"]["greyscale"] is True  # the test faces are greyscale JPEGs


def test_check_refuses_a_non_image_in_one_line(tmp_path):
    bogus = tmp_path / "notes.jpg"
    bogus.write_text("not a photo")
    proc = subprocess.run(
        [sys.executable, "-m", "dosemap", "photos", "check", str(bogus)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: photo notes.jpg: not an image file (allowed: JPEG, PNG or HEIC/HEIF)"
    ]


def test_analyze_writes_one_row_per_photo_and_skips_bad_ones(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for face in FACES[:3]:
        shutil.copy(face, folder / face.name)
    (folder / "broken.jpg").write_bytes(FACES[3].read_bytes()[:500])
    out = tmp_path / "rows.csv"
    result = runner.invoke(
        cli.app,
        ["photos", "analyze", str(folder), "--out", str(out), "--json", str(tmp_path / "r.json"),
         "--workers", "2"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["file"] for r in rows] == sorted(p.name for p in folder.iterdir())
    bad = [r for r in rows if r["status"] == "error"]
    assert [(r["file"], r["error_code"]) for r in bad] == [("broken.jpg", "truncated")]
    assert all(50 <= float(r["ipd_mm"]) <= 75 for r in rows if r["status"] == "ok")
    assert len(json.loads((tmp_path / "r.json").read_text())) == 4
    assert "broken.jpg" in result.output


def test_align_writes_three_pictures(tmp_path):
    result = runner.invoke(
        cli.app, ["photos", "align", str(FACES[0]), str(FACES[0]), "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert "mm RMS" in result.output
    for name in ("side_by_side.png", "ghost.png", "difference.png"):
        with Image.open(tmp_path / name) as picture:
            assert picture.size[1] == 250


def test_align_of_two_different_people_exits_3_with_the_distance(tmp_path):
    """Issue 11 #2: geometry aligned different people to ~1 mm and exited 0."""
    result = runner.invoke(
        cli.app, ["photos", "align", str(FACES[0]), str(FACES[1]), "--out", str(tmp_path)]
    )
    assert result.exit_code == 3, result.output
    assert "may show a different person: face distance" in result.output
    assert "same person <= 0.50" in result.output
    assert (tmp_path / "ghost.png").exists()  # written anyway, for the clinic to look at


def test_align_of_the_same_face_reenlarged_is_the_same_person(tmp_path):
    with Image.open(FACES[2]) as original:
        original.convert("RGB").resize((300, 375), Image.BICUBIC).save(tmp_path / "later.png")
    result = runner.invoke(
        cli.app,
        ["photos", "align", str(FACES[2]), str(tmp_path / "later.png"), "--out", str(tmp_path)],
    )
    assert result.exit_code == 0, result.output
    assert "Same person: face distance" in result.output


def test_align_clinic_threshold_is_checked(tmp_path):
    result = runner.invoke(
        cli.app,
        ["photos", "align", str(FACES[0]), str(FACES[0]), "--same-person-max-distance", "7"],
    )
    # dosemap's main() turns this error into one line and exit 2 (tests/cli/test_check.py)
    assert isinstance(result.exception, InvalidInputError)
    assert result.exception.field == "same_person_max_distance"


def test_strip_removes_gps(tmp_path):
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 24.0)}
    buffer = io.BytesIO()
    Image.fromarray(np.full((20, 30, 3), 90, np.uint8)).save(buffer, "JPEG", exif=exif)
    source = tmp_path / "gps.jpg"
    source.write_bytes(buffer.getvalue())
    result = runner.invoke(cli.app, ["photos", "strip", str(source), str(tmp_path / "clean.jpg")])
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "clean.jpg") as clean:
        assert not clean.getexif()
