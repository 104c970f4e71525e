"""The daily pages: Today, Patients (search, register), Patient (access-logged), headers."""

from __future__ import annotations

import re

from dosemap.services.clinic_day import access_log
from dosemap.web.headers import CSP
from support.web import OTHER_CLINIC_MARKER, WebWorld


def test_today_lists_the_clinics_open_vial_and_expiring_lots(world: WebWorld) -> None:
    page = world.client("injector").get("/")
    assert page.status_code == 200
    assert "Open vials" in page.text and "C1234A" in page.text  # the test clinic's lot
    assert OTHER_CLINIC_MARKER not in page.text


def test_patients_lists_only_the_own_clinic(world: WebWorld) -> None:
    page = world.client("front_desk").get("/patients")
    assert "Example, Pat" in page.text
    assert OTHER_CLINIC_MARKER not in page.text


def test_search_by_name_date_of_birth_and_chart_number(world: WebWorld) -> None:
    client = world.client("front_desk")
    csrf = world.csrf(client)
    for query in ({"name": "exa"}, {"date_of_birth": "1985-05-17"}, {"chart_number": "C-00"}):
        found = client.post("/patients/search", data={"csrf_token": csrf, **query})
        assert "Example, Pat" in found.text, query
    none = client.post("/patients/search", data={"csrf_token": csrf, "name": "Nobody"})
    assert "No patient matches" in none.text
    bad = client.post("/patients/search", data={"csrf_token": csrf, "date_of_birth": "17/05"})
    assert "date_of_birth" in bad.text
    other = client.post("/patients/search", data={"csrf_token": csrf, "name": OTHER_CLINIC_MARKER})
    assert "No patient matches" in other.text


def test_register_a_patient_then_open_the_record(world: WebWorld) -> None:
    client = world.client("front_desk")
    response = client.post(
        "/patients",
        data={
            "csrf_token": world.csrf(client),
            "given_name": "Nina",
            "family_name": "Newcomer",
            "date_of_birth": "1991-07-08",
            "chart_number": "C-0100",
            "skin_type": "oily",
        },
    )
    assert response.status_code == 303
    record = client.get(response.headers["location"])
    assert record.status_code == 200 and "Newcomer, Nina" in record.text


def test_a_bad_field_is_named_and_nothing_is_written(world: WebWorld) -> None:
    client = world.client("front_desk")
    csrf = world.csrf(client)
    response = client.post(
        "/patients",
        data={
            "csrf_token": csrf,
            "given_name": "Bad",
            "family_name": "Email",
            "date_of_birth": "1990-01-01",
            "chart_number": "C-0200",
            "email": "not-an-email",
        },
    )
    assert response.status_code == 422
    assert 'id="e-email"' in response.text
    future = client.post(
        "/patients",
        data={
            "csrf_token": csrf,
            "given_name": "Bad",
            "family_name": "Date",
            "date_of_birth": "2999-01-01",
            "chart_number": "C-0201",
        },
    )
    assert future.status_code == 422 and "is in the future" in future.text
    listed = client.post("/patients/search", data={"csrf_token": csrf, "name": "Bad"})
    assert "No patient matches" in listed.text


def test_reading_a_record_is_written_to_the_access_log(world: WebWorld) -> None:
    client = world.client("prescriber")
    url = f"/patients/{world.own.patient_id}"
    assert client.get(url).status_code == 200
    entries = access_log(world.db, world.own.clinic_id, entity_id=str(world.own.patient_id))
    assert [(e.username, e.action, e.entity, e.via) for e in entries] == [
        ("a-prescriber", "read", "patient", "page:patient")
    ]


def test_another_clinics_record_is_not_found_and_not_logged(world: WebWorld) -> None:
    client = world.client("admin")
    response = client.get(f"/patients/{world.other.patient_id}")
    assert response.status_code == 404
    assert OTHER_CLINIC_MARKER not in response.text
    assert access_log(world.db, world.other.clinic_id) == []
    assert access_log(world.db, world.own.clinic_id) == []


def test_patient_page_shows_consent_intake_and_timeline(world: WebWorld) -> None:
    page = world.client("injector").get(f"/patients/{world.own.patient_id}").text
    assert "on file" in page  # the test clinic's patient signed consent v2026-01
    assert "2026-01" in page
    assert "hypersensitivity" in page  # intake answers
    assert "Timeline" in page and "intake" in page


def test_security_headers_and_no_inline_code(world: WebWorld) -> None:
    client = world.client("admin")
    for url in ("/", "/patients", f"/patients/{world.own.patient_id}", "/login"):
        response = client.get(url)
        assert response.headers["content-security-policy"] == CSP
        assert "unsafe-inline" not in CSP and "unsafe-eval" not in CSP
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        html = response.text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url  # no inline script
        assert not re.search(r"\sstyle=", html), url  # no inline style
        assert not re.search(r"\son[a-z]+=", html), url  # no inline handler


def test_static_files_are_served_from_the_package(world: WebWorld) -> None:
    client = world.client(None)
    js = client.get("/static/htmx-2.0.11.min.js")
    assert js.status_code == 200 and "htmx" in js.text[:200]
    assert "max-age" in js.headers["cache-control"]
    css = client.get("/static/dosemap.css")
    assert css.status_code == 200 and "min-height: 44px" in css.text


def test_a_cached_page_changes_as_soon_as_the_record_does(world: WebWorld) -> None:
    """Pages are cached per records version: any write (it appends to the audit chain) shows."""
    from dosemap.services.patients import PatientUpdate, get_patient, update_patient

    client = world.client("injector")
    url = f"/patients/{world.own.patient_id}"
    assert "+1 555 0100" in client.get(url).text
    assert "+1 555 0100" in client.get(url).text  # from the cache
    current = get_patient(world.db, world.own.clinic_id, world.own.patient_id)
    update_patient(
        world.db,
        world.own.clinic_id,
        world.own.patient_id,
        PatientUpdate(phone="+1 555 0199"),
        expected_version=current.version,
        actor="test",
    )
    assert "+1 555 0199" in client.get(url).text
    csrf = world.csrf(client)
    search = {"csrf_token": csrf, "name": "Zoe"}
    assert (
        "No patient matches"
        in client.post("/patients/search", data=search, headers={"HX-Request": "true"}).text
    )
    client.post(
        "/patients",
        data={
            "csrf_token": csrf,
            "given_name": "Zoe",
            "family_name": "Later",
            "date_of_birth": "1990-02-03",
            "chart_number": "C-0300",
        },
    )
    assert (
        "Later, Zoe"
        in client.post("/patients/search", data=search, headers={"HX-Request": "true"}).text
    )


def test_every_read_from_the_cache_is_still_logged(world: WebWorld) -> None:
    client = world.client("auditor")
    for _ in range(3):
        assert client.get(f"/patients/{world.own.patient_id}").status_code == 200
    assert len(access_log(world.db, world.own.clinic_id)) == 3


def test_search_text_is_literal_and_control_characters_are_refused(world: WebWorld) -> None:
    client = world.client("front_desk")
    csrf = world.csrf(client)
    wildcard = client.post("/patients/search", data={"csrf_token": csrf, "name": "%"})
    assert "No patient matches" in wildcard.text  # % is a character, not "anything"
    nul = client.post("/patients/search", data={"csrf_token": csrf, "name": "Ex\x00"})
    assert nul.status_code == 422 and "name" in nul.text
