"""A process killed with SIGKILL mid-write leaves each record as before or as after.

A child process charts large sessions (400 droplets each) and says so on stdout after each
commit. The test kills it at points it announces, never after a guessed delay: once after it
has committed some charts and goes on writing, and twice while a chart's transaction has sent
all its rows and waits to commit. Then every session must be whole: either planned with no
droplets, or charted with all of them, vial draws matching, and the audit chain intact.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from dosemap.persistence.audit import verify_chain
from dosemap.persistence.models import ChartPoint, SessionVialUsage, TreatmentSession, Vial
from dosemap.services import vials
from support.clinic import T0, SeededClinic

POINTS = 400
TESTS_DIR = Path(__file__).resolve().parents[1]

# argv: url clinic patient injector vial points charts then; ``then`` is "go-on" (keep charting
# after announcing ``charts`` commits) or "pause" (block inside the next chart's transaction,
# after its rows are sent and before COMMIT, and say "mid-write SESSION_ID").
CHILD = """
import sys, threading, uuid
from sqlalchemy import event
from dosemap.persistence.db import Database
from dosemap.resources import load_library
from dosemap.services import sessions
from support.clinic import T0, make_plan

url, clinic, patient, injector, vial = sys.argv[1:6]
charts, then = int(sys.argv[7]), sys.argv[8]
db = Database.from_url(url)
lib = load_library()
plan = make_plan(int(sys.argv[6]), volume_ul="1", units_per_ml="1")
points = sessions.chart_as_planned(plan, uuid.UUID(vial))
pausing = None

def before_commit(conn):
    if pausing is not None:
        print("mid-write", pausing, flush=True)
        threading.Event().wait()  # until killed

event.listen(db.engine, "commit", before_commit)
done = 0
while True:
    row = sessions.plan_session(db, uuid.UUID(clinic), patient_id=uuid.UUID(patient),
                                injector_id=uuid.UUID(injector), plan=plan, scheduled_at=T0,
                                actor="crash-test")
    if done == charts and then == "pause":
        pausing = row.id
    chart = sessions.ChartInput(performed_at=T0, points=points)
    sessions.chart_session(db, uuid.UUID(clinic), row.id, chart, lib,
                           expected_version=row.version, actor="crash-test")
    done += 1
    print("charted", done, flush=True)
"""


def _kill_when(child: subprocess.Popen[str], announcement: str) -> str:
    """Read the child's lines until one starts with ``announcement``; SIGKILL it there."""
    assert child.stdout is not None
    try:
        for line in child.stdout:
            if line.startswith(announcement):
                return line.strip()
        raise AssertionError(f"child ended (code {child.wait()}) before saying {announcement!r}")
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()


def test_kill_9_mid_write_leaves_whole_records(clinic: SeededClinic) -> None:
    big = vials.open_vial(
        clinic.db,
        clinic.clinic_id,
        vials.VialInput(
            lot_id=clinic.lot_id,
            label="V-big",
            vial_units=Decimal(1000),
            diluent_ml=Decimal(10),
            reconstituted_at=T0,
        ),
        clinic.library,
        actor="t",
    )
    url = clinic.db.engine.url.render_as_string(hide_password=False)
    path = os.pathsep.join(filter(None, [str(TESTS_DIR), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONPATH": path}
    ids = [clinic.clinic_id, clinic.patient_id, clinic.injector, big.id]
    paused: list[uuid.UUID] = []
    for charts, then in ((2, "go-on"), (1, "pause"), (0, "pause")):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, url, *map(str, ids), str(POINTS), str(charts), then],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        if then == "go-on":
            _kill_when(child, f"charted {charts}")
        else:
            paused.append(uuid.UUID(_kill_when(child, "mid-write").split()[1]))
    clinic.db.engine.dispose()
    with clinic.db.read() as s:
        rows = s.execute(
            select(TreatmentSession.id, TreatmentSession.status, func.count(ChartPoint.id))
            .outerjoin(ChartPoint, ChartPoint.session_id == TreatmentSession.id)
            .where(TreatmentSession.clinic_id == clinic.clinic_id)
            .group_by(TreatmentSession.id, TreatmentSession.status)
        ).all()
        states = {(status, n) for _, status, n in rows}
        assert states <= {("planned", 0), ("charted", POINTS)}
        charted = sum(1 for _, status, _n in rows if status == "charted")
        assert charted >= 3  # each child announced its commits before it was killed
        # The charts killed before COMMIT left their sessions as planned, without droplets.
        by_id = {session_id: (status, n) for session_id, status, n in rows}
        assert [by_id[p] for p in paused] == [("planned", 0)] * 2
        drawn = s.get(Vial, big.id).units_drawn  # type: ignore[union-attr]
        used = s.execute(
            select(func.sum(SessionVialUsage.units)).where(SessionVialUsage.vial_id == big.id)
        ).scalar()
        assert drawn == used == Decimal("0.4") * charted
        report = verify_chain(s)
    assert report.ok, report.problems
