"""The Vials page: lots, reconstitution, waste, discard, reconciliation, the vial log CSV."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

from dosemap.persistence.unit_of_work import reading, writing
from dosemap.resources import load_library
from dosemap.services import vials
from support.web import OTHER_CLINIC_MARKER, WebWorld


def _lots(world: WebWorld) -> int:
    with reading(world.db) as uow:
        return len(uow.lots.of_clinic(world.own.clinic_id))


def _vial(world: WebWorld) -> vials.VialReconciliation:
    [row] = vials.reconcile(world.db, world.own.clinic_id, [world.own.records["vial_id"]])
    return row


def test_the_page_shows_the_open_vial_with_units_left_and_countdown(world: WebWorld) -> None:
    page = world.client("injector").get("/vials")
    assert page.status_code == 200
    assert "C1234A" in page.text and "B-LOT-9" not in page.text
    assert "98.8 / 100" in page.text  # units left / units in the vial (1.2 U charted)
    assert "expired" in page.text  # the test vial was opened in March 2026, label policy 24 h
    assert "Reconstitute a vial" in page.text and "Receive a lot" in page.text
    assert OTHER_CLINIC_MARKER not in page.text


def test_front_desk_and_auditor_see_the_page_without_the_forms(world: WebWorld) -> None:
    for role in ("front_desk", "auditor"):
        page = world.client(role).get("/vials").text
        assert "C1234A" in page and "Reconstitute a vial" not in page, role
        assert "Record waste" not in page, role
    assert "vials.csv" in world.client("auditor").get("/vials").text
    assert "vials.csv" not in world.client("front_desk").get("/vials").text


def test_receive_a_lot_and_a_bad_date_is_named_with_nothing_written(world: WebWorld) -> None:
    client = world.client("injector")
    csrf = world.csrf(client)
    before = _lots(world)
    bad = client.post(
        "/vials/lots",
        data={"csrf_token": csrf, "product": "dysport", "lot_number": "D1", "expires_on": "31/12"},
    )
    assert bad.status_code == 422 and 'id="l-e-expires_on"' in bad.text
    unknown = client.post(
        "/vials/lots",
        data={
            "csrf_token": csrf,
            "product": "snake oil",
            "lot_number": "D1",
            "expires_on": "2030-01-01",
        },
    )
    assert unknown.status_code == 422 and "unknown" in unknown.text
    assert _lots(world) == before
    ok = client.post(
        "/vials/lots",
        data={
            "csrf_token": csrf,
            "product": "dysport",
            "lot_number": "D1",
            "expires_on": "2030-01-01",
        },
    )
    assert ok.status_code == 303 and _lots(world) == before + 1
    assert "D1" in client.get("/vials").text


def test_reconstitute_a_vial_in_the_clinics_time_zone(world: WebWorld) -> None:
    client = world.client("prescriber")
    csrf = world.csrf(client)
    form = {
        "csrf_token": csrf,
        "lot_id": str(world.own.records["lot_id"]),
        "label": "V-NEW",
        "vial_units": "100",
        "diluent_ml": "0",
        "diluent": "preservative-free 0.9% saline",
        "reconstituted_at": "2026-12-01T09:30",
        "beyond_use_policy": "asds_consensus",
    }
    bad = client.post("/vials", data=form)
    assert bad.status_code == 422 and 'id="r-e-diluent_ml"' in bad.text
    assert len(vials.reconcile(world.db, world.own.clinic_id)) == 1
    ok = client.post("/vials", data={**form, "diluent_ml": "2.5"})
    assert ok.status_code == 303
    new = [r for r in vials.reconcile(world.db, world.own.clinic_id) if r.label == "V-NEW"]
    assert new and new[0].reconstituted_at is not None
    assert new[0].reconstituted_at.isoformat().startswith("2026-12-01T09:30")  # clinic is UTC
    other_lot = client.post(
        "/vials",
        data={
            **form,
            "diluent_ml": "2.5",
            "label": "V-OTHER",
            "lot_id": str(world.other.records["lot_id"]),
        },
    )
    assert other_lot.status_code == 404


def test_waste_then_discard_and_the_reconciliation_adds_up(world: WebWorld) -> None:
    client = world.client("injector")
    csrf = world.csrf(client)
    vial_id = world.own.records["vial_id"]
    too_much = client.post(f"/vials/{vial_id}/waste", data={"csrf_token": csrf, "units": "101"})
    assert too_much.status_code == 422 and "more than is left" in too_much.text
    not_a_number = client.post(f"/vials/{vial_id}/waste", data={"csrf_token": csrf, "units": "two"})
    assert not_a_number.status_code == 422 and f'id="w-{vial_id}-e-units"' in not_a_number.text
    assert _vial(world).units_wasted == 0
    version = str(_vial(world).version)
    ok = client.post(
        f"/vials/{vial_id}/waste",
        data={"csrf_token": csrf, "units": "1.5", "expected_version": version},
    )
    assert ok.status_code == 303
    stale = client.post(
        f"/vials/{vial_id}/waste",
        data={"csrf_token": csrf, "units": "1", "expected_version": version},
    )
    assert stale.status_code == 409
    row = _vial(world)
    assert (row.units_wasted, row.units_left, row.unaccounted) == (
        Decimal("1.5"),
        Decimal("97.3"),
        0,
    )
    empty = client.post(f"/vials/{vial_id}/discard", data={"csrf_token": csrf, "reason": " "})
    assert empty.status_code == 422 and f'id="d-{vial_id}-e-reason"' in empty.text
    done = client.post(
        f"/vials/{vial_id}/discard", data={"csrf_token": csrf, "reason": "beyond use"}
    )
    assert done.status_code == 303
    row = _vial(world)
    assert row.discarded_at is not None and not row.mismatch
    assert (row.units_wasted, row.units_charted) == (Decimal("98.8"), Decimal("1.2"))
    page = client.get("/vials").text
    assert "No open vials" in page and "discarded" in page


def test_a_vial_whose_units_do_not_add_up_is_flagged(world: WebWorld) -> None:
    with writing(world.db) as uow:  # drawn units neither charted nor wasted
        uow.vials.get(world.own.clinic_id, world.own.records["vial_id"]).units_drawn += Decimal(3)
    page = world.client("auditor").get("/vials").text
    assert "units do not add up" in page  # the open vial
    assert page.count(">mismatch<") == 2  # the lot and the vial in the reconciliation
    assert ">3</td>" in page  # 3 U unaccounted


def test_the_vial_log_downloads_as_csv_and_is_audited(world: WebWorld) -> None:
    response = world.client("auditor").get("/vials/export/vials.csv")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="dosemap_vials.csv"'
    assert response.headers["content-type"].startswith("text/csv")
    assert "C1234A" in response.text and "B-LOT-9" not in response.text
    with reading(world.db) as uow:
        assert uow.audit.verify().ok


def _more_vials(world: WebWorld, n: int) -> list[str]:
    """``n`` more vials of the own clinic's lot, an hour apart after its first vial."""
    [first] = vials.reconcile(world.db, world.own.clinic_id)
    assert first.reconstituted_at is not None
    labels = [f"P-{i:03d}" for i in range(1, n + 1)]
    for i, label in enumerate(labels, start=1):
        vials.open_vial(
            world.db,
            world.own.clinic_id,
            vials.VialInput(
                lot_id=world.own.records["lot_id"],
                label=label,
                vial_units=Decimal(100),
                diluent_ml=Decimal("2.5"),
                reconstituted_at=first.reconstituted_at + timedelta(hours=i),
            ),
            load_library(),
            actor="test",
        )
    return labels


def test_lot_totals_are_added_up_by_the_database(world: WebWorld) -> None:
    [extra] = _more_vials(world, 1)
    with writing(world.db) as uow:  # 40 U drawn: 38 wasted, 2 unaccounted
        [vial_id] = uow.vials.ids_matching(world.own.clinic_id, extra)
        vial = uow.vials.get(world.own.clinic_id, vial_id)
        vial.units_drawn, vial.units_wasted = Decimal(40), Decimal(38)
    overview = vials.vials_overview(world.db, world.own.clinic_id)
    [total] = overview.lot_totals
    assert (total.vials, total.units_received, total.units_charted) == (2, 200, Decimal("1.2"))
    assert (total.units_wasted, total.units_left, total.unaccounted) == (38, Decimal("158.8"), 2)
    assert total.mismatched_vials == 1 and total.mismatch and overview.mismatched_vials == 1
    assert [lot.lot_number for lot in overview.lots] == ["C1234A"]


def test_the_vial_reconciliation_is_paged_newest_first(world: WebWorld) -> None:
    labels = _more_vials(world, vials.VIALS_PER_PAGE + 2)  # with the world's: 2 pages
    total = vials.VIALS_PER_PAGE + 3
    client = world.client("auditor")

    def listed(page: str) -> list[str]:  # the reconciliation's rows, in order
        return re.findall(r'<td class="nowrap">([^<]+)</td>\s*<td>', page)

    first = client.get("/vials").text
    assert f"vials 1–{vials.VIALS_PER_PAGE} of {total}" in first
    assert listed(first) == labels[::-1][: vials.VIALS_PER_PAGE]  # newest first
    assert "<strong>V-1</strong>" in first  # every open vial is listed, whatever the page
    assert "Page 1 of 2" in first and "/vials?page=2" in first and 'rel="prev"' not in first
    second = client.get("/vials?page=2").text
    assert f"vials {vials.VIALS_PER_PAGE + 1}–{total} of {total}" in second
    assert listed(second) == [labels[1], labels[0], "V-1"]
    assert "Page 2 of 2" in second and "/vials?page=1" in second and 'rel="next"' not in second
    assert client.get("/vials?page=9").text.count("Page 2 of 2") == 1  # past the end: the last
    assert client.get("/vials?page=x").status_code == 422


def test_the_lot_and_vial_log_downloads_as_pdf(world: WebWorld) -> None:
    response = world.client("auditor").get("/vials/export/vial_log.pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF-")
    assert response.headers["content-type"] == "application/pdf"
    assert "attachment" in response.headers["content-disposition"]
    assert world.client("front_desk").get("/vials/export/vial_log.pdf").status_code == 403
