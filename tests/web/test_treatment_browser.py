"""The plan editor and chart mode in a real browser (Debian's Chromium through Playwright).

A live server (uvicorn in a thread) over a fresh SQLite database; the injector's login is linked
to the clinic's injector (signing needs a staff member). Screenshots of every page at 768×1024
and 1280×800 go to ``$DOSEMAP_SCREENSHOTS`` when set (they are looked at, not compared).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from dosemap.domain.plan import PlanRequest
from dosemap.domain.planning import build_plan
from dosemap.resources import load_library, template_mesh
from dosemap.services import charting, sessions, vials
from support.browser import PASSWORD, SHOTS, SIZES, LiveApp, new_page, shot
from support.clinic import T0

playwright_api = pytest.importorskip("playwright.sync_api")


def _planned(live: LiveApp, zones: tuple[str, ...], spacing: str | None = None) -> uuid.UUID:
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


def _add_photo(live: LiveApp, days: int = 0) -> uuid.UUID:
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
    browser: object, live: LiveApp, on: str
) -> None:
    if on == "photo":
        _add_photo(live)
    session_id = _planned(live, ("forehead", "glabella"))
    for size in SIZES:
        page = new_page(browser, live, size)
        page.goto(f"{live.url}/sessions/{session_id}/plan")  # type: ignore[attr-defined]
        page.wait_for_selector("#face[data-ready='1']")  # type: ignore[attr-defined]
        assert page.errors == []  # type: ignore[attr-defined]
        caption = "On the photo of 2026-03-02" if on == "photo" else "On the template face"
        assert caption in page.content()  # type: ignore[attr-defined]
        assert page.locator("#face image").count() == (1 if on == "photo" else 0)  # type: ignore[attr-defined]
        shot(page, f"editor-{on}-{size}")
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
    shot(page, f"editor-{on}-blocked-desk")
    _drag(page, 1, start)
    page.wait_for_function(
        "() => !document.getElementById('verdict').textContent.includes('BLOCKED')"
    )  # type: ignore[attr-defined]
    assert page.locator("g.pt.flagged").count() == 0  # type: ignore[attr-defined]
    current = charting.session_plan(live.db, live.clinic.clinic_id, session_id)
    assert current.version == 3  # planned, moved in, moved out


def test_chart_every_point_with_the_network_cut_midway(browser: object, live: LiveApp) -> None:
    session_id = _planned(live, ("forehead", "glabella"))
    page = new_page(browser, live, "tablet")
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
    shot(page, "chart-offline-tablet")
    saved = charting.session_plan(live.db, live.clinic.clinic_id, session_id).points
    assert sum(1 for p in saved.values() if p.state == "done") == half
    context.set_offline(False)
    page.wait_for_function(
        "() => document.getElementById('face').dataset.queued === '0'", timeout=30000
    )  # type: ignore[attr-defined]
    saved = charting.session_plan(live.db, live.clinic.clinic_id, session_id).points
    assert all(saved[n].state == "done" for n in numbers), "a tap was lost"
    assert all(saved[n].vial_id == live.clinic.vial_id for n in numbers)
    shot(page, "chart-done-tablet")

    # Finish, sign with the password again, amend with a reason.
    page.select_option("#pain", "2")  # type: ignore[attr-defined]
    page.click("#finish-chart")  # type: ignore[attr-defined]
    page.wait_for_selector("#manifest")  # type: ignore[attr-defined]
    shot(page, "sign-tablet")
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
    shot(page, "amended-tablet")
    page.set_viewport_size({"width": 1280, "height": 800})  # type: ignore[attr-defined]
    shot(page, "amended-desk")
    row = sessions.get_session(live.db, live.clinic.clinic_id, session_id)
    assert row.status == "signed" and row.amendment_count == 1
    # The retreatment follow-up signing scheduled, booked in one tap: a planned session.
    page.click("#followups button.book")  # type: ignore[attr-defined]
    page.wait_for_selector("#face[data-ready='1']")  # type: ignore[attr-defined]
    assert "/plan" in page.url and str(session_id) not in page.url  # type: ignore[attr-defined]
    assert next(p for p in row.points if p.number == numbers[0]).volume_ul == Decimal(8)


def test_time_per_tap_with_300_points(
    browser: object, live: LiveApp, record_property: Callable[[str, object], None]
) -> None:
    zones = ("forehead", "glabella", "medial_cheek_left", "medial_cheek_right",
             "lateral_cheek_left", "lateral_cheek_right", "chin", "perioral")  # fmt: skip
    session_id = _planned(live, zones, spacing="5")
    page = new_page(browser, live, "desk")
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
    shot(page, "chart-300-desk")
    page.select_option("#zone-focus", "medial_cheek_left")  # type: ignore[attr-defined]
    box = page.locator("g.pt circle").first.bounding_box()  # type: ignore[attr-defined]
    shot(page, "chart-300-zone-desk")
    assert box is not None
    saved = charting.session_plan(live.db, live.clinic.clinic_id, session_id).points
    assert sum(1 for p in saved.values() if p.state == "done") == count


def test_compare_two_visits(browser: object, live: LiveApp) -> None:

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
        page = new_page(browser, live, size)
        page.goto(f"{live.url}/patients/{live.clinic.patient_id}/compare")  # type: ignore[attr-defined]
        page.select_option("#after", index=1)  # type: ignore[attr-defined]
        page.click("#compare-button")  # type: ignore[attr-defined]
        page.wait_for_selector("#residual")  # type: ignore[attr-defined]
        assert "mm RMS" in page.locator("#residual").inner_text()  # type: ignore[attr-defined]
        assert page.locator("#metrics .caveat").count() == 2  # type: ignore[attr-defined]
        assert "blurred" in page.locator("#metrics .caveat").first.inner_text()  # type: ignore[attr-defined]
        shot(page, f"compare-pair-{size}")
        page.check("input[name=cmp][value=slider]")  # type: ignore[attr-defined]
        page.fill("#slider-range", "30")  # type: ignore[attr-defined]
        assert page.locator("#cmp-slider").is_visible()  # type: ignore[attr-defined]
        assert not page.locator("#cmp-pair").is_visible()  # type: ignore[attr-defined]
        shot(page, f"compare-slider-{size}")
        page.check("input[name=cmp][value=ghost]")  # type: ignore[attr-defined]
        assert page.locator("#cmp-ghost").is_visible()  # type: ignore[attr-defined]
        assert page.errors == []  # type: ignore[attr-defined]


_POINT_AT = """(n) => {
  const d = JSON.parse(document.getElementById('editor-data').textContent);
  const g = document.querySelector(`g.pt[data-number="${n}"]`);
  const m = /translate\\(([-\\d.]+),([-\\d.]+)\\)/.exec(g.getAttribute('transform'));
  return [Number(m[1]), Number(m[2])];
}"""


def _zone_points(page: object, zone: str) -> int:
    return int(page.locator(f'#plan-panel tr[data-zone="{zone}"] .zone-points').inner_text())  # type: ignore[attr-defined]


def test_a_moved_point_takes_the_zone_it_lands_in_or_is_blocked_outside_every_zone(
    browser: object, live: LiveApp
) -> None:
    session_id = _planned(live, ("forehead", "glabella", "medial_cheek_left"))
    page = new_page(browser, live, "desk")
    page.goto(f"{live.url}/sessions/{session_id}/plan")  # type: ignore[attr-defined]
    page.wait_for_selector("#face[data-ready='1']")  # type: ignore[attr-defined]
    forehead, cheek = _zone_points(page, "forehead"), _zone_points(page, "medial_cheek_left")
    last_cheek = page.eval_on_selector_all(  # type: ignore[attr-defined]
        'g.pt[data-zone="medial_cheek_left"]', "els => Number(els[els.length - 1].dataset.number)"
    )
    onto = page.evaluate(_POINT_AT, last_cheek)  # type: ignore[attr-defined]
    _drag(page, 1, [onto[0] + 6, onto[1] + 6])  # beside a cheek point, inside the cheek
    page.wait_for_function(
        "() => document.getElementById('editor-status').textContent.includes('medial_cheek_left')"
    )  # type: ignore[attr-defined]
    assert _zone_points(page, "forehead") == forehead - 1
    assert _zone_points(page, "medial_cheek_left") == cheek + 1
    moved = page.locator("g.pt.selected")  # type: ignore[attr-defined]
    assert moved.get_attribute("data-zone") == "medial_cheek_left"
    number = int(moved.get_attribute("data-number"))
    assert "BLOCKED" not in page.locator("#verdict").inner_text()  # type: ignore[attr-defined]
    shot(page, "editor-moved-into-cheek-desk")

    # Between the cheek and the nasolabial fold (landmarks 423, 426, 266): in no zone. Kept
    # (counted where it was), marked, and blocked (DM407).
    between = page.evaluate(  # type: ignore[attr-defined]
        """() => { const L = JSON.parse(document.getElementById('editor-data').textContent)
                     .view.landmarks;
                   return [0, 1].map((k) => (L[423][k] + L[426][k] + L[266][k]) / 3); }"""
    )
    _drag(page, number, between)
    page.wait_for_function(
        "() => document.getElementById('editor-status').textContent.includes('outside every zone')"
    )  # type: ignore[attr-defined]
    assert page.locator("g.pt.outside").count() == 1  # type: ignore[attr-defined]
    assert "BLOCKED" in page.locator("#verdict").inner_text()  # type: ignore[attr-defined]
    assert page.locator('#findings [data-code="DM407-ZONE-MISMATCH"]').count() == 1  # type: ignore[attr-defined]
    assert _zone_points(page, "medial_cheek_left") == cheek + 1  # still counted, never dropped
    assert page.errors == []  # type: ignore[attr-defined]
    shot(page, "editor-moved-outside-desk")
    plan = charting.session_plan(live.db, live.clinic.clinic_id, session_id).plan
    assert plan.summary.needle_entries == sum(z.points for z in plan.summary.zones)


_MEAN_OF = """(ids) => {
  const L = JSON.parse(document.getElementById('editor-data').textContent).view.landmarks;
  return [0, 1].map((k) => ids.reduce((sum, i) => sum + L[i][k], 0) / ids.length);
}"""
#: The chin's outline (atlas ring): its landmarks' mean lies inside the chin.
_CHIN_RING = [
    18,
    313,
    406,
    424,
    431,
    395,
    369,
    400,
    377,
    152,
    148,
    176,
    140,
    170,
    211,
    204,
    182,
    83,
]


def _tap(page: object, at_view: list[float]) -> None:
    x, y = page.evaluate(_SCREEN_OF, at_view)  # type: ignore[attr-defined]
    height = page.evaluate("() => window.innerHeight")  # type: ignore[attr-defined]
    if not 0 <= y < height:  # scroll the spot into the window first (a tap must see it)
        page.evaluate("(dy) => window.scrollBy(0, dy)", y - height / 2)  # type: ignore[attr-defined]
        x, y = page.evaluate(_SCREEN_OF, at_view)  # type: ignore[attr-defined]
    page.mouse.click(x, y)  # type: ignore[attr-defined]


def _status_says(page: object, text: str) -> None:
    try:
        page.wait_for_function(  # type: ignore[attr-defined]
            "(t) => document.getElementById('editor-status').textContent.includes(t)", arg=text
        )
    except playwright_api.TimeoutError:
        said = page.locator("#editor-status").inner_text()  # type: ignore[attr-defined]
        pytest.fail(f"the status never said {text!r}; it says {said!r}")


@pytest.mark.parametrize("size", list(SIZES))
def test_an_added_point_takes_the_zone_it_lies_in_and_the_totals_follow(
    browser: object, live: LiveApp, size: str
) -> None:
    session_id = _planned(live, ("forehead", "glabella", "medial_cheek_left"))
    page = new_page(browser, live, size)
    page.goto(f"{live.url}/sessions/{session_id}/plan")  # type: ignore[attr-defined]
    page.wait_for_selector("#face[data-ready='1']")  # type: ignore[attr-defined]
    total = int(page.locator("#total-points").inner_text())  # type: ignore[attr-defined]
    cheek = _zone_points(page, "medial_cheek_left")
    last_cheek = page.eval_on_selector_all(  # type: ignore[attr-defined]
        'g.pt[data-zone="medial_cheek_left"]', "els => Number(els[els.length - 1].dataset.number)"
    )
    beside = page.evaluate(_POINT_AT, last_cheek)  # type: ignore[attr-defined]
    page.check("input[name=mode][value=add]")  # type: ignore[attr-defined]
    assert page.locator("#zone-select").input_value() == "forehead"  # type: ignore[attr-defined]
    _tap(page, [beside[0] + 6, beside[1] + 6])  # inside the cheek, not on a point
    _status_says(page, "medial_cheek_left")
    assert _zone_points(page, "medial_cheek_left") == cheek + 1  # not the zone selected
    assert int(page.locator("#total-points").inner_text()) == total + 1  # type: ignore[attr-defined]
    added = page.locator("g.pt.selected")  # type: ignore[attr-defined]
    assert added.get_attribute("data-zone") == "medial_cheek_left"
    assert "BLOCKED" not in page.locator("#verdict").inner_text()  # type: ignore[attr-defined]
    shot(page, f"editor-added-in-cheek-{size}")

    # A zone the plan had no point in: it gets its row in the totals.
    assert page.locator('#plan-panel tr[data-zone="chin"]').count() == 0  # type: ignore[attr-defined]
    _tap(page, page.evaluate(_MEAN_OF, _CHIN_RING))  # type: ignore[attr-defined]
    _status_says(page, ": chin")
    assert _zone_points(page, "chin") == 1
    assert int(page.locator("#total-points").inner_text()) == total + 2  # type: ignore[attr-defined]

    # Between the cheek and the nasolabial fold: in no zone. Kept, marked and blocked (DM407).
    _tap(page, page.evaluate(_MEAN_OF, [423, 426, 266]))  # type: ignore[attr-defined]
    _status_says(page, "outside every zone")
    assert int(page.locator("#total-points").inner_text()) == total + 3  # type: ignore[attr-defined]
    assert page.locator("g.pt.outside").count() == 1  # type: ignore[attr-defined]
    assert "BLOCKED" in page.locator("#verdict").inner_text()  # type: ignore[attr-defined]
    assert page.locator('#findings [data-code="DM407-ZONE-MISMATCH"]').count() == 1  # type: ignore[attr-defined]
    assert page.errors == []  # type: ignore[attr-defined]
    shot(page, f"editor-added-outside-{size}")
    plan = charting.session_plan(live.db, live.clinic.clinic_id, session_id).plan
    assert plan.summary.needle_entries == total + 3 == sum(z.points for z in plan.summary.zones)


@pytest.mark.parametrize("on", ["template", "photo"])
def test_a_new_session_opens_on_the_latest_good_photo_else_the_template(
    browser: object, live: LiveApp, on: str
) -> None:
    if on == "photo":
        _add_photo(live, days=-30)
        _add_photo(live)  # the latest good one is used
    page = new_page(browser, live, "tablet")
    page.goto(f"{live.url}/patients/{live.clinic.patient_id}/sessions/new")  # type: ignore[attr-defined]
    page.check("input[name=protocol][value=diaspro_2020_grid]")  # type: ignore[attr-defined]
    for zone in ("forehead", "glabella"):
        page.check(f"input[name=zones][value={zone}]")  # type: ignore[attr-defined]
    page.click("#plan-button")  # type: ignore[attr-defined]
    page.wait_for_selector("#face[data-ready='1']")  # type: ignore[attr-defined]
    assert "/plan" in page.url  # type: ignore[attr-defined]
    caption = "On the photo of 2026-03-02" if on == "photo" else "On the template face"
    assert caption in page.content()  # type: ignore[attr-defined]
    assert page.locator("#face image").count() == (1 if on == "photo" else 0)  # type: ignore[attr-defined]
    # Every point is drawn through its anchor on this face: on the picture, inside the face.
    data = page.evaluate(  # type: ignore[attr-defined]
        """() => { const d = JSON.parse(document.getElementById('editor-data').textContent);
                   const xs = d.view.landmarks.map((p) => p[0]);
                   const ys = d.view.landmarks.map((p) => p[1]);
                   return { n: d.points.length, w: d.view.width, h: d.view.height,
                            box: [Math.min(...xs), Math.min(...ys), Math.max(...xs),
                                  Math.max(...ys)],
                            at: d.points.map((p) => window.dosemapFace.resolveAnchor(d.view,
                                                                                      p.anchor)),
                            mm: d.view.mm_per_unit }; }"""
    )
    assert data["n"] == page.locator("g.pt").count() > 0  # type: ignore[attr-defined]
    left, top, right, bottom = data["box"]
    assert all(left <= x <= right and top <= y <= bottom for x, y in data["at"])
    face_width_mm = (right - left) * data["mm"]
    assert 110 < face_width_mm < 190, face_width_mm  # a face's width, in mm on either face
    assert page.errors == []  # type: ignore[attr-defined]
    shot(page, f"new-session-{on}-tablet")


_DRAWN_AT = """(n) => {
  const g = document.querySelector(`g.pt[data-number="${n}"]`);
  const r = g.querySelector('circle').getBoundingClientRect();
  return [r.x + r.width / 2, r.y + r.height / 2, r.width];
}"""
_ANCHORED_AT = """(n) => {
  const d = JSON.parse(document.getElementById('editor-data').textContent);
  const svg = document.getElementById('face');
  const p = d.points.find((q) => q.number === n);
  const [x, y] = window.dosemapFace.resolveAnchor(d.view, p.anchor);
  const s = svg.createSVGPoint(); s.x = x; s.y = y;
  const q = s.matrixTransform(svg.getScreenCTM());
  return [q.x, q.y];
}"""


def _zoom(page: object) -> float:
    return float(page.locator("#face").get_attribute("data-zoom"))  # type: ignore[attr-defined]


def _on_its_anchor(page: object, number: int) -> float:
    """Screen pixels between where point ``number`` is drawn and where its anchor is."""
    x, y, _ = page.evaluate(_DRAWN_AT, number)  # type: ignore[attr-defined]
    ax, ay = page.evaluate(_ANCHORED_AT, number)  # type: ignore[attr-defined]
    return float(((x - ax) ** 2 + (y - ay) ** 2) ** 0.5)


@pytest.mark.parametrize("size", list(SIZES))
def test_zoom_by_buttons_keys_wheel_and_pinch_keeps_points_in_place(
    browser: object, live: LiveApp, size: str
) -> None:
    session_id = _planned(live, ("forehead", "glabella", "medial_cheek_left"))
    page = new_page(browser, live, size)
    page.goto(f"{live.url}/sessions/{session_id}/plan")  # type: ignore[attr-defined]
    page.wait_for_selector("#face[data-ready='1']")  # type: ignore[attr-defined]
    assert _zoom(page) == 1
    width_1x = page.evaluate(_DRAWN_AT, 1)[2]  # type: ignore[attr-defined]

    page.click("button[data-zoom=in]")  # type: ignore[attr-defined]
    assert _zoom(page) == 1.5 and page.locator("#zoom-level").inner_text() == "150 %"  # type: ignore[attr-defined]
    assert page.evaluate(_DRAWN_AT, 1)[2] == pytest.approx(width_1x * 1.5, rel=0.02)  # type: ignore[attr-defined]
    assert _on_its_anchor(page, 1) < 1.0
    page.focus("#face")  # type: ignore[attr-defined]
    page.keyboard.press("+")  # type: ignore[attr-defined]
    assert _zoom(page) == 2.25
    page.keyboard.press("ArrowUp")  # type: ignore[attr-defined]
    page.keyboard.press("-")  # type: ignore[attr-defined]
    assert _zoom(page) == 1.5
    page.keyboard.press("0")  # type: ignore[attr-defined]
    assert _zoom(page) == 1

    # The wheel zooms about the cursor: the point under it stays under it.
    x, y, _ = page.evaluate(_DRAWN_AT, 1)  # type: ignore[attr-defined]
    page.mouse.move(x, y)  # type: ignore[attr-defined]
    page.mouse.wheel(0, -100)  # type: ignore[attr-defined]
    page.wait_for_function("() => Number(document.getElementById('face').dataset.zoom) > 1")  # type: ignore[attr-defined]
    x2, y2, _ = page.evaluate(_DRAWN_AT, 1)  # type: ignore[attr-defined]
    assert abs(x2 - x) < 1.5 and abs(y2 - y) < 1.5
    page.click("button[data-zoom=fit]")  # type: ignore[attr-defined]

    # Pinch: two fingers moving apart zoom in (touch pointers dispatched on the face).
    page.evaluate(  # type: ignore[attr-defined]
        """() => { const svg = document.getElementById('face');
          const r = svg.getBoundingClientRect();
          const cx = r.x + r.width / 2, cy = r.y + r.height / 2;
          const ev = (type, id, x) => svg.dispatchEvent(new PointerEvent(type, {
            pointerId: id, pointerType: 'touch', clientX: x, clientY: cy, bubbles: true,
            cancelable: true, isPrimary: id === 1 }));
          ev('pointerdown', 1, cx - 40); ev('pointerdown', 2, cx + 40);
          ev('pointermove', 1, cx - 80); ev('pointermove', 2, cx + 80);
          ev('pointerup', 1, cx - 80); ev('pointerup', 2, cx + 80); }"""
    )
    assert _zoom(page) == pytest.approx(2, rel=0.05)  # 80 px apart, then 160 px
    for number in (1, 2, 3):
        assert _on_its_anchor(page, number) < 1.0
    shot(page, f"editor-zoomed-{size}")
    assert page.errors == []  # type: ignore[attr-defined]


def test_a_point_dragged_while_zoomed_lands_where_dropped_and_near_taps_select(
    browser: object, live: LiveApp
) -> None:
    session_id = _planned(live, ("forehead", "glabella"))
    page = new_page(browser, live, "tablet")
    page.goto(f"{live.url}/sessions/{session_id}/plan")  # type: ignore[attr-defined]
    page.wait_for_selector("#face[data-ready='1']")  # type: ignore[attr-defined]
    # A tap 18 px beside a point (off its drawn dot) still takes it: >= 44 px targets.
    x, y, width = page.evaluate(_DRAWN_AT, 1)  # type: ignore[attr-defined]
    assert width < 44  # the dot alone would be too small a target
    page.mouse.click(x, y - 18)  # type: ignore[attr-defined]
    assert page.locator("#point-label").inner_text().startswith("Point 1 ")  # type: ignore[attr-defined]
    x, y, _ = page.evaluate(_DRAWN_AT, 1)  # type: ignore[attr-defined]
    page.mouse.move(x, y)  # type: ignore[attr-defined]
    for _ in range(4):  # 1.2 ** 4: about 2x, about point 1
        page.mouse.wheel(0, -100)  # type: ignore[attr-defined]
    page.wait_for_function("() => Number(document.getElementById('face').dataset.zoom) > 2")  # type: ignore[attr-defined]
    target = page.evaluate(_IN_BROW)  # type: ignore[attr-defined]
    _drag(page, 1, target)
    page.wait_for_function(
        "() => document.getElementById('verdict').textContent.includes('BLOCKED')"
    )  # type: ignore[attr-defined]
    x, y, _ = page.evaluate(_DRAWN_AT, 1)  # type: ignore[attr-defined]
    tx, ty = page.evaluate(_SCREEN_OF, target)  # type: ignore[attr-defined]
    assert abs(x - tx) < 1.5 and abs(y - ty) < 1.5, "the point is drawn where it was dropped"
    assert page.errors == []  # type: ignore[attr-defined]
    shot(page, "editor-zoomed-drag-tablet")


def test_a_session_of_two_products_edits_the_chosen_products_points(
    browser: object, live: LiveApp
) -> None:
    from dosemap.domain.plan import combine_plans

    library, mesh = load_library(), template_mesh()
    botox = build_plan(
        PlanRequest(zones=("forehead", "glabella"), protocol="diaspro_2020_grid"), library, mesh
    )
    dysport = build_plan(
        PlanRequest(zones=("lateral_cheek_left",), protocol="kesty_2021_forehead_30"),
        library,
        mesh,
    )
    row = sessions.plan_session(
        live.db, live.clinic.clinic_id, patient_id=live.clinic.patient_id,
        injector_id=live.clinic.injector, plan=combine_plans([botox, dysport]),
        scheduled_at=T0, actor="test",
    )  # fmt: skip
    for size in SIZES:
        page = new_page(browser, live, size)
        page.goto(f"{live.url}/sessions/{row.id}/plan")  # type: ignore[attr-defined]
        page.wait_for_selector("#face[data-ready='1']")  # type: ignore[attr-defined]
        assert page.locator("g.pt.other").count() == len(dysport.points)  # type: ignore[attr-defined]
        page.select_option("#plan-select", "1")  # type: ignore[attr-defined]
        assert page.locator("g.pt.other").count() == len(botox.points)  # type: ignore[attr-defined]
        shot(page, f"editor-two-products-{size}")
    page.select_option("#zone-select", "lateral_cheek_left")  # type: ignore[attr-defined]
    page.fill("#zone-volume", "20")  # type: ignore[attr-defined]
    page.click("#zone-volume-set")  # type: ignore[attr-defined]
    page.wait_for_function(
        "() => document.getElementById('editor-status').textContent.startsWith('Saved')"
    )  # type: ignore[attr-defined]
    dysport_box = page.locator('#plan-panel section[data-product="dysport"]')  # type: ignore[attr-defined]
    row_text = dysport_box.locator('tr[data-zone="lateral_cheek_left"]').inner_text()
    assert row_text.split()[1:3] == [str(len(dysport.points)), str(20 * len(dysport.points))]
    assert page.errors == []  # type: ignore[attr-defined]


def test_vial_by_typing_or_scanning_its_lot_number(browser: object, live: LiveApp) -> None:
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
        page = new_page(browser, live, size)
        page.goto(f"{live.url}/sessions/{session_id}/chart")  # type: ignore[attr-defined]
        page.wait_for_selector("#face[data-ready='1']")  # type: ignore[attr-defined]
        assert page.input_value("#vial-select") != str(live.clinic.vial_id)  # type: ignore[attr-defined]
        page.locator("#lot-number").press_sequentially("NOPE-1")  # type: ignore[attr-defined]
        page.keyboard.press("Enter")  # type: ignore[attr-defined]
        error = page.wait_for_selector("#lot-e-lot_number")  # type: ignore[attr-defined]
        assert "no lot NOPE-1" in error.inner_text() and "C1234A" in error.inner_text()
        shot(page, f"chart-lot-error-{size}")
        page.fill("#lot-number", "")  # type: ignore[attr-defined]
        page.locator("#lot-number").press_sequentially("C1234A")  # type: ignore[attr-defined]
        page.keyboard.press("Enter")  # type: ignore[attr-defined]
        page.wait_for_selector("#lot-status")  # type: ignore[attr-defined]
        page.wait_for_selector("#face[data-ready='1']")  # type: ignore[attr-defined]
        assert page.input_value("#vial-select") == str(live.clinic.vial_id)  # type: ignore[attr-defined]
        shot(page, f"chart-lot-chosen-{size}")
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
    shot(page, "chart-lot-pick-desk")
    page.click(f"#lot-pick button[value='{third.id}']")  # type: ignore[attr-defined]
    page.wait_for_selector("#lot-status")  # type: ignore[attr-defined]
    assert page.input_value("#vial-select") == str(third.id)  # type: ignore[attr-defined]
    assert page.errors == []  # type: ignore[attr-defined]
