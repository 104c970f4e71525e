"""Browser tests: Playwright driving Debian's Chromium against the app on a loopback port.

Sign in, see Today, search patients as one types (htmx), register a patient, open the record,
sign out; an idle session ends on the next request. Each page is captured at 768×1024 (tablet
portrait) and 1280×800 (desk) into the test's folder (and ``DOSEMAP_SCREENSHOTS`` if set), and
no page may trip the Content-Security-Policy. Playwright never downloads a browser here:
``/usr/bin/chromium`` (``apt-get install chromium``, done by ``.ci/run``) is required.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Page, expect, sync_playwright

from dosemap.persistence.unit_of_work import writing
from dosemap.services.signin import hash_token
from support.web import PASSWORD, SignalledServer, WebWorld

CHROMIUM = "/usr/bin/chromium"
SIZES = {"tablet": (768, 1024), "desk": (1280, 800)}


@pytest.fixture
def live(world: WebWorld) -> Iterator[str]:
    """The world's app served by uvicorn on a free loopback port, in a thread."""
    config = uvicorn.Config(world.app, host="127.0.0.1", port=0, log_level="warning")
    server = SignalledServer(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert server.ready.wait(timeout=60), "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture
def browser_page(tmp_path: Path) -> Iterator[tuple[Page, list[str]]]:
    """A Chromium page (the CSP violations it reports are collected)."""
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install chromium"
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.on(
            "console",
            lambda msg: (
                problems.append(msg.text)
                if "Content Security Policy" in msg.text
                # a 4xx answer is logged as a failed load: expected for a refused form
                or (msg.type == "error" and "Failed to load resource" not in msg.text)
                else None
            ),
        )
        yield page, problems
        browser.close()


def _shoot(page: Page, name: str, folder: Path) -> None:
    targets = [folder]
    if os.environ.get("DOSEMAP_SCREENSHOTS"):
        targets.append(Path(os.environ["DOSEMAP_SCREENSHOTS"]))
    for label, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        for target in targets:
            target.mkdir(parents=True, exist_ok=True)
            page.screenshot(
                path=str(target / f"{name}-{label}-{width}x{height}.png"), full_page=True
            )
    page.set_viewport_size({"width": 1280, "height": 800})


def _touch_targets_too_small(page: Page) -> list[str]:
    sizes: Any = page.eval_on_selector_all(
        "button, input:not([type=hidden]), select, nav a",
        "els => els.map(e => [e.outerHTML.slice(0, 60), e.getBoundingClientRect().height])",
    )
    return [html for html, height in sizes if height < 44]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_day_at_the_desk(
    live: str, world: WebWorld, browser_page: tuple[Page, list[str]], tmp_path: Path
) -> None:
    page, problems = browser_page
    page.goto(live + "/")
    assert page.url.endswith("/login")
    _shoot(page, "login", tmp_path)
    page.fill("#username", "a-front-desk")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live + "/")
    assert page.locator("h1").inner_text().startswith("Today")
    assert "C1234A" in page.content()
    _shoot(page, "today", tmp_path)
    page.set_viewport_size({"width": 768, "height": 1024})
    assert _touch_targets_too_small(page) == []
    page.click("nav >> text=Patients")
    page.wait_for_url(live + "/patients")
    # htmx posts as one types and swaps the rows in (the CSP forbids string eval, so the
    # waits below are Playwright's own, not wait_for_function).
    page.fill("#q-name", "Exa")
    expect(page.locator("#results")).to_contain_text("Example, Pat")
    page.fill("#q-name", "Nobody")
    expect(page.locator("#results")).to_contain_text("No patient matches")
    _shoot(page, "patients", tmp_path)
    assert _touch_targets_too_small(page) == []
    page.fill("#r-given_name", "Ruth")
    page.fill("#r-family_name", "Browser")
    page.fill("#r-date_of_birth", "2999-04-05")  # the server refuses it, naming the field
    page.fill("#r-chart_number", "C-0777")
    page.click("form.register button[type=submit]")
    expect(page.locator("#e-date_of_birth")).to_contain_text("is in the future")
    assert page.input_value("#r-given_name") == "Ruth"  # what was typed is kept
    _shoot(page, "patients-error", tmp_path)
    page.fill("#r-date_of_birth", "1979-04-05")
    page.click("form.register button[type=submit]")
    page.wait_for_url(f"{live}/patients/*")
    assert "Browser, Ruth" in page.locator("h1").inner_text()
    page.goto(f"{live}/patients/{world.own.patient_id}")
    assert "Example, Pat" in page.locator("h1").inner_text()
    _shoot(page, "patient", tmp_path)
    page.click("text=Sign out")
    page.wait_for_url(live + "/login")
    page.goto(live + "/")
    assert page.url.endswith("/login")
    assert problems == [], problems


@pytest.mark.parametrize("backend", ["sqlite"])
def test_an_idle_session_signs_out(
    live: str, world: WebWorld, browser_page: tuple[Page, list[str]]
) -> None:
    page, problems = browser_page
    page.goto(live + "/login")
    page.fill("#username", "a-injector")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live + "/")
    cookie = next(c for c in page.context.cookies() if c["name"] == "dm_session")
    # Idle for 16 minutes: the session's last activity is moved back rather than waited for.
    with writing(world.db) as uow:
        uow.web_sessions.touch(
            hash_token(cookie["value"]), datetime.now(UTC) - timedelta(minutes=16)
        )
    page.goto(live + "/patients")
    assert page.url.endswith("/login")
    assert problems == [], problems
