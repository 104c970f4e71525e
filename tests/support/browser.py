"""A live app (uvicorn in a thread over a fresh SQLite database) and Debian's Chromium through
Playwright, for browser tests: the injector's login linked to the clinic's injector (signing
needs a staff member), and a fresh open vial of the seeded lot (the seeded one is past use)."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import uvicorn

from dosemap.persistence.db import Database
from dosemap.resources import load_library
from dosemap.services import accounts, vials
from dosemap.services.signin import SessionPolicy
from dosemap.web.app import create_app
from dosemap.web.security import SESSION_COOKIE
from support.clinic import SeededClinic, build_test_clinic
from support.web import SignalledServer, web_settings

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct horse battery"
SIZES = {"tablet": (768, 1024), "desk": (1280, 800)}
SHOTS = os.environ.get("DOSEMAP_SCREENSHOTS")


@dataclass
class LiveApp:
    url: str
    db: Database
    clinic: SeededClinic
    cookie: str
    db_dir: Path  # the app's data directory (photos under it)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_app(tmp_path: Path) -> Iterator[LiveApp]:
    """The app served on a free port until the block ends (accounts' hasher made cheap by the
    caller's fixture)."""
    from dosemap.persistence.migrate import upgrade

    db = Database.from_url(f"sqlite:///{tmp_path / 'live.sqlite'}")
    upgrade(db.engine)
    clinic = build_test_clinic(db, load_library())
    account = accounts.create_account(
        db, clinic.clinic_id,
        accounts.AccountInput(username="ivy", display_name="Ivy Injector", role="prescriber",
                              password=PASSWORD, staff_id=clinic.injector),
        actor="test",
    )  # fmt: skip
    fresh = vials.open_vial(
        db, clinic.clinic_id,
        vials.VialInput(lot_id=clinic.lot_id, label="V-2", vial_units=Decimal(100),
                        diluent_ml=Decimal("2.5"),
                        reconstituted_at=datetime.now(UTC) - timedelta(hours=1)),
        load_library(), actor="test",
    )  # fmt: skip
    clinic = replace(clinic, vial_id=fresh.id)
    app = create_app(web_settings(tmp_path, db), db=db)
    cookie = app.state.dosemap.sessions.create(account, pending_totp=False, policy=SessionPolicy())
    port = _free_port()
    server = SignalledServer(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    if not server.ready.wait(timeout=60):  # the server says when it listens
        raise RuntimeError("the test server did not start")
    try:
        yield LiveApp(f"http://127.0.0.1:{port}", db, clinic, cookie, tmp_path)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium (a missing one is a failure, said by the caller)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser: Any, live: LiveApp, size: str = "tablet") -> Any:
    """A signed-in page at ``size``; ``page.errors`` collects script errors and 4xx/5xx."""
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    context.add_cookies([{"name": SESSION_COOKIE, "value": live.cookie, "url": live.url}])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "response",
        lambda r: (
            errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )
    page.errors = errors
    return page


def shot(page: Any, name: str) -> None:
    """A full-page screenshot to ``$DOSEMAP_SCREENSHOTS`` when set (looked at, not compared)."""
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)
