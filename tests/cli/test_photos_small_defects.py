"""Photo commands on awkward files: 16-bit PNG, corrupt EXIF, missing paths, a sideways EXIF
rotation, a folder where every photo fails. Each once went wrong (issue 11, item 6)."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

# EXIF whose first directory claims 255 entries but holds one: Pillow warns and goes on.
CORRUPT_EXIF = b"Exif\x00\x00II*\x00\x08\x00\x00\x00\xff\x00" + bytes(20)


def _dosemap(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """A real process: Python's own warning printing is on, as for a person at a terminal."""
    return subprocess.run(
        [sys.executable, "-m", "dosemap", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def _astronaut_jpeg(path: Path, **params: object) -> Path:
    """scikit-image's astronaut (a public-domain NASA portrait) as a phone JPEG."""
    Image.fromarray(data.astronaut()).save(path, "JPEG", quality=92, **params)
    return path


@pytest.fixture
def plan_file(tmp_path: Path) -> Path:
    out = tmp_path / "plan.json"
    proc = _dosemap("plan", "--out", out, "--protocol", "wu_microbotox_20", "--zones",
                    "forehead", cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.mark.slow
@pytest.mark.parametrize("command", ["plan", "render"])
def test_corrupt_exif_is_one_clear_line_not_pillows_warning(tmp_path, plan_file, command):
    face = _astronaut_jpeg(tmp_path / "phone.jpg", exif=CORRUPT_EXIF)
    picture = tmp_path / "out.png"
    if command == "plan":
        proc = _dosemap(
            "plan", "--out", tmp_path / "p.json", "--protocol", "wu_microbotox_20",
            "--zones", "forehead", "--photo", face, "--png", picture, cwd=tmp_path,
        )  # fmt: skip
    else:
        proc = _dosemap("render", plan_file, "--photo", face, "--png", picture, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Warning" not in proc.stderr and "site-packages" not in proc.stderr, proc.stderr
    notes = [line for line in proc.stdout.splitlines() if "EXIF" in line]
    assert notes == [
        "Note: phone.jpg: EXIF metadata partly unreadable (Corrupt EXIF data. Expecting to read "
        "12 bytes but only got 8.); orientation taken as upright"
    ]


@pytest.mark.parametrize("kind", ["missing", "folder"])
def test_a_photo_path_that_is_no_file_is_named(tmp_path, kind):
    path = tmp_path / "nowhere.jpg" if kind == "missing" else tmp_path
    proc = _dosemap("photos", "check", path, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        f"error: photo: cannot read {path} "
        f"({'No such file or directory' if kind == 'missing' else 'a folder, not a file'}) "
        "(allowed: a JPEG, PNG or HEIC/HEIF file)"
    ]


@pytest.mark.slow
def test_a_sixteen_bit_grey_png_is_measured(tmp_path):
    grey = np.asarray(Image.fromarray(data.astronaut()).convert("L")).astype(np.uint16) * 257
    png = tmp_path / "scan.png"
    Image.fromarray(grey).save(png)
    proc = _dosemap("photos", "check", "--json", "--no-metrics", png, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr  # once: "no face found" on an all-white picture


@pytest.mark.slow
def test_an_exif_rotation_that_lays_the_face_on_its_side_says_so(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display": the upright astronaut lies down
    face = _astronaut_jpeg(tmp_path / "turned.jpg", exif=exif.tobytes())
    proc = _dosemap("photos", "check", face, cwd=tmp_path)
    assert proc.returncode == 2
    assert "face on its side" in proc.stderr and "orientation" in proc.stderr, proc.stderr


@pytest.mark.slow
def test_analyze_fails_when_every_photo_fails(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buffer, "JPEG")
    (folder / "cut.jpg").write_bytes(buffer.getvalue()[:400])
    (folder / "blank.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    proc = _dosemap("photos", "analyze", folder, "--out", tmp_path / "rows.csv", "--workers",
                    "1", cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 2, proc.stdout
    assert "0 of 2 photos analysed, 2 failed" in proc.stdout
    assert proc.stderr.strip().splitlines()[-1] == (
        "error: folder: all 2 photos failed (allowed: at least one photo that can be measured)"
    )
    assert (tmp_path / "rows.csv").read_text().count("error") >= 2  # the rows say why
