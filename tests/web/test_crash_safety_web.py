"""kill -9 of the web server in the middle of writes leaves no half-written record.

The server runs in a child process whose database announces, on stdout, the moment a
registration's transaction has sent its rows and is about to COMMIT ("mid-write"), then waits;
the test kills it right there (never after a guessed delay). Then: every patient whose
registration was answered is there, the one killed mid-write is not, every patient has its
audit entry, and the audit chain verifies. A second child is killed while requests keep coming,
after it has answered some: the same holds for whatever it committed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
from sqlalchemy import select

from dosemap.persistence.audit import verify_chain
from dosemap.persistence.models import AuditEntry, Patient
from dosemap.services.signin import SessionPolicy, hash_token
from support.web import WebWorld

TESTS_DIR = Path(__file__).resolve().parents[1]

# argv: url pause_at ("none": never pause). The child binds a free port itself and prints
# "listening <port>" once uvicorn has started (a signal to read, not a poll), then "mid-write".
CHILD = """
import sys, threading
from pathlib import Path
import uvicorn
from sqlalchemy import event
from dosemap.config import Settings
from dosemap.persistence.db import Database
from dosemap.web.app import create_app
from dosemap.web.settings import WebSettings

url, pause_at = sys.argv[1], sys.argv[2]
db = Database.from_url(url)
commits = 0

def before_commit(conn):
    global commits
    commits += 1
    if pause_at != "none" and commits == int(pause_at):
        print("mid-write", flush=True)
        threading.Event().wait()  # until killed

event.listen(db.engine, "commit", before_commit)
settings = WebSettings(records=Settings(data_dir=Path("."), database_url=url),
                       secure_cookies=False)


class Announced(uvicorn.Server):
    async def startup(self, sockets=None):
        await super().startup(sockets=sockets)
        port = self.servers[0].sockets[0].getsockname()[1]
        print(f"listening {port}", flush=True)


config = uvicorn.Config(create_app(settings, db=db), host="127.0.0.1", port=0,
                        log_level="warning")
Announced(config).run()
"""


def _start(world: WebWorld, pause_at: str) -> tuple[subprocess.Popen[str], str]:
    url = world.db.engine.url.render_as_string(hide_password=False)
    path = os.pathsep.join(filter(None, [str(TESTS_DIR), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONPATH": path}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, url, pause_at],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout is not None
    line = child.stdout.readline()  # blocks until the child listens (or ends: "")
    if not line.startswith("listening "):
        _kill(child)
        raise AssertionError(f"the server process ended (code {child.poll()}) before listening")
    return child, f"http://127.0.0.1:{int(line.split()[1])}"


def _signed_in(world: WebWorld) -> tuple[str, str]:
    store = world.app.state.dosemap.sessions
    token = store.create(
        world.own.accounts["front_desk"], pending_totp=False, policy=SessionPolicy()
    )
    found, _ = store.lookup(hash_token(token))
    assert found is not None
    return token, found.csrf_token


def _register(base: str, token: str, csrf: str, chart: str) -> int:
    response = httpx.post(
        base + "/patients",
        cookies={"dm_session": token},
        data={"csrf_token": csrf, "given_name": "Kill", "family_name": "Test",
              "date_of_birth": "1980-01-01", "chart_number": chart},
        timeout=60,
    )  # fmt: skip
    return response.status_code


def _kill(child: subprocess.Popen[str]) -> None:
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    if child.stdout is not None:
        child.stdout.close()


def _check(world: WebWorld, answered: set[str], absent: set[str]) -> set[str]:
    world.db.engine.dispose()
    with world.db.read() as s:
        patients = dict(
            s.execute(
                select(Patient.chart_number, Patient.id).where(Patient.chart_number.like("K-%"))
            ).all()
        )
        audited = set(
            s.execute(select(AuditEntry.entity_id).where(AuditEntry.entity == "patient")).scalars()
        )
        report = verify_chain(s)
    assert answered <= set(patients), "a registration answered 303 was lost"
    assert not (absent & set(patients)), "the registration killed before COMMIT was written"
    assert all(str(pid) in audited for pid in patients.values()), "a patient without its audit"
    assert report.ok, report.problems
    return set(patients)


def test_kill_9_before_commit_leaves_no_half_written_patient(world: WebWorld) -> None:
    token, csrf = _signed_in(world)
    child, base = _start(world, pause_at="3")  # two registrations commit, the third waits
    answered: set[str] = set()
    try:
        for n in (1, 2):
            assert _register(base, token, csrf, f"K-{n}") == 303
            answered.add(f"K-{n}")
        third = threading.Thread(target=lambda: _swallow(base, token, csrf, "K-3"), daemon=True)
        third.start()
        assert child.stdout is not None
        for line in child.stdout:  # the child says when the third is about to commit
            if line.startswith("mid-write"):
                break
        else:
            raise AssertionError(f"the server ended (code {child.poll()}) before mid-write")
    finally:
        _kill(child)
    third.join(timeout=60)
    assert _check(world, answered, absent={"K-3"}) == answered


def test_kill_9_while_requests_keep_coming(world: WebWorld) -> None:
    token, csrf = _signed_in(world)
    child, base = _start(world, pause_at="none")
    answered: set[str] = set()
    ended = 0  # senders that stopped (the server went away)
    progress = threading.Condition()
    stop = threading.Event()

    def keep_registering(first: int) -> None:
        nonlocal ended
        n = first
        try:
            while not stop.is_set():
                chart = f"K-{n}"
                if _register(base, token, csrf, chart) == 303:
                    with progress:
                        answered.add(chart)
                        progress.notify_all()
                n += 2
        except httpx.TransportError:
            pass  # the server was killed
        finally:
            with progress:
                ended += 1
                progress.notify_all()

    senders = [threading.Thread(target=keep_registering, args=(i,), daemon=True) for i in (1, 2)]
    for t in senders:
        t.start()
    try:
        with progress:  # woken by each answer: some answered, the next ones are in flight
            progress.wait_for(lambda: len(answered) >= 6 or ended == len(senders), timeout=120)
            assert len(answered) >= 6, f"only {len(answered)} registrations answered"
    finally:
        _kill(child)
        stop.set()
    for t in senders:
        t.join(timeout=60)
    with progress:
        answered_now = set(answered)
    written = _check(world, answered_now, absent=set())
    assert len(written) >= 6


def _swallow(base: str, token: str, csrf: str, chart: str) -> None:
    with contextlib.suppress(httpx.TransportError):  # killed mid-request: no answer, as expected
        _register(base, token, csrf, chart)
