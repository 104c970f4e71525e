"""Browser tests (Playwright driving Debian's Chromium at /usr/bin/chromium): the patient kiosk
filled on the tablet, consent signed by drawing (mouse and touch), a photo uploaded with its
quality shown at once and its analysis arriving. Screenshots of each page at 768×1024 and
1280×800 go to ``tmp_path`` (and to ``$DOSEMAP_SCREENSHOTS`` when set, to look at them)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright

from dosemap.services import consent
from dosemap.services.photo_jobs import photos_of
from dosemap.services.reporting import patient_timeline
from support.faces import face
from support.web import PASSWORD, WebWorld

CHROMIUM = "/usr/bin/chromium"
SIZES = {"tablet": (768, 1024), "desk": (1280, 800)}
ANALYSIS_WAIT_MS = 300_000  # a bound on waiting for the page to show the finished analysis


@pytest.fixture
def backend() -> str:
    """The browser tests run on SQLite (the pages' storage is covered on both back ends by
    the route tests)."""
    return "sqlite"


@pytest.fixture
def live(world: WebWorld) -> Iterator[str]:
    """The app served by uvicorn on a socket bound before the thread starts (connections
    wait in its backlog: nothing to poll for)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(world.app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} missing: apt-get install -y chromium"
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


def _shot(page: Page, tmp_path: Path, name: str) -> None:
    target = tmp_path / f"{name}.png"
    page.screenshot(path=str(target), full_page=True)
    keep = os.environ.get("DOSEMAP_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(target, Path(keep) / target.name)


def _page(browser: Browser, size: str, **options: object) -> Page:
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height}, **options)  # type: ignore[arg-type]
    return context.new_page()


def _sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_kiosk_questionnaire_on_the_tablet(
    world: WebWorld, live: str, browser: Browser, tmp_path: Path
) -> None:
    before = sum(
        1
        for e in patient_timeline(world.db, world.own.clinic_id, world.own.patient_id)
        if e.kind == "intake"
    )
    page = _page(browser, "tablet")
    _sign_in(page, live, "a-front-desk")
    page.goto(f"{live}/patients/{world.own.patient_id}/intake")
    _shot(page, tmp_path, "intake-768x1024")
    page.set_viewport_size({"width": 1280, "height": 800})
    _shot(page, tmp_path, "intake-1280x800")
    page.set_viewport_size({"width": 768, "height": 1024})
    page.click("text=Hand this tablet to the patient")
    page.wait_for_url(f"{live}/kiosk/questionnaire")
    assert page.locator("nav").count() == 0
    assert page.locator("a[href='/login'], form[action='/logout']").count() == 0
    page.locator("fieldset.question").first.wait_for()
    for fieldset in page.locator("fieldset.question").all():
        fieldset.locator("label.choice:has(input[value=no])").click()
    pregnant = page.locator("fieldset.question", has_text="pregnant")
    pregnant.locator("label.choice:has(input[value=yes])").click()
    page.fill("#f-medications", "vitamin D\naspirin 100 mg")
    _shot(page, tmp_path, "kiosk-768x1024")
    page.set_viewport_size({"width": 1280, "height": 800})
    _shot(page, tmp_path, "kiosk-1280x800")
    page.click("text=Hand in my answers")
    page.wait_for_url(f"{live}/kiosk/done")
    assert "hand the tablet back" in page.content()
    assert page.locator("a").count() == 1  # the skip link only: no way into staff pages
    _shot(page, tmp_path, "kiosk-done-1280x800")
    page.goto(f"{live}/patients/{world.own.patient_id}")
    assert page.url == f"{live}/login"  # the staff member was signed out on this tablet
    events = patient_timeline(world.db, world.own.clinic_id, world.own.patient_id)
    assert sum(1 for e in events if e.kind == "intake") == before + 1
    # Staff sign in again and see the findings of what the patient answered.
    _sign_in(page, live, "a-front-desk")
    page.goto(f"{live}/patients/{world.own.patient_id}/intake")
    assert "pregnancy" in page.locator("ul.findings").inner_text()
    _shot(page, tmp_path, "intake-findings-1280x800")
    # A second tablet takes a code.
    page.click("text=Code for another tablet")
    code = page.locator(".pass .code").inner_text().replace(" ", "")
    other = _page(browser, "tablet")
    other.goto(f"{live}/kiosk")
    _shot(other, tmp_path, "kiosk-code-768x1024")
    other.fill("#code", code)
    other.click("text=Start")
    other.wait_for_url(f"{live}/kiosk/questionnaire")
    assert "Hello Pat" in other.content()


def _draw(page: Page, touch: bool) -> None:
    pad = page.locator("canvas.signature-pad")
    pad.scroll_into_view_if_needed()  # events land where the screen shows it
    box = pad.bounding_box()
    assert box is not None
    x0, y0 = box["x"] + 30, box["y"] + box["height"] * 0.7
    path = [(x0 + 12 * i, y0 - (40 if i % 2 else 0) - 3 * i) for i in range(18)]
    if touch:  # a finger: touch events through the DevTools protocol
        cdp = page.context.new_cdp_session(page)
        first = [{"x": path[0][0], "y": path[0][1]}]
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": first})
        for x, y in path[1:]:
            cdp.send(
                "Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]}
            )
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    else:
        page.mouse.move(*path[0])
        page.mouse.down()
        for x, y in path[1:]:
            page.mouse.move(x, y, steps=3)
        page.mouse.up()


@pytest.mark.parametrize(("size", "touch"), [("desk", False), ("tablet", True)])
def test_consent_signed_by_drawing(
    world: WebWorld, live: str, browser: Browser, tmp_path: Path, size: str, touch: bool
) -> None:
    page = _page(browser, size, has_touch=touch)
    _sign_in(page, live, "a-injector")
    page.goto(f"{live}/patients/{world.own.patient_id}/consent")
    sign = page.locator("button[data-needs-ink]")
    assert sign.is_disabled()  # nothing drawn yet
    logs: list[str] = []
    page.on("console", lambda m: logs.append(m.text))
    page.on("pageerror", lambda e: logs.append(str(e)))
    _draw(page, touch)
    assert sign.is_enabled(), (logs, page.locator(".pad-state").inner_text())
    assert "stroke" in page.locator(".pad-state").inner_text()
    name = "consent-768x1024" if size == "tablet" else "consent-1280x800"
    _shot(page, tmp_path, name)
    sign.click()
    page.wait_for_url(f"{live}/patients/{world.own.patient_id}/consent?saved=1")
    assert "Consent signed and stored" in page.content()
    newest = consent.consents_of(world.db, world.own.clinic_id, world.own.patient_id)[0]
    assert newest.has_drawing and newest.witness == "a injector"
    signed = consent.signed_consent(world.db, world.own.clinic_id, newest.consent_id)
    assert signed.signature_png and signed.text_sha256 == consent.text_sha256(signed.text)
    page.goto(f"{live}/patients/{world.own.patient_id}/consents/{newest.consent_id}")
    page.locator("img.signature").wait_for()
    assert page.locator("img.signature").evaluate("img => img.naturalWidth") > 100
    _shot(page, tmp_path, name.replace("consent", "consent-signed"))


def test_photo_upload_shows_quality_then_analysis(
    world: WebWorld, live: str, browser: Browser, tmp_path: Path
) -> None:
    page = _page(browser, "tablet")
    _sign_in(page, live, "a-injector")
    page.goto(f"{live}/patients/{world.own.patient_id}/photos")
    assert page.get_attribute("#f-photo", "accept") == "image/*"
    page.set_input_files("#f-photo", str(face("A000014.jpg")))
    page.click("text=Upload and check")
    page.wait_for_url(f"{live}/patients/{world.own.patient_id}/photos?uploaded=*")
    card = page.locator("section.just-uploaded")
    assert "Sharpness" in card.inner_text() and "capture OK" in card.inner_text()
    _shot(page, tmp_path, "photos-quality-768x1024")
    # htmx polls the job; Playwright waits (bounded) for the state the page shows.
    card.locator(".analysis.status-done").wait_for(timeout=ANALYSIS_WAIT_MS)
    assert "forehead" in card.inner_text()
    _shot(page, tmp_path, "photos-768x1024")
    page.set_viewport_size({"width": 1280, "height": 800})
    _shot(page, tmp_path, "photos-1280x800")
    newest = photos_of(
        world.db,
        world.own.clinic_id,
        world.own.patient_id,
        reader=world.own.accounts["admin"].id,
        via="test",
    )[0]
    assert newest.status == "done"
