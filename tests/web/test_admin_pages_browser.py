"""The Audit and Staff pages in Chromium at 768×1024 (tablet portrait) and 1280×800 (desk):
nothing wider than the window, no script or CSP error; screenshots to the test's folder (and
``DOSEMAP_SCREENSHOTS`` if set), looked at, not compared."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from dosemap.services import sites
from dosemap.services.signin import SessionPolicy
from dosemap.web.security import SESSION_COOKIE
from support.browser import SIZES, chromium
from support.web import SignalledServer, WebWorld


@pytest.fixture
def served(world: WebWorld) -> Iterator[str]:
    """The world's app on a free loopback port."""
    server = SignalledServer(
        uvicorn.Config(world.app, host="127.0.0.1", port=0, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert server.ready.wait(timeout=60), "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


def _overflow(page: Any) -> list[str]:
    """Elements reaching past the window's right edge (a page must never scroll sideways;
    a table may scroll inside its own box)."""
    found: list[str] = page.eval_on_selector_all(
        "body *",
        """els => els.filter(e => {
            const r = e.getBoundingClientRect();
            if (r.width === 0 || r.right <= window.innerWidth + 1) return false;
            for (let p = e.parentElement; p; p = p.parentElement) {
                const s = getComputedStyle(p);
                if (s.overflowX === 'auto' || s.overflowX === 'scroll' || s.overflowX === 'hidden')
                    return false;
            }
            return true;
        }).map(e => e.tagName + '.' + e.className + ' '
                    + Math.round(e.getBoundingClientRect().right))""",
    )
    return found


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_audit_and_staff_pages_fit_a_tablet_and_a_desk(
    served: str, world: WebWorld, tmp_path: Path
) -> None:
    sites.create_group(world.db, "North", actor="test")
    for side in (world.own, world.other):
        sites.join_group(world.db, "North", side.clinic_id, actor="test")
    sites.grant_site(
        world.db, world.own.clinic_id,
        sites.GrantInput(account_id=world.other.accounts["injector"].id, role="front_desk",
                         expires_on=datetime.now(UTC).date() + timedelta(days=30)),
        actor="test",
    )  # fmt: skip
    world.client("injector").get(f"/patients/{world.own.patient_id}")  # an access-log line
    folders = [tmp_path]
    if os.environ.get("DOSEMAP_SCREENSHOTS"):
        folders.append(Path(os.environ["DOSEMAP_SCREENSHOTS"]))
    with chromium() as browser:
        for label, (width, height) in SIZES.items():
            for role, path in (("auditor", "/audit"), ("admin", "/staff")):
                account = world.own.accounts[role]
                token = world.app.state.dosemap.sessions.create(
                    account, pending_totp=False, policy=SessionPolicy()
                )
                context = browser.new_context(viewport={"width": width, "height": height})
                context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": served}])
                page = context.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
                page.on(
                    "console",
                    lambda msg, errors=errors: (
                        errors.append(msg.text) if "Content Security Policy" in msg.text else None
                    ),
                )
                page.goto(served + path)
                if path == "/audit":
                    page.click("text=Verify the chain now")
                    page.wait_for_selector("#audit-entries")
                name = f"{path.strip('/')}-{label}-{width}x{height}.png"
                for folder in folders:
                    folder.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(folder / name), full_page=True)
                assert _overflow(page) == [], (name, _overflow(page))
                assert errors == [], (name, errors)
                context.close()
