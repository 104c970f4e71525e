"""``dosemap demo`` — what ``make run`` runs — on a fresh data directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from dosemap.domain.plan import Plan


def _demo(tmp_path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOSEMAP_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "160"}
    env.pop("DOSEMAP_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "dosemap", "demo", "--out-dir", str(tmp_path / "out"), *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=600,
    )


def test_demo_plans_the_full_face_and_opens_the_clinic_once(tmp_path):
    first = _demo(tmp_path)
    assert first.returncode == 0, first.stderr
    plan = Plan.model_validate(json.loads((tmp_path / "out" / "plan.json").read_text()))
    # Forehead and both cheeks at a 1 cm grid: the seed article's 50-100 entries.
    assert 50 <= plan.summary.needle_entries <= 100
    assert sum(p.units for p in plan.points) == plan.summary.total_units
    assert (tmp_path / "out" / "plan.png").read_bytes()[:4] == b"\x89PNG"
    assert "<svg" in (tmp_path / "out" / "plan.svg").read_text()
    assert "Safety check of the plan" in first.stdout
    assert "seeded: 40 patients" in first.stdout
    assert (tmp_path / "data" / "dosemap.sqlite3").is_file()

    second = _demo(tmp_path)
    assert second.returncode == 0, second.stderr
    assert "already there: 40 patients" in second.stdout
