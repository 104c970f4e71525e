"""The JSON API with personal access tokens: made on the Access tokens page, shown once,
hashed at rest, limited to their scopes, revocable; clinic-scoped; reads access-logged."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from dosemap.persistence.unit_of_work import reading
from dosemap.services.clinic_day import access_log
from dosemap.services.signin import hash_token
from support.web import OTHER_CLINIC_MARKER, WebWorld


def _make_token(world: WebWorld, role: str, scopes: list[str], side: str = "own") -> str:
    client = world.client(role, side)
    csrf = world.csrf(client)
    page = client.post(
        "/account/tokens",
        data={"csrf_token": csrf, "name": "script", "scopes": scopes, "days": "30"},
    )
    assert page.status_code == 200, page.text
    found = re.search(r"<code>(dm_pat_[A-Za-z0-9_-]+)</code>", page.text)
    assert found is not None
    return found.group(1)


def _api(world: WebWorld, token: str) -> TestClient:
    return TestClient(world.app, headers={"Authorization": f"Bearer {token}"})


def test_a_token_reads_today_and_patients_within_its_scopes(world: WebWorld) -> None:
    token = _make_token(world, "front_desk", ["today.view", "patients.list", "patients.read"])
    api = _api(world, token)
    me = api.get("/api/v1/me")
    assert me.status_code == 403  # signed_in was not among the token's scopes
    today = api.get("/api/v1/today").json()
    assert today["clinic_name"] == "Test Clinic"
    assert [v["lot_number"] for v in today["open_vials"]] == ["C1234A"]
    found = api.post("/api/v1/patients/search", json={"name": "Exa"}).json()
    assert [p["chart_number"] for p in found] == ["C-0001"]
    record = api.get(f"/api/v1/patients/{world.own.patient_id}").json()
    assert record["consent_on_file"] is True and record["timeline"]
    entries = access_log(world.db, world.own.clinic_id)
    assert sorted((e.username, e.via) for e in entries) == [
        ("a-front-desk", "api:patient"),
        ("a-front-desk", "api:patients_search"),
    ]


def test_scopes_limit_a_token(world: WebWorld) -> None:
    token = _make_token(world, "admin", ["today.view"])
    api = _api(world, token)
    assert api.get("/api/v1/today").status_code == 200
    assert api.post("/api/v1/patients/search", json={}).status_code == 403
    assert api.get(f"/api/v1/patients/{world.own.patient_id}").status_code == 403


def test_a_token_cannot_hold_more_than_its_role(world: WebWorld) -> None:
    client = world.client("front_desk")
    page = client.post(
        "/account/tokens",
        data={"csrf_token": world.csrf(client), "name": "x", "scopes": ["staff.manage"]},
    )
    assert page.status_code == 422 and "dm_pat_" not in page.text


def test_another_clinics_patient_is_not_found(world: WebWorld) -> None:
    token = _make_token(world, "admin", ["patients.read", "patients.list"])
    api = _api(world, token)
    assert api.get(f"/api/v1/patients/{world.other.patient_id}").status_code == 404
    found = api.post("/api/v1/patients/search", json={"name": OTHER_CLINIC_MARKER}).json()
    assert found == []


def test_revoked_expired_and_unknown_tokens_are_refused(world: WebWorld) -> None:
    token = _make_token(world, "injector", ["today.view"])
    api = _api(world, token)
    assert api.get("/api/v1/today").status_code == 200
    client = world.client("injector")
    page = client.get("/account/tokens").text
    token_id = re.search(r"/account/tokens/([0-9a-f-]{36})/revoke", page).group(1)  # type: ignore[union-attr]
    assert (
        client.post(
            f"/account/tokens/{token_id}/revoke", data={"csrf_token": world.csrf(client)}
        ).status_code
        == 303
    )
    assert api.get("/api/v1/today").status_code == 401
    assert _api(world, "dm_pat_not-a-token").get("/api/v1/today").status_code == 401
    assert TestClient(world.app).get("/api/v1/today").status_code == 401


def test_only_the_hash_is_stored_and_the_token_is_shown_once(world: WebWorld) -> None:
    token = _make_token(world, "auditor", ["today.view"])
    with reading(world.db) as uow:
        assert uow.access_tokens.holder(hash_token(token)) is not None
        assert uow.access_tokens.holder(token) is None
    listing = world.client("auditor").get("/account/tokens").text
    assert token not in listing


def test_another_persons_token_cannot_be_revoked(world: WebWorld) -> None:
    _make_token(world, "injector", ["today.view"])
    owner_page = world.client("injector").get("/account/tokens").text
    token_id = re.search(r"/account/tokens/([0-9a-f-]{36})/revoke", owner_page).group(1)  # type: ignore[union-attr]
    other = world.client("admin")
    response = other.post(
        f"/account/tokens/{token_id}/revoke", data={"csrf_token": world.csrf(other)}
    )
    assert response.status_code == 404


def test_the_openapi_document_lists_only_the_api(world: WebWorld) -> None:
    doc = TestClient(world.app).get("/api/v1/openapi.json").json()
    assert set(doc["paths"]) == {
        "/api/v1/me",
        "/api/v1/today",
        "/api/v1/patients/search",
        "/api/v1/patients/{patient_id}",
    }
    assert "HTTPBearer" in doc["components"]["securitySchemes"]
