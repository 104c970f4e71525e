"""CPU time per request of the pages ``bench_web.py`` measures, in one process, against the
bare route (``bare_app.py``) serving the same bytes: a load-independent view of the same ratio.

Run: ``.venv/bin/python benchmarks/web_cpu.py [--requests 2000] [--profile today]``.

Seeds the demo clinic (SQLite, in a temporary folder), signs in as the injector, then calls
each page's ASGI app directly on one uvloop event loop (no sockets, no HTTP parsing: what is
left is the app's own work) ``--requests`` times, and prints CPU µs per request
(``time.process_time``, all threads: thread-pool work counts) for the page and the bare route
and their ratio bare/page (the throughput ratio one core would reach if the server's HTTP
work were nil; ``bench_web.py`` adds uvicorn's share to both sides). ``--profile NAME``
writes a cProfile of that page's loop to ``$TMPDIR/web_cpu_NAME.prof`` and prints its top entries.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import re
import shutil
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROUNDS = 5
#: The search that finds ten of the demo's forty patients (chart numbers D-0010 to D-0019).
SEARCH_10 = b"chart_number=D-001"

Request = tuple[str, str, list[tuple[bytes, bytes]], bytes]


async def call(app: Any, method: str, path: str, headers: list[tuple[bytes, bytes]],
               body: bytes = b"") -> tuple[int, bytes, list[tuple[bytes, bytes]]]:  # fmt: skip
    """One request straight into the ASGI app: (status, body, headers)."""
    path_only, _, query = path.partition("?")
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path_only, "raw_path": path_only.encode(),
        "query_string": query.encode(), "root_path": "", "headers": headers,
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000), "state": {},
    }  # fmt: skip
    sent = False
    status = 0
    chunks: list[bytes] = []
    out_headers: list[tuple[bytes, bytes]] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Future()  # never: the client stays connected
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, out_headers
        if message["type"] == "http.response.start":
            status = message["status"]
            out_headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks), out_headers


def _seed(env_dir: Path) -> None:
    os.environ.update(
        DOSEMAP_DATA_DIR=str(env_dir / "data"), DOSEMAP_WEB_SECURE_COOKIES="0",
        DOSEMAP_WEB_LOGIN_RATE="1000",
    )  # fmt: skip
    os.environ.pop("DOSEMAP_DATABASE_URL", None)
    os.environ.pop("DOSEMAP_REDIS_URL", None)
    from dosemap.config import load_settings
    from dosemap.persistence.db import Database
    from dosemap.services.database import upgrade_schema
    from dosemap.services.demo import seed_demo_clinic
    from dosemap.services.web_demo import seed_demo_logins

    db = Database.from_url(load_settings().database_url)
    upgrade_schema(db)
    seed_demo_clinic(db)
    seed_demo_logins(db)
    db.dispose()


async def _sign_in(app: Any) -> tuple[str, str]:
    from dosemap.services.web_demo import demo_password

    status, page, headers = await call(app, "GET", "/login", [])
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.decode()).group(1)  # type: ignore[union-attr]
    cookies = "; ".join(
        v.decode().split(";")[0] for k, v in headers if k == b"set-cookie"
    )  # fmt: skip
    body = urllib.parse.urlencode(
        {"csrf_token": csrf, "username": "injector", "password": demo_password("injector")}
    ).encode()
    status, _, headers = await call(
        app, "POST", "/login",
        [(b"cookie", cookies.encode()),
         (b"content-type", b"application/x-www-form-urlencoded")],
        body,
    )  # fmt: skip
    assert status == 303, status
    session = next(
        v.decode().split(";")[0] for k, v in headers if k == b"set-cookie" and b"dm_session" in v
    )
    status, today, _ = await call(app, "GET", "/", [(b"cookie", session.encode())])
    token = re.search(r'"X-CSRF-Token": "([^"]+)"', today.decode()).group(1)  # type: ignore[union-attr]
    return session, token


def _timed(run: Callable[[], Any], n: int, profile: cProfile.Profile | None) -> float:
    """CPU µs per call of the coroutine factory ``run``: the least over five rounds of ``n``
    calls after a warm-up (the least is what other processes' interference leaves alone)."""
    loop = asyncio.get_event_loop()

    async def many(k: int) -> None:
        for _ in range(k):
            await run()

    loop.run_until_complete(many(max(20, n // 10)))
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.process_time()
        if profile is not None:
            profile.enable()
        loop.run_until_complete(many(n))
        if profile is not None:
            profile.disable()
        best = min(best, (time.process_time() - started) / n * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="per round (5 rounds)")
    parser.add_argument("--profile", default="", help="page to profile (today, patient, …)")
    parser.add_argument(
        "--seeded", type=Path, help="keep the seeded demo clinic here and reuse it next time"
    )
    args = parser.parse_args()
    import uvloop

    asyncio.set_event_loop(uvloop.new_event_loop())
    tmp = Path(tempfile.mkdtemp(prefix="web_cpu_"))
    try:
        if args.seeded is not None and args.seeded.exists():
            shutil.copytree(args.seeded, tmp / "data")
            os.environ.update(
                DOSEMAP_DATA_DIR=str(tmp / "data"), DOSEMAP_WEB_SECURE_COOKIES="0",
                DOSEMAP_WEB_LOGIN_RATE="1000",
            )  # fmt: skip
            os.environ.pop("DOSEMAP_DATABASE_URL", None)
            os.environ.pop("DOSEMAP_REDIS_URL", None)
        else:
            _seed(tmp)
            if args.seeded is not None:
                shutil.copytree(tmp / "data", args.seeded)
        from dosemap.web.asgi import app

        loop = asyncio.get_event_loop()
        session, csrf = loop.run_until_complete(_sign_in(app))
        cookie = [(b"cookie", session.encode())]
        _, patients, _ = loop.run_until_complete(call(app, "GET", "/patients", cookie))
        found = re.search(r'href="(/patients/[0-9a-f-]{36})"', patients.decode())
        assert found is not None
        search = [*cookie, (b"x-csrf-token", csrf.encode()), (b"hx-request", b"true"),
                  (b"content-type", b"application/x-www-form-urlencoded")]  # fmt: skip
        pages: dict[str, Request] = {
            "today": ("GET", "/", cookie, b""),
            "patient": ("GET", found.group(1), cookie, b""),
            # "Ga" finds 2 of the demo's 40 patients (the figures logged before 2 Dec 19:00);
            # a chart-number prefix finds 10: ten access-log rows per answer.
            "patient_search": ("POST", "/patients/search", search, b"name=Ga"),
            "patient_search_10": ("POST", "/patients/search", search, SEARCH_10),
        }
        bodies = tmp / "bodies"
        bodies.mkdir()
        for name, (method, path, headers, body) in pages.items():
            status, html, _ = loop.run_until_complete(call(app, method, path, headers, body))
            assert status == 200, (name, status)
            if name == "patient_search_10":
                assert html.count(b'href="/patients/') == 10, "the demo's charts changed"
            (bodies / f"{name}.html").write_bytes(html)
        os.environ["BENCH_BODIES"] = str(bodies)
        sys.path.insert(0, str(HERE))
        from bare_app import app as bare

        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"{'page':<16} {'µs/req':>8} {'bare µs':>8} {'bare/page':>9}")
        for name, (method, path, headers, body) in pages.items():
            profile = cProfile.Profile() if name == args.profile else None

            def page(m: str = method, p: str = path, h: Any = headers, b: bytes = body) -> Any:
                return call(app, m, p, h, b)

            def base(n: str = name) -> Any:
                return call(bare, "GET", f"/bare/{n}", [])

            bare_us = _timed(base, args.requests, None)
            page_us = _timed(page, args.requests, profile)
            print(f"{name:<16} {page_us:>8.0f} {bare_us:>8.0f} {bare_us / page_us:>9.2f}")
            if profile is not None:
                out = Path(tempfile.gettempdir()) / f"web_cpu_{name}.prof"
                profile.dump_stats(out)
                stats = pstats.Stats(profile)
                stats.sort_stats("tottime").print_stats(25)
                stats.sort_stats("cumulative").print_stats(40)
        from dosemap.web.app import close_app

        close_app(app)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
