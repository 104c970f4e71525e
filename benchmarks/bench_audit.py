"""Whole-database ``audit verify`` on the demo clinic (40 patients, 18 months: ~180 sessions,
~18,000 chart points, ~760 audit entries), on SQLite and PostgreSQL. Goal: <= 2 s.

Usage::

    .venv/bin/python benchmarks/bench_audit.py [--repeat 3]

Prints the median wall time and CPU time of the chain + record digests + checkpoint check, and
the share of it the record digests take (the chain alone measured in the same run). Wall time
on a machine shared with other work is above the CPU time; both are printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
os.environ.setdefault("DOSEMAP_AUDIT_KEY", "bench-audit-key-0123456789abcdef")

from dosemap.services import audit as audit_service
from dosemap.services.demo import seed_demo_clinic
from support.databases import temporary_database


def _timed(fn, repeat: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    walls, cpus = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for backend in ("sqlite", "postgresql"):
        with tempfile.TemporaryDirectory() as tmp, temporary_database(backend, Path(tmp)) as db:
            seed_demo_clinic(db)
            cps = Path(tmp) / "checkpoints"
            audit_service.checkpoint(db, cps)
            report = audit_service.verify(db, cps)
            assert report.ok, [str(p) for p in report.problems[:3]]
            wall, cpu = _timed(lambda db=db, cps=cps: audit_service.verify(db, cps), args.repeat)
            chain_wall, _ = _timed(
                lambda db=db, cps=cps: audit_service.verify(db, cps, records=False),
                args.repeat,
            )
            print(
                f"{backend:10s} verify {report.entries} entries + {report.records_checked} "
                f"records: {wall:.2f} s wall, {cpu:.2f} s CPU (chain alone {chain_wall:.2f} s); "
                f"goal <= 2 s: {'met' if wall <= 2 else 'NOT met'}"
            )


if __name__ == "__main__":
    main()
