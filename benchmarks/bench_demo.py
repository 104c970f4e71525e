"""Time the demo clinic's seed (what ``make run`` does first) against a bare bulk copy.

Run: ``.venv/bin/python benchmarks/bench_demo.py [--backend sqlite|postgresql|both]``.

The seed (plans from the core planner, the services' rules, safety checks at signing, audit
digests) is timed on a fresh database; the baseline, measured in the same run, copies the very
rows it wrote into another fresh database with one bulk insert per table. The ratio says what
the seed costs beyond writing its rows. Prints seconds (wall and CPU); no assertion.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from sqlalchemy import delete, insert, select

from dosemap.persistence.db import Database
from dosemap.persistence.models import Base
from dosemap.resources import load_library
from dosemap.services.demo import seed_demo_clinic

# Throw-away databases come from the tests' helpers (not shipped in the wheel).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.databases import pg_unavailable_reason, temporary_database

TODAY = date(2026, 11, 20)


def _timed(run):  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def _copy(source: Database, target: Database) -> int:
    """Every row of ``source`` into ``target``: one bulk insert per table, one transaction."""
    rows = 0
    with source.read() as s:
        tables = [(t, [dict(r._mapping) for r in s.execute(select(t))]) for t in
                  Base.metadata.sorted_tables]  # fmt: skip
    with target.write() as s:
        for table, data in tables:
            if data:
                s.execute(insert(table), data)
                rows += len(data)
    return rows


def bench(backend: str, directory: Path) -> None:
    library = load_library()
    with (
        temporary_database(backend, directory / "seed") as seeded,
        temporary_database(backend, directory / "copy") as copy,
    ):
        summary, wall, cpu = _timed(lambda: seed_demo_clinic(seeded, today=TODAY, library=library))
        with copy.write() as s:  # rows the migrations put in (the audit head)
            for table in reversed(Base.metadata.sorted_tables):
                s.execute(delete(table))
        rows, base_wall, base_cpu = _timed(lambda: _copy(seeded, copy))
    print(f"== {backend}: {summary.patients} patients, {summary.sessions} sessions, {rows} rows")
    print(f"  demo seed:             {wall:6.2f} s wall, {cpu:6.2f} s CPU")
    print(f"  bulk copy (baseline):  {base_wall:6.2f} s wall, {base_cpu:6.2f} s CPU")
    print(f"  seed / copy:           {wall / base_wall:6.1f}x wall, {cpu / base_cpu:6.1f}x CPU")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="sqlite")
    args = ap.parse_args()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            if backend == "postgresql" and (reason := pg_unavailable_reason()):
                print(f"== postgresql: skipped: {reason}")
                continue
            bench(backend, Path(tmp))


if __name__ == "__main__":
    main()
