"""A serving process (``dosemap.web.asgi``, what ``dosemap serve`` runs) freezes what start-up
built and raises the young generation's threshold; importing the app elsewhere does not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from dosemap.persistence.db import Database
from dosemap.services.database import upgrade_schema
from dosemap.web.serving_gc import GEN0_THRESHOLD

_REPORT = "import gc, json; print(json.dumps([gc.get_freeze_count(), gc.get_threshold()[0]]))"


def _gc_after(tmp_path: Path, imports: str) -> tuple[int, int]:
    env = {**os.environ, "DOSEMAP_DATA_DIR": str(tmp_path), "DOSEMAP_WEB_SECURE_COOKIES": "0"}
    env.pop("DOSEMAP_DATABASE_URL", None)
    env.pop("DOSEMAP_REDIS_URL", None)
    out = subprocess.run(
        [sys.executable, "-c", f"{imports}\n{_REPORT}"],
        env=env, capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    frozen, threshold = json.loads(out.stdout.strip().splitlines()[-1])
    return frozen, threshold


def test_the_worker_entry_point_freezes_start_up(tmp_path: Path) -> None:
    db = Database.from_url(f"sqlite:///{tmp_path / 'dosemap.sqlite3'}")
    upgrade_schema(db)
    db.dispose()
    frozen, threshold = _gc_after(tmp_path, "import dosemap.web.asgi")
    assert threshold == GEN0_THRESHOLD
    assert frozen > 50_000  # the app's modules and objects, not a handful


def test_building_the_app_elsewhere_keeps_the_defaults(tmp_path: Path) -> None:
    frozen, threshold = _gc_after(tmp_path, "import dosemap.web.app")
    assert (frozen, threshold) == (0, 700)
