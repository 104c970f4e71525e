"""``dosemap groups``: create a clinic group and put clinics (sites) in it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dosemap.persistence.db import Database
from dosemap.persistence.migrate import upgrade
from dosemap.services import staff


def _run(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOSEMAP_DATA_DIR": str(tmp), "COLUMNS": "200"}
    env.pop("DOSEMAP_DATABASE_URL", None)
    env.pop("DOSEMAP_CLINIC", None)
    return subprocess.run(
        [sys.executable, "-m", "dosemap", *args], env=env, capture_output=True, text=True,
        check=False,
    )  # fmt: skip


def test_create_a_group_and_add_sites(tmp_path: Path) -> None:
    db = Database.from_url(f"sqlite:///{tmp_path / 'dosemap.sqlite3'}")
    upgrade(db.engine)
    for name in ("Rose North", "Rose South", "Elsewhere"):
        staff.create_clinic(db, staff.ClinicInput(name=name, jurisdiction="US-CA"))
    db.engine.dispose()
    assert _run(tmp_path, "groups", "create", "Rose").returncode == 0
    assert _run(tmp_path, "groups", "create", "Other").returncode == 0
    assert _run(tmp_path, "groups", "add", "Rose", "--clinic", "Rose North").returncode == 0
    added = _run(tmp_path, "groups", "add", "Rose", "--clinic", "Rose South")
    assert added.returncode == 0 and "Rose: Rose North, Rose South" in added.stdout
    assert _run(tmp_path, "groups", "add", "Other", "--clinic", "Elsewhere").returncode == 0
    moved = _run(tmp_path, "groups", "add", "Other", "--clinic", "Rose North")
    assert moved.returncode == 2 and "another group" in moved.stderr  # one group at most
    unknown = _run(tmp_path, "groups", "add", "Nowhere", "--clinic", "Elsewhere")
    assert unknown.returncode == 2 and "group" in unknown.stderr
    assert _run(tmp_path, "groups", "show", "Rose").stdout.split("\n")[:2] == [
        "Rose North",
        "Rose South",
    ]
