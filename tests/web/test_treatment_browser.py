"""The plan editor and chart mode in a real browser (Debian's Chromium through Playwright).

A live server (uvicorn in a thread) over a fresh SQLite database; the injector's login is linked
to the clinic's injector (signing needs a staff member). Screenshots of every page at 768×1024
and 1280×800 go to ``$DOSEMAP_SCREENSHOTS`` when set (they are looked at, not compared).
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import uvicorn
from argon2 import PasswordHasher

from dosemap.domain.plan import PlanRequest
from dosemap.domain.planning import build_plan
from dosemap.persistence.db import Database
from dosemap.resources import load_library, template_mesh
from dosemap.services import accounts, charting, sessions, vials
from dosemap.services.signin import SessionPolicy
from dosemap.web.app import create_app
from dosemap.web.security import SESSION_COOKIE
from support.clinic import T0, SeededClinic, build_test_clinic
from support.web import SignalledServer, web_settings

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct horse battery"
SIZES = {"tablet": (768, 1024), "desk": (1280, 800)}
SHOTS = os.environ.get("DOSEMAP_SCREENSHOTS")


@dataclass
class Live:
    url: str
    db: Database
    clinic: SeededClinic
    cookie: str
    db_dir: Path  # the app's data directory (photos under it)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    monkeypatch.setattr(
        accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )
    from dosemap.persistence.migrate import upgrade

    db = Database.from_url(f"sqlite:///{tmp_path / 'live.sqlite'}")
    upgrade(db.engine)
    clinic = build_test_clinic(db, load_library())
    account = accounts.create_account(
        db,
        clinic.clinic_id,
        accounts.AccountInput(
            username="ivy", display_name="Ivy Injector", role="prescriber",
            password=PASSWORD, staff_id=clinic.injector,
        ),
        actor="test",
    )  # fmt: skip
    fresh = vials.open_vial(
        db,
        clinic.clinic_id,
        vials.VialInput(
            lot_id=clinic.lot_id, label="V-2", vial_units=Decimal(100), diluent_ml=Decimal("2.5"),
            reconstituted_at=datetime.now(UTC) - timedelta(hours=1),
        ),
        load_library(),
        actor="test",
    )  # fmt: skip
    clinic = replace(clinic, vial_id=fresh.id)
    app = create_app(web_settings(tmp_path, db), db=db)
    cookie = app.state.dosemap.sessions.create(account, pending_totp=False, policy=SessionPolicy())
    port = _free_port()
    server = SignalledServer(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    if not server.ready.wait(timeout=60):  # the server says when it listens
        pytest.fail("the test server did not start")
    try:
        yield Live(f"http://127.0.0.1:{port}", db, clinic, cookie, tmp_path)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


def _page(browser: object, live: Live, size: str = "tablet") -> object:
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})  # type: ignore[attr-defined]
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
    page.errors = errors  # type: ignore[attr-defined]
    return page


def _shot(page: object, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def _planned(live: Live, zones: tuple[str, ...], spacing: str | None = None) -> uuid.UUID:
    request = PlanRequest(
        zones=zones, protocol="diaspro_2020_grid",
        spacing_mm=Decimal(spacing) if spacing else None,
    )  # fmt: skip
    plan = build_plan(request, load_library(), template_mesh())
    row = sessions.plan_session(
        live.db, live.clinic.clinic_id, patient_id=live.clinic.patient_id,
        injector_id=live.clinic.injector, plan=plan, scheduled_at=T0, actor="test",
    )  # fmt: skip
    return row.id


_SCREEN_OF = """([x, y]) => {
  const svg = document.getElementById('face');
  const p = svg.createSVGPoint(); p.x = x; p.y = y;
  const q = p.matrixTransform(svg.getScreenCTM());
  return [q.x, q.y];
}"""
#: Inside the left brow (landmarks 334, 296, 282 weighted 0.4, 0.3, 0.3), in view units.
_IN_BROW = """() => {
  const L = JSON.parse(document.getElementById('editor-data').textContent).view.landmarks;
  return [0, 1].map((k) => 0.4 * L[334][k] + 0.3 * L[296][k] + 0.3 * L[282][k]);
}"""


def _drag(page: object, number: int, to_view: list[float]) -> None:
    box = page.locator(f'g.pt[data-number="{number}"] circle').bounding_box()  # type: ignore[attr-defined]
    x, y = page.evaluate(_SCREEN_OF, to_view)  # type: ignore[attr-defined]
    mouse = page.mouse  # type: ignore[attr-defined]
    mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    mouse.down()
    mouse.move(x, y, steps=8)
    mouse.up()


def _add_photo(live: Live, days: int = 0) -> uuid.UUID:
    from dosemap.services import photos
    from dosemap.services.photos import PhotoStore
    from support.faces import face

    return photos.add_photo(
        live.db, PhotoStore(live.db_dir / "photos"), live.clinic.clinic_id,
        live.clinic.patient_id, face("A000014.jpg").read_bytes(),
        photos.PhotoInput(media_type="image/jpeg", view="frontal",
                          taken_at=datetime(2026, 3, 2, 10, tzinfo=UTC) + timedelta(days=days)),
        actor="test",
    ).id  # fmt: skip


@pytest.mark.parametrize("on", ["template", "photo"])
def test_move_into_a_danger_zone_blocks_and_moving_out_clears(
    browser: object, live: Live, on: str
) -> None:
    if on == "photo":
        _add_photo(live)
    session_id = _planned(live, ("forehead", "glabella"))
    for size in SIZES:
        page = _page(browser, live, size)
        page.goto(f"{live.url}/sessions/{session_id}/plan")  # type: ignore[attr-defined]
        page.wait_for_selector("#face[data-ready='1']")  # type: ignore[attr-defined]
        assert page.errors == []  # type: ignore[attr-defined]
        caption = "On the photo of 2026-03-02" if on == "photo" else "On the template face"
        assert caption in page.content()  # type: ignore[attr-defined]
        assert page.locator("#face image").count() == (1 if on == "photo" else 0)  # type: ignore[attr-defined]
        _shot(page, f"editor-{on}-{size}")
    verdict = page.locator("#verdict")  # type: ignore[attr-defined]
    assert "BLOCKED" not in verdict.inner_text()
    start = page.evaluate(  # type: ignore[attr-defined]
        "() => { const d = JSON.parse(document.getElementById('editor-data').textContent);"
        " const p = d.points[0]; return window.dosemapFace.resolveAnchor(d.view, p.anchor); }"
    )
    brow = page.evaluate(_IN_BROW)  # type: ignore[attr-defined]
    _drag(page, 1, brow)
    page.wait_for_function(
        "() => document.getElementById('verdict').textContent.includes('BLOCKED')"
    )  # type: ignore[attr-defined]
    assert page.locator('g.pt.flagged[data-number="1"]').count() == 1  # type: ignore[attr-defined]
    assert page.locator("#findings .finding-block").count() >= 1  # type: ignore[attr-defined]
    _shot(page, f"editor-{on}-blocked-desk")
    _drag(page, 1, start)
    page.wait_for_function(
        "() => !document.getElementById('verdict').textContent.includes('BLOCKED')"
    )  # type: ignore[attr-defined]
    assert page.locator("g.pt.flagged").count() == 0  # type: ignore[attr-defined]
    current = charting.session_plan(live.db, live.clinic.clinic_id, session_id)
    assert current.version == 3  # planned, moved in, moved out


def test_chart_every_point_with_the_network_cut_midway(browser: object, live: Live) -> None:
    session_id = _planned(live, ("forehead", "glabella"))
    page = _page(browser, live, "tablet")
    page.goto(f"{live.url}/sessions/{session_id}/chart")  # type: ignore[attr-defined]
    page.wait_for_selector("#face[data-ready='1']")  # type: ignore[attr-defined]
    numbers = [int(n) for n in page.eval_on_selector_all(  # type: ignore[attr-defined]
        "g.pt", "els => els.map(e => e.dataset.number)")]  # fmt: skip
    half = len(numbers) // 2
    context = page.context  # type: ignore[attr-defined]

    def tap(number: int) -> None:
        page.locator(f'g.pt[data-number="{number}"] circle').click()  # type: ignore[attr-defined]

    for n in numbers[:half]:
        tap(n)
    page.wait_for_function("() => document.getElementById('face').dataset.queued === '0'")  # type: ignore[attr-defined]
    context.set_offline(True)
    for n in numbers[half:]:
        tap(n)
    page.wait_for_function(
        "document.getElementById('chart-status').textContent.includes('Offline')"
    )  # type: ignore[attr-defined]
    assert int(page.locator("#face").get_attribute("data-queued")) == len(numbers) - half  # type: ignore[attr-defined]
    _shot(page, "chart-offline-tablet")
    saved = charting.session_plan(live.db, live.clinic.clinic_id, session_id).points
    assert sum(1 for p in saved.values() if p.state == "done") == half
    context.set_offline(False)
    page.wait_for_function(
        "() => document.getElementById('face').dataset.queued === '0'", timeout=30000
    )  # type: ignore[attr-defined]
    saved = charting.session_plan(live.db, live.clinic.clinic_id, session_id).points
    assert all(saved[n].state == "done" for n in numbers), "a tap was lost"
    assert all(saved[n].vial_id == live.clinic.vial_id for n in numbers)
    _shot(page, "chart-done-tablet")

    # Finish, sign with the password again, amend with a reason.
    page.select_option("#pain", "2")  # type: ignore[attr-defined]
    page.click("#finish-chart")  # type: ignore[attr-defined]
    page.wait_for_selector("#manifest")  # type: ignore[attr-defined]
    _shot(page, "sign-tablet")
    page.fill("#password", "wrong password")  # type: ignore[attr-defined]
    page.click("#sign-button")  # type: ignore[attr-defined]
    page.wait_for_selector("#sign-error")  # type: ignore[attr-defined]
    page.fill("#password", PASSWORD)  # type: ignore[attr-defined]
    page.click("#sign-button")  # type: ignore[attr-defined]
    page.wait_for_selector("#record-status:has-text('signed')")  # type: ignore[attr-defined]
    page.fill(f"input[name=volume_{numbers[0]}]", "8")  # type: ignore[attr-defined]
    page.fill("#reason", "point 1 given at 8 µL, charted as planned by mistake")  # type: ignore[attr-defined]
    page.click("#amend-button")  # type: ignore[attr-defined]
    page.wait_for_selector("#amendments li")  # type: ignore[attr-defined]
    changes = page.locator("#amendments .changes").inner_text()  # type: ignore[attr-defined]
    assert f"point {numbers[0]}: 10 µL" in changes and "→ 8 µL" in changes, changes
    _shot(page, "amended-tablet")
    page.set_viewport_size({"width": 1280, "height": 800})  # type: ignore[attr-defined]
    _shot(page, "amended-desk")
    row = sessions.get_session(live.db, live.clinic.clinic_id, session_id)
    assert row.status == "signed" and row.amendment_count == 1
    # The retreatment follow-up signing scheduled, booked in one tap: a planned session.
    page.click("#followups button.book")  # type: ignore[attr-defined]
    page.wait_for_selector("#face[data-ready='1']")  # type: ignore[attr-defined]
    assert "/plan" in page.url and str(session_id) not in page.url  # type: ignore[attr-defined]
    assert next(p for p in row.points if p.number == numbers[0]).volume_ul == Decimal(8)


def test_time_per_tap_with_300_points(
    browser: object, live: Live, record_property: Callable[[str, object], None]
) -> None:
    zones = ("forehead", "glabella", "medial_cheek_left", "medial_cheek_right",
             "lateral_cheek_left", "lateral_cheek_right", "chin", "perioral")  # fmt: skip
    session_id = _planned(live, zones, spacing="5")
    page = _page(browser, live, "desk")
    page.goto(f"{live.url}/sessions/{session_id}/chart")  # type: ignore[attr-defined]
    page.wait_for_selector("#face[data-ready='1']")  # type: ignore[attr-defined]
    count = page.locator("g.pt").count()  # type: ignore[attr-defined]
    assert count >= 300, count
    # Taps from script (300 mouse clicks would take minutes): the same handler path.
    page.evaluate(  # type: ignore[attr-defined]
        """() => { for (const g of document.querySelectorAll('g.pt')) {
             const c = g.querySelector('circle');
             c.dispatchEvent(new PointerEvent('pointerdown', {bubbles: true}));
             c.dispatchEvent(new PointerEvent('pointerup', {bubbles: true}));
        } }"""
    )
    page.wait_for_function(
        "() => document.getElementById('face').dataset.queued === '0'", timeout=120000
    )  # type: ignore[attr-defined]
    times = page.evaluate("window.__tapTimes")  # type: ignore[attr-defined]
    assert len(times) == count
    times.sort()
    figures = (
        f"chart mode, {count} points: time per tap median {times[len(times) // 2]:.2f} ms, "
        f"p95 {times[int(len(times) * 0.95)]:.2f} ms, max {times[-1]:.2f} ms"
    )
    record_property("time_per_tap", figures)
    if SHOTS:
        (Path(SHOTS) / "tap_times.txt").write_text(figures + "\n")
    _shot(page, "chart-300-desk")
    page.select_option("#zone-focus", "medial_cheek_left")  # type: ignore[attr-defined]
    box = page.locator("g.pt circle").first.bounding_box()  # type: ignore[attr-defined]
    _shot(page, "chart-300-zone-desk")
    assert box is not None
    saved = charting.session_plan(live.db, live.clinic.clinic_id, session_id).points
    assert sum(1 for p in saved.values() if p.state == "done") == count


def test_compare_two_visits(browser: object, live: Live) -> None:

    from dosemap.persistence.unit_of_work import writing
    from dosemap.services import photos
    from dosemap.services.photo_jobs import new_job

    for days, flags in ((0, []), (30, ["blurry"])):
        photo_id = _add_photo(live, days)
        with writing(live.db) as uow:  # the quality report an upload stores
            quality = {"flags": flags, "notes": []}
            uow.photo_jobs.add(
                new_job(live.clinic.clinic_id, photo_id, quality, "pool", datetime.now(UTC))
            )
        for zone, value in (("forehead", 9.5 - days / 10), ("glabella", 8.25 - days / 20)):
            photos.record_measurement(
                live.db, live.clinic.clinic_id, photo_id,
                photos.MeasurementInput(metric="redness", value=value, unit="a*", zone=zone,
                                        measured_at=datetime.now(UTC)),
                actor="test",
            )  # fmt: skip
    for size in SIZES:
        page = _page(browser, live, size)
        page.goto(f"{live.url}/patients/{live.clinic.patient_id}/compare")  # type: ignore[attr-defined]
        page.select_option("#after", index=1)  # type: ignore[attr-defined]
        page.click("#compare-button")  # type: ignore[attr-defined]
        page.wait_for_selector("#residual")  # type: ignore[attr-defined]
        assert "mm RMS" in page.locator("#residual").inner_text()  # type: ignore[attr-defined]
        assert page.locator("#metrics .caveat").count() == 2  # type: ignore[attr-defined]
        assert "blurred" in page.locator("#metrics .caveat").first.inner_text()  # type: ignore[attr-defined]
        _shot(page, f"compare-pair-{size}")
        page.check("input[name=cmp][value=slider]")  # type: ignore[attr-defined]
        page.fill("#slider-range", "30")  # type: ignore[attr-defined]
        assert page.locator("#cmp-slider").is_visible()  # type: ignore[attr-defined]
        assert not page.locator("#cmp-pair").is_visible()  # type: ignore[attr-defined]
        _shot(page, f"compare-slider-{size}")
        page.check("input[name=cmp][value=ghost]")  # type: ignore[attr-defined]
        assert page.locator("#cmp-ghost").is_visible()  # type: ignore[attr-defined]
        assert page.errors == []  # type: ignore[attr-defined]


def test_vial_by_typing_or_scanning_its_lot_number(browser: object, live: Live) -> None:
    """A barcode scanner is a keyboard: the lot number's keys, then Enter."""
    other_lot = vials.receive_lot(
        live.db, live.clinic.clinic_id,
        vials.LotInput(product="botox_cosmetic", lot_number="L-OTHER",
                       expires_on=datetime.now(UTC).date() + timedelta(days=200)),
        load_library(), actor="test",
    )  # fmt: skip
    vials.open_vial(
        live.db, live.clinic.clinic_id,
        vials.VialInput(lot_id=other_lot.id, label="V-OTHER", vial_units=Decimal(100),
                        diluent_ml=Decimal("2.5"),
                        reconstituted_at=datetime.now(UTC) - timedelta(hours=2)),
        load_library(), actor="test",
    )  # fmt: skip
    session_id = _planned(live, ("glabella",))
    for size in SIZES:
        page = _page(browser, live, size)
        page.goto(f"{live.url}/sessions/{session_id}/chart")  # type: ignore[attr-defined]
        page.wait_for_selector("#face[data-ready='1']")  # type: ignore[attr-defined]
        assert page.input_value("#vial-select") != str(live.clinic.vial_id)  # type: ignore[attr-defined]
        page.locator("#lot-number").press_sequentially("NOPE-1")  # type: ignore[attr-defined]
        page.keyboard.press("Enter")  # type: ignore[attr-defined]
        error = page.wait_for_selector("#lot-e-lot_number")  # type: ignore[attr-defined]
        assert "no lot NOPE-1" in error.inner_text() and "C1234A" in error.inner_text()
        _shot(page, f"chart-lot-error-{size}")
        page.fill("#lot-number", "")  # type: ignore[attr-defined]
        page.locator("#lot-number").press_sequentially("C1234A")  # type: ignore[attr-defined]
        page.keyboard.press("Enter")  # type: ignore[attr-defined]
        page.wait_for_selector("#lot-status")  # type: ignore[attr-defined]
        page.wait_for_selector("#face[data-ready='1']")  # type: ignore[attr-defined]
        assert page.input_value("#vial-select") == str(live.clinic.vial_id)  # type: ignore[attr-defined]
        _shot(page, f"chart-lot-chosen-{size}")
        page.errors.clear()  # type: ignore[attr-defined]  # the 422 above was expected
    first = page.locator("g.pt").first  # type: ignore[attr-defined]
    number = int(first.get_attribute("data-number"))
    first.locator("circle").click()
    page.wait_for_function("() => document.getElementById('face').dataset.queued === '0'")  # type: ignore[attr-defined]
    saved = charting.session_plan(live.db, live.clinic.clinic_id, session_id).points
    assert saved[number].vial_id == live.clinic.vial_id  # the tap drew from the lot's vial
    page.reload()  # type: ignore[attr-defined]
    page.wait_for_selector("#face[data-ready='1']")  # type: ignore[attr-defined]
    assert page.input_value("#vial-select") == str(live.clinic.vial_id)  # type: ignore[attr-defined]
    # Two open vials of the lot: both offered, the one tapped is chosen.
    third = vials.open_vial(
        live.db, live.clinic.clinic_id,
        vials.VialInput(lot_id=live.clinic.lot_id, label="V-3", vial_units=Decimal(100),
                        diluent_ml=Decimal("2.5"), reconstituted_at=datetime.now(UTC)),
        load_library(), actor="test",
    )  # fmt: skip
    page.fill("#lot-number", "C1234A")  # type: ignore[attr-defined]
    page.keyboard.press("Enter")  # type: ignore[attr-defined]
    page.wait_for_selector("#lot-pick")  # type: ignore[attr-defined]
    _shot(page, "chart-lot-pick-desk")
    page.click(f"#lot-pick button[value='{third.id}']")  # type: ignore[attr-defined]
    page.wait_for_selector("#lot-status")  # type: ignore[attr-defined]
    assert page.input_value("#vial-select") == str(third.id)  # type: ignore[attr-defined]
    assert page.errors == []  # type: ignore[attr-defined]
