"""Chart mode on a session of two products in a real browser (Debian's Chromium): a vial per
product (by lot: another product's lot refused), taps across both products with the network cut
midway and nothing lost after it returns, then finished and signed; the time per tap measured on
a 300-point session of two products."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from dosemap.resources import load_library
from dosemap.services import charting, sessions
from support.browser import PASSWORD, SHOTS, SIZES, LiveApp, new_page, shot
from support.clinic import T0
from support.products import open_dysport_vial, plan_two_products, two_products

pytest.importorskip("playwright.sync_api")


def _session(live: LiveApp, **more: Any) -> tuple[uuid.UUID, Any]:
    session = two_products(load_library(), **more)
    row_id = plan_two_products(
        live.db, live.clinic.clinic_id, live.clinic.patient_id, live.clinic.injector, session, T0
    )
    return row_id, session


def _queued(page: Any, count: int, timeout: float = 30000) -> None:
    page.wait_for_function(
        f"() => document.getElementById('face').dataset.queued === '{count}'", timeout=timeout
    )


def test_chart_two_products_offline_midway_then_sign(browser: Any, live: LiveApp) -> None:
    row_id, session = _session(live)
    botox, dysport = session.plans
    d_vial = open_dysport_vial(live.db, live.clinic.clinic_id, load_library())
    page = new_page(browser, live, "tablet")
    page.goto(f"{live.url}/sessions/{row_id}/chart")
    page.wait_for_selector("#face[data-ready='1']")
    # Every product's points, each product its own marker shape, named in the legend.
    assert page.locator("g.pt[data-plan='0'] circle.mk").count() == len(botox.points)
    assert page.locator("g.pt[data-plan='1'] rect.mk").count() == len(dysport.points)
    legend = page.locator("#chart-legend").inner_text()
    assert "botox_cosmetic" in legend and "dysport" in legend and "U/mL" in legend
    assert page.input_value("#vial-select") == str(live.clinic.vial_id)

    # Dysport's vial by lot: the Botox lot is refused for it, naming the field; then D-77.
    page.locator("#lot-number-1").press_sequentially("C1234A")
    page.keyboard.press("Enter")
    error = page.wait_for_selector("#lot-e-lot_number-1")
    assert "this plan is dysport" in error.inner_text()
    page.errors.clear()  # the 422 was expected
    page.fill("#lot-number-1", "D-77")
    page.keyboard.press("Enter")
    page.wait_for_selector("#lot-status-1")
    page.wait_for_selector("#face[data-ready='1']")
    assert page.input_value("#vial-select-1") == str(d_vial)
    assert page.input_value("#vial-select") == str(live.clinic.vial_id)  # kept

    numbers = [p.number for p in botox.points] + [p.number for p in dysport.points]
    online = [*numbers[: len(botox.points) // 2], *[p.number for p in dysport.points[:2]]]
    offline = [n for n in numbers if n not in online]

    def tap(number: int) -> None:
        page.locator(f'g.pt[data-number="{number}"] .mk').click()

    for n in online:
        tap(n)
    _queued(page, 0)
    page.context.set_offline(True)
    changed = offline[-1]  # a Dysport point, given at another volume through the menu
    for n in offline[:-1]:
        tap(n)
    box = page.locator(f'g.pt[data-number="{changed}"] .mk').bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.wait_for_selector("#point-menu[open]")
    page.mouse.up()
    assert "dysport" in page.locator("#point-menu-label").inner_text()
    page.fill("#point-menu-volume", "7.5")
    page.click("#point-menu button[value='volume']")
    page.wait_for_function(
        "document.getElementById('chart-status').textContent.includes('Offline')"
    )
    assert int(page.locator("#face").get_attribute("data-queued")) == len(offline)
    shot(page, "chart-products-offline-tablet")
    saved = charting.session_plan(live.db, live.clinic.clinic_id, row_id).points
    assert sorted(n for n, p in saved.items() if p.state == "done") == sorted(online)
    page.context.set_offline(False)
    _queued(page, 0)
    saved = charting.session_plan(live.db, live.clinic.clinic_id, row_id).points
    assert all(saved[n].state == "done" for n in numbers), "a tap was lost"
    assert {saved[p.number].vial_id for p in botox.points} == {live.clinic.vial_id}
    assert {saved[p.number].vial_id for p in dysport.points} == {d_vial}
    assert saved[changed].volume_ul == Decimal("7.5")
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        shot(page, f"chart-products-done-{size}")

    page.click("#finish-chart")
    page.wait_for_selector("#manifest")
    assert page.locator("#record-products tr[data-product='dysport']").count() == 1
    shot(page, "sign-products-desk")
    page.fill("#password", PASSWORD)
    page.click("#sign-button")
    page.wait_for_selector("#record-status:has-text('signed')")
    row = sessions.get_session(live.db, live.clinic.clinic_id, row_id)
    assert row.status == "signed" and len(row.points) == len(numbers)
    figures = charting.record_figures(live.db, live.clinic.clinic_id, row_id)
    d_text = page.locator("#record-products tr[data-product='dysport']").inner_text()
    assert "D-1" in d_text and str(len(dysport.points)) in d_text
    assert figures.products[1].units == sum(
        (p.units for p in row.points if p.number in {q.number for q in dysport.points}),
        Decimal(0),
    )
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        shot(page, f"record-products-{size}")
    assert page.errors == []


def test_time_per_tap_two_products_300_points(
    browser: Any, live: LiveApp, record_property: Callable[[str, object], None]
) -> None:
    row_id, session = _session(
        live,
        botox_zones=("forehead", "glabella", "medial_cheek_left", "medial_cheek_right"),
        dysport_zones=("chin", "perioral"),
        spacing_mm="4.6",
    )
    d_vial = open_dysport_vial(live.db, live.clinic.clinic_id, load_library())
    page = new_page(browser, live, "desk")
    page.goto(f"{live.url}/sessions/{row_id}/chart")
    page.wait_for_selector("#face[data-ready='1']")
    count = page.locator("g.pt").count()
    assert count == len(session.points) and count >= 300, count
    assert page.locator("g.pt[data-plan='1']").count() == len(session.plans[1].points) > 0
    # Taps from script (300 clicks would take minutes): the same handler path as a finger.
    page.evaluate(
        """() => { for (const g of document.querySelectorAll('g.pt')) {
             const m = g.querySelector('.mk');
             m.dispatchEvent(new PointerEvent('pointerdown', {bubbles: true}));
             m.dispatchEvent(new PointerEvent('pointerup', {bubbles: true}));
        } }"""
    )
    _queued(page, 0, timeout=120000)
    times = sorted(page.evaluate("window.__tapTimes"))
    assert len(times) == count
    figures = (
        f"chart mode, 2 products, {count} points: time per tap median "
        f"{times[len(times) // 2]:.2f} ms, p95 {times[int(len(times) * 0.95)]:.2f} ms, "
        f"max {times[-1]:.2f} ms"
    )
    record_property("time_per_tap", figures)
    if SHOTS:
        (Path(SHOTS) / "tap_times_products.txt").write_text(figures + "\n")
    shot(page, "chart-products-300-desk")
    # One product's points only: cropped to them, so its targets grow.
    dysport_mark = page.locator("g.pt[data-plan='1'] .mk").first
    whole = dysport_mark.bounding_box()["width"]
    page.select_option("#zone-focus", "plan:1")
    assert dysport_mark.bounding_box()["width"] > whole * 1.2
    shot(page, "chart-products-300-dysport-desk")
    saved = charting.session_plan(live.db, live.clinic.clinic_id, row_id).points
    assert sum(1 for p in saved.values() if p.state == "done") == count
    d_numbers = {p.number for p in session.plans[1].points}
    assert {p.vial_id for n, p in saved.items() if n in d_numbers} == {d_vial}
    assert {p.vial_id for n, p in saved.items() if n not in d_numbers} == {live.clinic.vial_id}
    assert page.errors == []
