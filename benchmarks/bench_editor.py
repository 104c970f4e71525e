"""Time the plan editor's round trip: move one point -> new totals, findings and panel back.

Run: ``.venv/bin/python benchmarks/bench_editor.py [N] [ZONES]``. A real server (uvicorn on
loopback, one worker) over a fresh SQLite database with one clinic, one patient and a planned
full-face session (every atlas zone, 10 mm: ~220 points); a client moves a point back and
forth N times (each an edit through the API: locked, audited, checked, panel rendered) and
reads the answer. Printed: p50, p95 and max milliseconds, against ``GET /healthz`` on the same
server in the same run. Issue 13's aim: p95 <= 100 ms. No assertion: timings are for reading.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import uvicorn

from dosemap.config import Settings
from dosemap.domain.atlas.zones import ZONE_ORDER
from dosemap.domain.plan import PlanRequest
from dosemap.domain.planning import build_plan
from dosemap.persistence.db import Database
from dosemap.persistence.migrate import upgrade
from dosemap.resources import load_library, template_mesh
from dosemap.services import accounts, patients, sessions, staff
from dosemap.services.signin import SessionPolicy
from dosemap.web.app import create_app
from dosemap.web.security import SESSION_COOKIE
from dosemap.web.settings import WebSettings


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


@dataclass(frozen=True)
class EditTimes:
    """One run's edit round trips (ms), against ``GET /healthz`` on the same server."""

    points: int
    edits: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    healthz_p50_ms: float
    answer_bytes: int


def measure(repeats: int = 100, zones: tuple[str, ...] = ZONE_ORDER) -> EditTimes:
    """Move one point back and forth ``repeats`` times through a live server; the timings."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Database.from_url(f"sqlite:///{Path(tmp) / 'bench.sqlite'}")
        upgrade(db.engine)
        clinic = staff.create_clinic(db, staff.ClinicInput(name="Bench", jurisdiction="US-CA"))
        injector = staff.add_staff(
            db, clinic.id, staff.StaffInput(display_name="Ivy", role="injector"), actor="bench"
        )
        patient = patients.register_patient(
            db,
            clinic.id,
            patients.PatientInput(
                chart_number="B-1", given_name="Pat", family_name="Bench",
                date_of_birth=date(1985, 5, 17),
            ),
            actor="bench",
        )  # fmt: skip
        account = accounts.create_account(
            db,
            clinic.id,
            accounts.AccountInput(
                username="ivy", display_name="Ivy", role="injector",
                password="bench password 1", staff_id=injector.id,
            ),
            actor="bench",
        )  # fmt: skip
        plan = build_plan(
            PlanRequest(zones=zones, protocol="diaspro_2020_grid"), load_library(), template_mesh()
        )
        row = sessions.plan_session(
            db, clinic.id, patient_id=patient.id, injector_id=injector.id, plan=plan,
            scheduled_at=datetime.now(UTC), actor="bench",
        )  # fmt: skip
        settings = WebSettings(
            records=Settings(data_dir=Path(tmp), database_url=str(db.engine.url)),
            secure_cookies=False,
        )
        app = create_app(settings, db=db)
        cookie = app.state.dosemap.sessions.create(
            account, pending_totp=False, policy=SessionPolicy()
        )
        port = _port()
        server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, cookies={SESSION_COOKIE: cookie}) as client:
            page = client.get(f"/sessions/{row.id}/plan").text
            start = page.index('id="editor-data">') + len('id="editor-data">')
            data = json.loads(page[start : page.index("</script>", start)])
            headers = {"X-CSRF-Token": data["csrf"]}
            version = data["version"]
            first = plan.points[0].anchor.model_dump()
            other = plan.points[1].anchor.model_dump()
            edits, health = [], []
            for k in range(repeats + 5):
                anchor = other if k % 2 == 0 else first
                t0 = time.perf_counter()
                answer = client.post(
                    data["edit_url"],
                    json={"expected_version": version,
                          "edits": [{"op": "move", "number": 1, "anchor": anchor}]},
                    headers=headers,
                )  # fmt: skip
                body = answer.json()
                elapsed = (time.perf_counter() - t0) * 1000
                if answer.status_code != 200:
                    raise SystemExit(f"edit refused: {answer.status_code} {body}")
                version = body["version"]
                t0 = time.perf_counter()
                client.get("/healthz")
                bare = (time.perf_counter() - t0) * 1000
                if k >= 5:  # the first few warm the caches
                    edits.append(elapsed)
                    health.append(bare)
        server.should_exit = True
        thread.join(timeout=10)
    return EditTimes(
        points=len(plan.points),
        edits=repeats,
        p50_ms=_percentile(edits, 0.5),
        p95_ms=_percentile(edits, 0.95),
        max_ms=max(edits),
        healthz_p50_ms=_percentile(health, 0.5),
        answer_bytes=len(answer.content),
    )


def report(t: EditTimes) -> str:
    """The figures as printed (with the load average: the machine is shared)."""
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"edit round trip (move one point of {t.points}), {t.edits} edits, loopback, "
        f"load average {load}:\n"
        f"  p50 {t.p50_ms:7.1f} ms   p95 {t.p95_ms:7.1f} ms   max {t.max_ms:7.1f} ms"
        f"   (target: p95 <= 100 ms)\n"
        f"  GET /healthz p50 {t.healthz_p50_ms:7.2f} ms; edit p50 / healthz p50: "
        f"{t.p50_ms / t.healthz_p50_ms:6.1f}x\n"
        f"  edit answer size: {t.answer_bytes} bytes"
    )


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    zones = tuple(sys.argv[2].split(",")) if len(sys.argv) > 2 else ZONE_ORDER
    print(report(measure(repeats, zones)))


if __name__ == "__main__":
    main()
