"""Scale benchmark for the clinical record: seed sessions and charted points in bulk, then time
the four questions clinics ask most (patient timeline, rolling 90-day units, lot recall,
follow-ups due) at each size, on SQLite and PostgreSQL.

Usage::

    .venv/bin/python benchmarks/bench_records.py --sizes 10000 100000 --points 80
    .venv/bin/python benchmarks/bench_records.py --backend sqlite --sizes 1000 10000

Seeding bypasses the services (bulk Core inserts, no audit entries) because only the read
paths are measured; the reads go through the same service functions the CLI and web use.
Each figure is the median of ``--repeat`` runs over different patients / lots. The ratio
column compares each size with the first size measured in the same run.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import insert

from dosemap.persistence.db import Database
from dosemap.persistence.models import (
    ChartPoint,
    Clinic,
    FollowUp,
    Patient,
    ProductLot,
    SessionVialUsage,
    Staff,
    TreatmentSession,
    Vial,
)
from dosemap.services import followups, reporting

# Throw-away databases come from the tests' helpers (not shipped in the wheel).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.databases import pg_unavailable_reason, temporary_database

SESSIONS_PER_PATIENT = 20
SESSIONS_PER_VIAL = 5
VIALS_PER_LOT = 200
NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)
ANCHOR = {"vertices": [9, 107, 336], "weights": [0.4, 0.3, 0.3]}
PLAN = {"schema_version": "1", "note": "bulk benchmark session"}


class Seeder:
    """Appends sessions (with points, vial usage, follow-ups) in batches."""

    def __init__(self, db: Database, points: int, seed: int = 1) -> None:
        self.db = db
        self.points = points
        self.rng = random.Random(seed)
        self.sessions = 0
        self.patients: list[uuid.UUID] = []
        self.lots: list[str] = []
        self.clinic_id = uuid.uuid4()
        self.staff_id = uuid.uuid4()
        with db.write() as s:
            s.execute(
                insert(Clinic),
                [
                    {
                        "id": self.clinic_id,
                        "name": "bench",
                        "jurisdiction": "US-CA",
                        "created_at": NOW,
                        "version": 1,
                    }
                ],
            )
            s.execute(
                insert(Staff),
                [
                    {
                        "id": self.staff_id,
                        "clinic_id": self.clinic_id,
                        "display_name": "inj",
                        "role": "injector",
                        "active": True,
                        "created_at": NOW,
                        "version": 1,
                    }
                ],
            )
        self.lot_id: uuid.UUID | None = None
        self.vial_id: uuid.UUID | None = None

    def grow_to(self, total: int, batch: int = 500) -> None:
        while self.sessions < total:
            self._batch(min(batch, total - self.sessions))

    def _batch(self, n: int) -> None:
        rng = self.rng
        patients, lots, vials, sessions, points, usage, fups = [], [], [], [], [], [], []
        unit = Decimal("0.25")
        for _ in range(n):
            k = self.sessions
            if k % SESSIONS_PER_PATIENT == 0:
                pid = uuid.uuid4()
                self.patients.append(pid)
                patients.append(
                    {
                        "id": pid,
                        "clinic_id": self.clinic_id,
                        "chart_number": f"B{len(self.patients):07d}",
                        "given_name": "Bench",
                        "family_name": f"P{len(self.patients)}",
                        "date_of_birth": date(1980, 1, 1),
                        "phone": "+1 555 0000",
                        "email": "b@example.org",
                        "created_at": NOW,
                        "updated_at": NOW,
                        "version": 1,
                    }
                )
            if k % (SESSIONS_PER_VIAL * VIALS_PER_LOT) == 0:
                self.lot_id = uuid.uuid4()
                number = f"L{len(self.lots):06d}"
                self.lots.append(number)
                lots.append(
                    {
                        "id": self.lot_id,
                        "clinic_id": self.clinic_id,
                        "product": "botox_cosmetic",
                        "lot_number": number,
                        "expires_on": date(2028, 1, 1),
                        "created_at": NOW,
                        "version": 1,
                    }
                )
            at = NOW - timedelta(days=rng.randint(0, 540), minutes=rng.randint(0, 600))
            if k % SESSIONS_PER_VIAL == 0:
                self.vial_id = uuid.uuid4()
                vials.append(
                    {
                        "id": self.vial_id,
                        "clinic_id": self.clinic_id,
                        "lot_id": self.lot_id,
                        "label": f"V{k}",
                        "vial_units": Decimal(100),
                        "diluent": "saline",
                        "diluent_ml": Decimal("2.5"),
                        "reconstituted_at": at,
                        "beyond_use_policy": "label",
                        "beyond_use_at": at + timedelta(days=28),
                        "units_drawn": unit * self.points * SESSIONS_PER_VIAL,
                        "units_wasted": Decimal(0),
                        "created_at": NOW,
                        "version": 1,
                    }
                )
            # Spread visits over the most recent patients: about 20 sessions each, at every size.
            pid = self.patients[rng.randrange(max(0, len(self.patients) - 40), len(self.patients))]
            sid = uuid.uuid4()
            total = unit * self.points
            sessions.append(
                {
                    "id": sid,
                    "clinic_id": self.clinic_id,
                    "patient_id": pid,
                    "injector_id": self.staff_id,
                    "procedure": "neuromodulator_microdose",
                    "status": "signed",
                    "product": "botox_cosmetic",
                    "plan": PLAN,
                    "planned_units": total,
                    "scheduled_at": at,
                    "performed_at": at,
                    "total_units": total,
                    "botox_equivalent_units": total,
                    "signed_at": at,
                    "amendment_count": 0,
                    "created_at": NOW,
                    "updated_at": NOW,
                    "version": 1,
                }
            )
            for j in range(self.points):
                points.append(
                    {
                        "id": uuid.uuid4(),
                        "clinic_id": self.clinic_id,
                        "session_id": sid,
                        "vial_id": self.vial_id,
                        "number": j + 1,
                        "zone": "forehead",
                        "x_mm": 1.0 * j,
                        "y_mm": 60.0,
                        "z_mm": 40.0,
                        "anchor": ANCHOR,
                        "technique": "intradermal_wheal",
                        "depth": "intradermal",
                        "volume_ul": Decimal(10),
                        "units": unit,
                        "mix": "20 U/mL",
                    }
                )
            usage.append(
                {
                    "session_id": sid,
                    "vial_id": self.vial_id,
                    "clinic_id": self.clinic_id,
                    "points": self.points,
                    "units": total,
                }
            )
            for kind, days in (("review", 14), ("retreatment", 90)):
                due = at.date() + timedelta(days=days)
                fups.append(
                    {
                        "id": uuid.uuid4(),
                        "clinic_id": self.clinic_id,
                        "patient_id": pid,
                        "session_id": sid,
                        "kind": kind,
                        "due_on": due,
                        "status": "open" if due >= NOW.date() - timedelta(days=30) else "done",
                        "basis": "bench",
                        "created_at": NOW,
                        "version": 1,
                    }
                )
            self.sessions += 1
        with self.db.write() as s:
            for model, rows in (
                (Patient, patients),
                (ProductLot, lots),
                (Vial, vials),
                (TreatmentSession, sessions),
                (ChartPoint, points),
                (SessionVialUsage, usage),
                (FollowUp, fups),
            ):
                if rows:
                    s.execute(insert(model), rows)


def _median_ms(fn: Callable[[int], object], repeat: int) -> float:
    fn(0)  # warm the connection and statement caches
    times = []
    for i in range(repeat):
        t = time.perf_counter()
        fn(i + 1)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def measure(seeder: Seeder, repeat: int) -> dict[str, float]:
    db, cid, rng = seeder.db, seeder.clinic_id, random.Random(99)
    pats = [rng.choice(seeder.patients) for _ in range(repeat + 1)]
    lots = [rng.choice(seeder.lots) for _ in range(repeat + 1)]
    return {
        "patient timeline": _median_ms(
            lambda i: reporting.patient_timeline(db, cid, pats[i]), repeat
        ),
        "rolling 90-day units": _median_ms(
            lambda i: reporting.rolling_units(db, cid, pats[i], NOW, 90), repeat
        ),
        "lot recall": _median_ms(lambda i: reporting.lot_recall(db, cid, lots[i]), repeat),
        "follow-ups due (500)": _median_ms(
            lambda i: followups.followups_due(db, cid, NOW.date()), repeat
        ),
    }


def run(backend: str, sizes: list[int], points: int, repeat: int, budget_s: float) -> None:
    print(f"\n== {backend}: {points} points per session ==", flush=True)
    with tempfile.TemporaryDirectory() as tmp, temporary_database(backend, Path(tmp)) as db:
        seeder = Seeder(db, points)
        baseline: dict[str, float] | None = None
        started = time.perf_counter()
        for size in sizes:
            t = time.perf_counter()
            seeder.grow_to(size)
            seeded = time.perf_counter() - t
            if db.is_sqlite:
                with db.engine.begin() as conn:
                    conn.exec_driver_sql("ANALYZE")
            else:
                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.exec_driver_sql("ANALYZE")
            figures = measure(seeder, repeat)
            baseline = baseline or figures
            print(
                f"{size:>7} sessions, {size * points:>9} points, {len(seeder.patients)} patients, "
                f"{len(seeder.lots)} lots (seeded in {seeded:.0f} s)"
            )
            for name, ms in figures.items():
                print(f"    {name:<22} {ms:8.2f} ms   x{ms / baseline[name]:.2f} vs {sizes[0]}")
            sys.stdout.flush()
            if time.perf_counter() - started > budget_s:
                print(
                    f"    stopping: the {budget_s:.0f} s budget is spent; larger sizes not measured"
                )
                break


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--points", type=int, default=80)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument(
        "--budget", type=float, default=600, help="Seconds per back end before stopping."
    )
    args = ap.parse_args()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    for backend in backends:
        if backend == "postgresql" and (reason := pg_unavailable_reason()):
            print(f"\n== postgresql: skipped: {reason}")
            continue
        run(backend, sorted(args.sizes), args.points, args.repeat, args.budget)


if __name__ == "__main__":
    main()
