"""A command imports only what it uses: ``--help``, ``catalog``, ``dilute`` and ``plan`` (no
photo) load no database, imaging or drawing library (they once cost ~2.5 s a start)."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys

import pytest
from PIL import Image
from skimage import data

from dosemap.cli import commands

# Run a command in a fresh interpreter, then report its exit status and the modules it loaded.
PROBE = """
import json, sys
from dosemap.cli import main
sys.argv = ["dosemap", *sys.argv[1:]]
try:
    main()
    status = 0
except SystemExit as exc:
    status = exc.code or 0
print(json.dumps({"status": status, "modules": sorted(sys.modules)}), file=sys.stderr)
"""

DATABASE = {"sqlalchemy", "alembic", "psycopg", "dosemap.persistence"}
IMAGING = {"mediapipe", "cv2", "skimage", "pillow_heif", "matplotlib", "dosemap.imaging"}
DRAWING = {"PIL", "isal", "dosemap.render"}
NEVER = DATABASE | IMAGING | DRAWING | {"dosemap.services"}


def _loaded(args: list[str], tmp_path: object) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        cwd=str(tmp_path),
        timeout=120,
    )
    *messages, last = proc.stderr.strip().splitlines()
    report = json.loads(last)
    assert report["status"] == 0, "\n".join([proc.stdout, *messages])
    return set(report["modules"])


def _hits(loaded: set[str], forbidden: set[str]) -> list[str]:
    return sorted(m for m in loaded if any(m == f or m.startswith(f + ".") for f in forbidden))


@pytest.mark.parametrize(
    ("args", "forbidden"),
    [
        (["--help"], NEVER | {"numpy", "shapely", "pydantic", "dosemap.domain.library"}),
        (["catalog", "protocols"], NEVER | {"numpy", "shapely"}),
        (
            ["dilute", "--product", "botox_cosmetic", "--vial-units", "100", "--diluent-ml", "2.5"],
            NEVER | {"numpy", "shapely"},
        ),
        (["plan", "--out", "plan.json", "--zones", "forehead", "--protocol", "diaspro_2020_grid"],
         NEVER),
        (["plan", "--out", "plan.json", "--protocol", "diaspro_2020_grid", "--svg", "plan.svg"],
         DATABASE | IMAGING),
        (["schema", "plan"], NEVER),
    ],
    ids=["help", "catalog", "dilute", "plan", "plan-svg-no-photo", "schema"],
)  # fmt: skip
def test_command_imports_only_what_it_uses(args, forbidden, tmp_path):
    assert _hits(_loaded(args, tmp_path), forbidden) == []


def test_the_probe_sees_a_heavy_import(tmp_path):
    """The check above can fail: a database command does load SQLAlchemy."""
    loaded = _loaded(["db", "--help"], tmp_path)
    assert "sqlalchemy" in _hits(loaded, DATABASE)


@pytest.mark.slow
def test_photos_check_loads_one_mediapipe_solution_and_no_database(tmp_path):
    """``import mediapipe`` would load every solution, the Tasks API and matplotlib.pyplot."""
    face = tmp_path / "astronaut.jpg"  # public-domain NASA portrait shipped with scikit-image
    Image.fromarray(data.astronaut()).save(face)
    loaded = _loaded(["photos", "check", str(face)], tmp_path)
    assert "mediapipe.python.solutions.face_mesh" in loaded
    unused = DATABASE | DRAWING - {"PIL"} | {"dosemap.services", "dosemap.render"}
    assert _hits(loaded, unused | {"matplotlib", "mediapipe.tasks", "sounddevice"}) == []
    assert "mediapipe.python.solutions.drawing_utils" not in loaded


@pytest.mark.parametrize("name", list(commands.COMMANDS))
def test_listed_help_is_the_commands_own(name):
    """``dosemap --help`` shows the table's line without importing; it must be the command's."""
    command = commands.load(name)
    own = inspect.cleandoc(command.help or "").split("\n\n")[0].replace("\n", " ").strip()
    assert commands.COMMANDS[name].help == own


def test_help_lists_every_command(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "dosemap", "--help"],
        capture_output=True,
        text=True,
        cwd=str(tmp_path),
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert proc.returncode == 0, proc.stderr
    listed = [line.split()[1] for line in proc.stdout.splitlines() if line.startswith("│ ")]
    assert listed[-len(commands.COMMANDS) :] == list(commands.COMMANDS)


def test_an_unknown_command_is_refused_with_a_suggestion(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "dosemap", "dilut"],
        capture_output=True,
        text=True,
        cwd=str(tmp_path),
        timeout=120,
    )
    assert proc.returncode == 2
    assert "'dilute'" in proc.stderr


def test_a_stand_in_never_runs_as_if_it_were_the_command():
    """Only ``--help`` sees the stand-ins; reaching one around the lazy group is an error."""
    group = commands.LazyGroup(name="dosemap")
    stand_in = group.commands["dilute"]
    assert stand_in.get_short_help_str(200) == commands.COMMANDS["dilute"].help
    with pytest.raises(RuntimeError, match="before it was loaded"):
        stand_in.invoke(stand_in.make_context("dilute", []))
