"""Signing throughput under contention: 8 writers (processes, as 8 clinicians' commands would be)
plan, chart and sign sessions that all draw from one shared vial, on SQLite and PostgreSQL.

Usage::

    .venv/bin/python benchmarks/bench_contention.py [--writers 8] [--sessions 4]
    DOSEMAP_TEST_PG_URL=postgresql://user@host/db .venv/bin/python benchmarks/bench_contention.py

Prints signed sessions per second on each back end and the PostgreSQL / SQLite ratio, both
measured in this run (the goal: PostgreSQL >= SQLite). Every failure a writer saw is counted;
the vial's units drawn are checked against the charts and the audit trail is verified.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
os.environ.setdefault("DOSEMAP_AUDIT_KEY", "bench-audit-key-0123456789abcdef")

from dosemap.persistence.db import Database
from dosemap.resources import load_library
from dosemap.services import audit as audit_service
from dosemap.services import sessions, vials
from dosemap.services.sessions import ChartInput
from support.clinic import T0, build_test_clinic, make_plan
from support.databases import temporary_database


def _writer(url: str, ids: dict[str, str], n: int, start, out) -> None:  # type: ignore[no-untyped-def]
    db = Database.from_url(url)
    library = load_library()
    cid, patient, injector, vial = (uuid.UUID(ids[k]) for k in ("c", "p", "i", "v"))
    plan = make_plan(6)
    errors: list[str] = []
    signed = 0
    start.wait()
    for _ in range(n):
        try:
            row = sessions.plan_session(
                db,
                cid,
                patient_id=patient,
                injector_id=injector,
                plan=plan,
                scheduled_at=T0,
                actor=str(injector),
            )
            row = sessions.chart_session(
                db,
                cid,
                row.id,
                ChartInput(performed_at=T0, points=sessions.chart_as_planned(plan, vial)),
                library,
                expected_version=row.version,
                actor=str(injector),
            )
            sessions.sign_session(
                db,
                cid,
                row.id,
                library,
                signer_id=injector,
                expected_version=row.version,
                actor=str(injector),
            )
            signed += 1
        except Exception as exc:  # counted and shown: the benchmark reports every failure
            errors.append(f"{type(exc).__name__}: {str(exc)[:120]}")
    out.put((signed, time.perf_counter(), errors))
    db.dispose()


def run(backend: str, writers: int, per_writer: int) -> tuple[float, int, list[str]]:
    with tempfile.TemporaryDirectory() as tmp, temporary_database(backend, Path(tmp)) as db:
        c = build_test_clinic(db, load_library())
        ids = {
            "c": str(c.clinic_id),
            "p": str(c.patient_id),
            "i": str(c.injector),
            "v": str(c.vial_id),
        }
        url = db.engine.url.render_as_string(hide_password=False)
        ctx = mp.get_context("spawn")
        start, out = ctx.Barrier(writers + 1), ctx.Queue()
        procs = [
            ctx.Process(target=_writer, args=(url, ids, per_writer, start, out))
            for _ in range(writers)
        ]
        for p in procs:
            p.start()
        start.wait()
        t0 = time.perf_counter()
        results = [out.get() for _ in procs]
        for p in procs:
            p.join()
        elapsed = max(r[1] for r in results) - t0
        signed = sum(r[0] for r in results)
        errors = [e for r in results for e in r[2]]
        (rec,) = vials.reconcile(db, c.clinic_id, [c.vial_id])
        assert rec.unaccounted == 0, rec
        report = audit_service.verify(db, None)
        assert report.ok, [str(p) for p in report.problems[:3]]
        return signed / elapsed, signed, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--sessions", type=int, default=4, help="sessions each writer signs")
    args = parser.parse_args()
    rates = {}
    for backend in ("sqlite", "postgresql"):
        rate, signed, errors = run(backend, args.writers, args.sessions)
        rates[backend] = rate
        print(
            f"{backend:10s} {signed:4d} signed by {args.writers} writers on one vial: "
            f"{rate:6.2f} signed/s, {len(errors)} failure(s)"
        )
        for e in sorted(set(errors))[:5]:
            print(f"    {e}")
    print(f"PostgreSQL / SQLite signing throughput: {rates['postgresql'] / rates['sqlite']:.2f}")


if __name__ == "__main__":
    main()
