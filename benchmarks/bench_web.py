"""The web app's pages under load against a bare FastAPI route serving the same bytes.

Run: ``.venv/bin/python benchmarks/bench_web.py [--duration 8] [--workers 1 2]``.

Seeds the demo clinic (SQLite, in a temporary folder), signs in as the injector, then for each
worker count starts two uvicorn servers on 127.0.0.1 — the app, and ``bare_app.py`` returning
each measured page's HTML as served — and drives each page and its bare twin with wrk (64
connections, 2 threads, a fixed duration: bounded, loopback only). Pages: Today, a patient's
record (access-logged: one write per request), and the patient search (a POST, as htmx sends
it). Prints requests/s, p99 latency, errors and the ratio page/bare (target >= 0.5), then
times the plan editor's edit round trip (``bench_editor.measure``: p50/p95, target p95 <= 100
ms), each with the load average (``--edits 0`` skips it).

Figures (2 shared cores, 2 Dec 2026, ``--duration 5``; the load average was 12-15 all
afternoon, so only same-run ratios mean anything, and even they wander by +-0.2):
before (main 3d7fdce) patient/bare 0.18 (1 worker) and 0.18 (2), search 0.33 and 0.23,
patient/today 0.26 and 0.49; after (access log committed on the loop, urlencoded forms read
with parse_qsl) patient/bare 0.21 and 0.33, search 0.45 and 0.33, patient/today 0.83 and
0.84, 0 errors. Today/bare itself was 0.28-0.88 at that load (0.53 at load ~1 earlier), so
the >= 0.5 target cannot be confirmed here; rerun on a quiet machine. Edit round trip, 60
moves of one point of 195: before p50 788 / p95 2225 ms (23.8x healthz, load 12.7), after
p50 308 / p95 645 ms (21.3x healthz, load 9.9); the answer went from 33.9 kB to 4.3 kB.

2 Dec 2026 17:11-17:17 (load 1.4 -> 2.2), ``--duration 5 --edits 0``, main 7bff950 then main
7f599c8 (session row conversion remembered, look-up on the access log's connection, FastAPI
telemetry off; the search became access-logged meanwhile): today/bare 0.49 -> 0.54 (1 worker),
0.55 -> 0.57 (2); patient 0.23 -> 0.32, 0.34 -> 0.36; search 0.51 -> 0.30, 0.56 -> 0.39; 0
errors. CPU per request in one process (``web_cpu.py``, load 0.5): today 335 -> 210 µs,
patient 773 -> 475 µs, search 389 -> 535 µs (now one access-log commit each); bare 87-136 µs.
The patient page and the search do not reach 0.5: each pays a group commit.

2 Dec 2026 19:22-19:48, the database side of the request path (issue 12): main 9cefd10
before, main 2ff8f94 after (access-log rows built once per request's run of entries, one
statement per batch on PostgreSQL; the session look-up answered from memory while SQLite's
``PRAGMA data_version`` is unchanged; the access log's (entity, entity_id) index dropped,
migration 0014). The search is now also measured finding 10 patients (``patient_search_10``,
chart prefix D-001); "Ga" finds 2 and its row keeps its old name. CPU per request
(``web_cpu.py``, same seeded data, load 1.6 then 1.5): today 108 -> 78 µs, patient 370 -> 218,
search (2 found) 356 -> 231, search (10 found) 617 -> 333; bare 39-57. In context
(instrumented, load ~3): the session look-up 39 -> 15 µs, a 10-row access-log batch 350 ->
141-168 µs, a 1-row batch 85 -> 64-90 µs. ``--duration 5 --edits 0``, ratio page/bare, 1 / 2
workers: after (load 1.2 -> 1.9) today 0.60 / 0.57, patient 0.37 / 0.33, search 0.36 / 0.50,
search_10 0.24 / 0.40; before (load 3.0 -> 7.0: another helper's run started meanwhile, so
its 2-worker rows are not comparable) today 0.52 / 0.42, patient 0.26 / 0.26, search 0.36 /
0.34, search_10 0.16 / 0.33; 0 errors. The patient page and the searches stay below 0.5 with
one worker: what is left per request is mostly FastAPI's (see ``web_cpu.py --profile``).

2 Dec 2026 18:46-20:05, the framework side of the request path (issue 12): ``authorise``
called by the route class (``security.GuardedRoute``) instead of as a FastAPI dependency
(main 11476b1), then pages taking only the request and path parameters served without
FastAPI's dependency solving (9485527), then a first-segment route index (``web/route_index.py``).
CPU per request (``web_cpu.py``, alternating runs of the old and new code on the same seeded
data, min / median of 3-4 runs): GuardedRoute at load 4.4-5.1 today 104 -> 93 µs, patient
285 -> 242, search 321 -> 277; the direct handler at load 1.7-2.2 today 67/72 -> 48/51 µs,
patient 206/236 -> 197/199, search 203/231 -> 192/202; bare 39-43. Route matching (load ~6):
Vials (55th of 89 routes) 63 -> 3.5 µs, Today / patient / search 2.5-7 µs either way.
``--duration 5 --edits 0`` after the first two (main 9485527, load 1.8 -> 1.9), ratio
page/bare, 1 / 2 workers: today 0.68 / 0.73, patient 0.51 / 0.55, search 0.38 / 0.67,
search_10 0.33 / 0.33, 0 errors (before them, main 2ff8f94 above: 0.60 / 0.57, 0.37 / 0.33,
0.36 / 0.50, 0.24 / 0.40). ``gc.freeze()`` after start-up was measured and left out: 6000
requests in one process ran 5 gen-0 collections and no gen-1 or gen-2 one (0.5 ms in all).
The searches stay below 0.5 with one worker: their access-log commit (one row per patient
found) is most of what is left.

3 Dec 2026 (issue 12), ``--duration 8 --edits 0``, ratio page/bare, 1 / 2 workers, 0 errors
throughout. Main 1a23e4c-3dca35e, three runs (load 1.0, 0.6, 1.0 at the start): today
0.77 / 0.70, 0.74 / 0.84, 0.67 / 0.82; patient 0.51 / 0.57, 0.57 / 0.57, 0.75 / 0.53;
search 0.51 / 0.55, 0.59 / 0.53, 0.48 / 0.56; search_10 0.38 / 0.49, 0.41 / 0.35, 0.42 /
0.45. A group commit took 22.7 requests on average with one worker (1600 batches, 4 % of
one request). Then the session look-up's ``PRAGMA data_version`` once per turn of the
event loop instead of per request, and (method, path) look-up of parameterless routes
(two runs, load 3.2 and 1.9): today 0.83 / 0.92, 0.99 / 1.04; patient 0.51 / 0.49, 0.55 /
0.71; search 0.60 / 0.65, 0.46 / 0.51; search_10 0.39 / 0.39, 0.50 / 0.41. The bare route
itself moved 3231-4953 req/s with one worker between runs, so a ratio wanders by ~0.1;
the patient page and the search sit on the 0.5 line.

3 Dec 2026, later (issue 12): the garbage collector. Under 64 connections the requests in
flight survived young collections and set off full ones, each walking the ~190,000 objects
of the process (~130 ms; 28 in ~30 s of the Patient page: ~10 % of the worker, and the p99).
A worker now freezes what start-up built and collects young objects every 20,000 net new
ones (``web/serving_gc.py``); then a segment-count route index and canonical UUID path
parameters read without FastAPI. CPU per request in place (wrk, one worker): patient 356 ->
252 µs, search 312-351 -> 243-262, today 197-226 -> 193-201, bare ~225. Since then the
runs are page/bare pairs in ABBA order (``--rounds 2``, ratio = median of the pairs, "least"
the lower), ``--duration 5 --edits 0``, ratio 1 / 2 workers, 0 errors, load 2.9-3.4 (other
test runs beside): before (main c3090ad) today 0.83 / 1.13, patient 0.54 / 0.52 (least
0.46), search 0.56 / 0.57, search_10 0.43 / 0.43, page p99 124-206 ms; after (two runs)
today 0.87 / 0.85, 0.85 / 0.86; patient 0.73 / 0.79, 0.71 / 0.74 (least 0.67); search
0.71 / 0.76, 0.72 / 0.71 (least 0.67); search_10 0.52 / 0.59, 0.54 / 0.52; page p99 36-47
ms for the patient page. On main with the body limit (load 1.9): today 0.88 / 0.93, patient
0.76 / 0.77, search 0.72 / 0.61, search_10 0.60 / 0.43 (its 2-worker p99 1010 ms: the two
processes' access-log commits wait on SQLite's one write lock).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONNECTIONS = 64
#: "Ga" finds 2 of the demo's 40 patients (the searches logged before 2 Dec 19:00); the
#: chart-number prefix finds 10 (D-0010 to D-0019): ten access-log rows per answer.
SEARCHES = {"patient_search": {"name": "Ga"}, "patient_search_10": {"chart_number": "D-001"}}


@dataclass(frozen=True)
class Result:
    rps: float
    p99_ms: float
    errors: int


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, timeout_s: float = 60) -> None:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except Exception:
            time.sleep(0.2)
    raise RuntimeError(f"server at {url} did not start")


def _serve(app: str, port: int, workers: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers), "--no-access-log", "--log-level", "warning"],
        env=env, cwd=HERE, start_new_session=True,
    )  # fmt: skip


def _stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _wrk(url: str, duration_s: int, script: Path | None, headers: list[str]) -> Result:
    cmd = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{duration_s}s", "--latency", "--timeout", "10s"]
    for h in headers:
        cmd += ["-H", h]
    if script is not None:
        cmd += ["-s", str(script)]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    assert p99 is not None, out
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    errors = 0
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += sum(int(x) for x in m.groups())
    return Result(rps, float(p99.group(1)) * scale, errors)


def _sign_in(base: str) -> tuple[str, str]:
    """(session cookie, CSRF token) of the demo injector."""
    import http.cookiejar

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/login").read().decode()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    from dosemap.services.web_demo import demo_password

    body = urllib.parse.urlencode(
        {"csrf_token": csrf, "username": "injector", "password": demo_password("injector")}
    ).encode()
    opener.open(base + "/login", data=body)
    session = next(c.value for c in jar if c.name == "dm_session")
    today = opener.open(base + "/").read().decode()
    token = re.search(r'"X-CSRF-Token": "([^"]+)"', today).group(1)  # type: ignore[union-attr]
    return session, token


def _fetch(
    url: str, cookie: str, data: bytes | None = None, headers: dict[str, str] | None = None
) -> bytes:
    req = urllib.request.Request(url, data=data, headers={"Cookie": cookie, **(headers or {})})
    return urllib.request.urlopen(req).read()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--rounds", type=int, default=2, help="page/bare pairs per page, in ABBA order"
    )
    parser.add_argument("--edits", type=int, default=100, help="plan edits to time (0: none)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    tmp = Path(tempfile.mkdtemp(prefix="bench_web_"))
    env = {**os.environ, "DOSEMAP_DATA_DIR": str(tmp / "data"), "DOSEMAP_WEB_SECURE_COOKIES": "0",
           "DOSEMAP_WEB_LOGIN_RATE": "1000", "BENCH_BODIES": str(tmp / "bodies")}  # fmt: skip
    env.pop("DOSEMAP_DATABASE_URL", None)
    env.pop("DOSEMAP_REDIS_URL", None)
    (tmp / "bodies").mkdir()
    # Seed the demo clinic and its logins (what `make run` does).
    subprocess.run(
        [sys.executable, "-c",
         "from dosemap.config import load_settings; from dosemap.persistence.db import Database;"
         "from dosemap.services.database import upgrade_schema;"
         "from dosemap.services.demo import seed_demo_clinic;"
         "from dosemap.services.web_demo import seed_demo_logins;"
         "db = Database.from_url(load_settings().database_url); upgrade_schema(db);"
         "seed_demo_clinic(db); seed_demo_logins(db)"],
        env=env, check=True,
    )  # fmt: skip
    print(f"load average at start: {_load()}")
    print(f"{'workers':>7} {'page':<16} {'req/s':>8} {'p99 ms':>8} {'errors':>6} "
          f"{'bare req/s':>10} {'bare p99':>8} {'ratio':>6} {'least':>6}")  # fmt: skip
    try:
        for workers in args.workers:
            app_port, bare_port = _free_port(), _free_port()
            app = _serve("dosemap.web.asgi:app", app_port, workers, env)
            base = f"http://127.0.0.1:{app_port}"
            try:
                _wait(base + "/healthz")
                session, csrf = _sign_in(base)
                cookie = f"dm_session={session}"
                patients = _fetch(base + "/patients", cookie).decode()
                found = re.search(r'href="(/patients/[0-9a-f-]{36})"', patients)
                assert found is not None, "the demo clinic lists no patient"
                patient_url = base + found.group(1)
                search_headers = {"X-CSRF-Token": csrf, "HX-Request": "true",
                                  "Content-Type": "application/x-www-form-urlencoded"}  # fmt: skip
                searches = {}
                for name, query in SEARCHES.items():
                    search_body = urllib.parse.urlencode(query)
                    script = tmp / f"{name}.lua"
                    script.write_text(
                        'wrk.method = "POST"\n'
                        f'wrk.body = "{search_body}"\n'
                        + "".join(
                            f'wrk.headers["{k}"] = "{v}"\n' for k, v in search_headers.items()
                        )
                    )
                    answer = _fetch(
                        base + "/patients/search", cookie, search_body.encode(), search_headers
                    )
                    searches[name] = (base + "/patients/search", script, answer)
                rows = searches["patient_search_10"][2].count(b'href="/patients/')
                assert rows == 10, f"the demo's charts changed: {rows} found"
                pages = {
                    "today": (base + "/", None, _fetch(base + "/", cookie)),
                    "patient": (patient_url, None, _fetch(patient_url, cookie)),
                    **searches,
                }  # fmt: skip
                for name, (_, _, body) in pages.items():
                    (tmp / "bodies" / f"{name}.html").write_bytes(body)
                bare = _serve("bare_app:app", bare_port, workers, env)
                try:
                    _wait(f"http://127.0.0.1:{bare_port}/bare/today")
                    for name, (url, lua, body) in pages.items():
                        bare_url = f"http://127.0.0.1:{bare_port}/bare/{name}"
                        rounds: list[tuple[Result, Result]] = []
                        for r in range(args.rounds):
                            # Page then bare, then bare then page (ABBA): a drift of the
                            # machine's load during a round weighs on both sides alike.
                            if r % 2:
                                base_line = _wrk(bare_url, args.duration, None, [])
                            page = _wrk(url, args.duration, lua, [f"Cookie: {cookie}"])
                            if not r % 2:
                                base_line = _wrk(bare_url, args.duration, None, [])
                            rounds.append((page, base_line))
                        ratios = sorted(p.rps / b.rps for p, b in rounds)
                        page = Result(
                            statistics.median(p.rps for p, _ in rounds),
                            max(p.p99_ms for p, _ in rounds),
                            sum(p.errors for p, _ in rounds),
                        )
                        base_line = Result(
                            statistics.median(b.rps for _, b in rounds),
                            max(b.p99_ms for _, b in rounds),
                            sum(b.errors for _, b in rounds),
                        )
                        print(f"{workers:>7} {name:<16} {page.rps:>8.0f} {page.p99_ms:>8.1f} "
                              f"{page.errors:>6} {base_line.rps:>10.0f} {base_line.p99_ms:>8.1f} "
                              f"{statistics.median(ratios):>6.2f} {ratios[0]:>6.2f}   "
                              f"({len(body)} bytes)", flush=True)  # fmt: skip
                finally:
                    _stop(bare)
            finally:
                _stop(app)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"load average at end: {_load()}")
    if args.edits:
        # Issue 13: the plan editor's round trip (bench_editor.py, also runnable alone).
        from bench_editor import measure, report

        print(report(measure(args.edits)))


if __name__ == "__main__":
    main()
