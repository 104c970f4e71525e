"""Patient lists and searches are reads of patient data (names, dates of birth): each patient
shown is written to the access log — one entry per patient, ``entity`` "patient", the same
query an auditor runs for a single record's reads — all of one answer in one transaction,
committed before the answer is sent. Web page (plain and htmx, cached or not) and API alike.
"""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from fastapi.testclient import TestClient

from dosemap.services import patients
from dosemap.services.clinic_day import access_log
from dosemap.services.tokens import TokenInput, create_token
from support.web import OTHER_CLINIC_MARKER, WebWorld


def _second_patient(world: WebWorld) -> uuid.UUID:
    return patients.register_patient(
        world.db,
        world.own.clinic_id,
        patients.PatientInput(
            chart_number="C-0002",
            given_name="Exa",
            family_name="Exampleton",
            date_of_birth=date(1970, 3, 4),
        ),
        actor="test",
    ).id


def _logged(world: WebWorld, via: str) -> list[tuple[str, str, str]]:
    return sorted(
        (e.username, e.entity, e.entity_id)
        for e in access_log(world.db, world.own.clinic_id, limit=1000)
        if e.via == via
    )


def test_a_search_logs_each_patient_it_shows(world: WebWorld) -> None:
    second = _second_patient(world)
    client = world.client("front_desk")
    csrf = world.csrf(client)
    shown = client.post("/patients/search", data={"csrf_token": csrf, "name": "exa"})
    assert shown.status_code == 200 and "Exampleton" in shown.text
    wanted = sorted(("a-front-desk", "patient", str(pid)) for pid in (world.own.patient_id, second))
    assert _logged(world, "page:patients_search") == wanted
    # htmx: the rows come from the page cache the second time; the read is logged each time.
    for _ in range(2):
        rows = client.post(
            "/patients/search",
            data={"csrf_token": csrf, "chart_number": "C-0002"},
            headers={"HX-Request": "true"},
        )
        assert rows.status_code == 200 and "Exampleton" in rows.text
    assert _logged(world, "page:patients_search") == sorted(
        [*wanted, *[("a-front-desk", "patient", str(second))] * 2]
    )


def test_nothing_shown_nothing_logged(world: WebWorld) -> None:
    client = world.client("injector")
    csrf = world.csrf(client)
    for query in ({"name": "Nobody"}, {"name": OTHER_CLINIC_MARKER}, {"date_of_birth": "17/05"}):
        for headers in ({}, {"HX-Request": "true"}):
            answer = client.post(
                "/patients/search", data={"csrf_token": csrf, **query}, headers=headers
            )
            assert OTHER_CLINIC_MARKER + "son" not in answer.text  # the query is echoed back
    assert access_log(world.db, world.own.clinic_id) == []
    assert access_log(world.db, world.other.clinic_id) == []


def test_the_patients_list_logs_each_patient_it_shows(world: WebWorld) -> None:
    second = _second_patient(world)
    page = world.client("auditor").get("/patients")
    assert page.status_code == 200 and "Exampleton" in page.text
    assert _logged(world, "page:patients") == sorted(
        ("a-auditor", "patient", str(pid)) for pid in (world.own.patient_id, second)
    )


def test_an_api_search_logs_each_patient_it_answers(world: WebWorld) -> None:
    second = _second_patient(world)
    owner = world.client("injector")  # a token is made by a signed-in person
    account = world.own.accounts["injector"]
    from dosemap.services.signin import Principal

    principal = Principal(
        user_id=account.id, clinic_id=account.clinic_id, staff_id=None,
        username=account.username, display_name=account.display_name, role="injector",
    )  # fmt: skip
    secret, _ = create_token(
        world.db, principal, TokenInput(name="s", scopes=frozenset({"patients.list"})),
        allowed_scopes=frozenset({"patients.list"}),
    )  # fmt: skip
    owner.close()
    api = TestClient(world.app, headers={"Authorization": f"Bearer {secret}"})
    found = api.post("/api/v1/patients/search", json={"name": "Exa"}).json()
    assert sorted(p["patient_id"] for p in found) == sorted(
        str(p) for p in (world.own.patient_id, second)
    )
    assert _logged(world, "api:patients_search") == sorted(
        ("a-injector", "patient", p["patient_id"]) for p in found
    )
    assert api.post("/api/v1/patients/search", json={"name": "Nobody"}).json() == []
    assert len(access_log(world.db, world.own.clinic_id)) == 2


def test_a_search_whose_log_cannot_be_written_shows_nothing(
    world: WebWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The log entries are committed before the answer: a failed commit fails the answer."""
    client = world.client("front_desk")
    csrf = world.csrf(client)
    writer = world.app.state.dosemap.access_log

    def refuse(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the access log is unavailable")

    monkeypatch.setattr(writer.path, "try_append_access", lambda entries: False)
    monkeypatch.setattr(writer.path, "append_access", refuse)
    failing = TestClient(world.app, raise_server_exceptions=False, follow_redirects=False)
    failing.cookies = client.cookies
    for headers in ({}, {"HX-Request": "true"}):
        answer = failing.post(
            "/patients/search", data={"csrf_token": csrf, "name": "exa"}, headers=headers
        )
        assert answer.status_code == 500 and "Example" not in answer.text
