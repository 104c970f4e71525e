"""The authorisation matrix: every route × every role × own clinic / other clinic / anonymous.

Generated from the app's route table: a route missing from ``dosemap.web.permissions.ROUTES``
fails :func:`test_every_route_has_a_permission_entry`, and every route is exercised by
:func:`test_matrix` with what the table says each role may do. Expected: 303-to-sign-in or
401 when anonymous, 403 for a role without the permission, 404 for another clinic's record,
and never another clinic's data in a response.

A new route with a path parameter needs a line in :data:`PATH_VALUES` (how to name a record
of the own / the other clinic); a POST route may give a valid form in :data:`FORMS`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Mount

from dosemap.resources import consent_template
from dosemap.services.consent import text_sha256
from dosemap.web.app import ALL_ROUTERS, api_routes, refuse_unguarded_routes
from dosemap.web.permissions import (
    KIOSK,
    PERMISSIONS,
    PUBLIC,
    ROLES,
    ROUTES,
    SECOND_FACTOR,
    allowed,
)
from dosemap.web.security import GuardedRoute, router
from support.web import (
    OTHER_CLINIC_MARKER,
    ClinicSide,
    WebWorld,
    signature_data_url,
    site_grant_of,
)


def consent_template_sha256() -> str:
    """The SHA-256 of dosemap's template consent text (what the Consent page shows)."""
    return text_sha256(consent_template("neuromodulator_microdose")[2])


#: Path parameter -> the value naming a record of a clinic side (for a role, when the record
#: is the caller's own, like an access token).
PATH_VALUES: dict[str, Callable[[WebWorld, ClinicSide, str], str]] = {
    "patient_id": lambda world, side, role: str(side.patient_id),
    "session_id": lambda world, side, role: str(side.session_id),
    "token_id": lambda world, side, role: str(world.token_of(side, role)),
    "consent_id": lambda world, side, role: str(side.consent_id),
    "photo_id": lambda world, side, role: str(side.photo_id),
    # a kiosk link: public, any pass is refused
    "token": lambda world, side, role: "k_not-a-real-pass",
    "vial_id": lambda world, side, role: str(side.records["vial_id"]),
    "followup_id": lambda world, side, role: str(side.records["followup_id"]),
    "adverse_event_id": lambda world, side, role: str(side.records["adverse_event_id"]),
    "staff_id": lambda world, side, role: str(side.records["staff_id"]),
    # a login outside ROLES
    "account_id": lambda world, side, role: str(side.records["account_id"]),
    # the clinic's grant to a login of the other clinic (the two made sites of one group)
    "grant_id": lambda world, side, role: str(site_grant_of(world, side)),
}
#: Route name -> a valid form body (else the matrix posts only the CSRF token).
FORMS: dict[str, dict[str, str]] = {
    "patient_register": {
        "given_name": "New",
        "family_name": "Person",
        "date_of_birth": "1990-01-02",
        "chart_number": "N-{n}",
    },
    "patients_search": {"name": "Ex"},
    "vials_lot_receive": {"product": "dysport", "lot_number": "L-{n}", "expires_on": "2031-05-01"},
    "vial_waste": {"units": "0.5"},
    "vial_discard": {"reason": "dropped"},
    "followup_contacted": {"expected_version": "1", "note": "called"},
    "followup_done": {"expected_version": "1"},
    "recall_lot": {"lot_number": "C1234A"},
    "chart_vial": {"lot_number": "C1234A"},
    "adverse_event_record": {
        "kind": "bruising",
        "onset_at": "2026-03-03T10:00",
        "severity": "mild",
    },
    "adverse_event_outcome": {"outcome": "resolved", "expected_version": "1"},
    "staff_add": {"display_name": "New Person {n}", "role": "front_desk"},
    "staff_credential_add": {
        "type": "RN",
        "number": "RN-{n}",
        "jurisdiction": "US-CA",
        "expires_on": "2030-01-01",
    },
    "staff_active": {"active": "false"},
    "login_add": {
        "username": "new-{n}",
        "display_name": "New {n}",
        "role": "front_desk",
        "password": "a long enough password",
    },
    "login_role": {"role": "auditor"},
    "login_active": {"active": "false"},
    "totp_policy": {"roles": "prescriber"},
    "intake_record": {"answers.pregnancy": "no", "medications": "vitamin D"},
    "kiosk_redeem": {"code": "ABCD2345"},
    "consent_text_publish": {
        "version": "matrix-{n}",
        "title": "Consent",
        "text": "I agree to the treatment described to me.",
    },
    "consent_sign": {
        "text_version": "dosemap-template-1",
        "text_sha256": consent_template_sha256(),
        "signer_name": "Pat Example",
        "signature": signature_data_url(),
    },
    "kiosk_submit": {"answers.pregnancy": "no"},
}
#: Public POST routes whose form's CSRF cookie is set by another page than /login.
CSRF_PAGES: dict[str, str] = {"kiosk_redeem": "/kiosk"}
#: Routes that sign the caller out: run last for each client (a fresh client each case anyway).
ENDS_SESSION = {"logout"}


def _api_routes(app: FastAPI) -> list[APIRoute]:
    return api_routes(app)


def _guarded(route: APIRoute) -> bool:
    # Exactly the class: a subclass could override get_route_handler and skip authorise.
    return type(route) is GuardedRoute


def _cases() -> list[tuple[str, str, str]]:
    app = _app_for_listing()
    out = []
    for route in _api_routes(app):
        for method in sorted(route.methods):
            out.append((route.name, method, route.path))
    return out


def _app_for_listing() -> FastAPI:
    # The route table does not depend on the database: the app's routers, without one.
    listing = FastAPI()
    for r in ALL_ROUTERS:
        listing.include_router(r)
    return listing


def test_every_route_has_a_permission_entry() -> None:
    """A route without an entry in ROUTES fails here (and is refused at run time)."""
    missing = sorted(r.name for r in _api_routes(_app_for_listing()) if r.name not in ROUTES)
    assert not missing, f"routes without a permission entry in web/permissions.py: {missing}"
    stale = sorted(set(ROUTES) - {r.name for r in _api_routes(_app_for_listing())} - {"openapi"})
    assert not stale, f"ROUTES names routes that do not exist: {stale}"
    assert all(p in PERMISSIONS for p in ROUTES.values())


def test_every_route_goes_through_authorise() -> None:
    """No route bypasses the one place that enforces the table: every route is a GuardedRoute,
    whose handler calls authorise first."""
    bypass = [r.name for r in _api_routes(_app_for_listing()) if not _guarded(r)]
    assert not bypass, f"routes not guarded by authorise (use security.router()): {bypass}"


def test_a_route_outside_security_router_is_caught(world: WebWorld) -> None:
    """The check above catches a route made by a plain APIRouter (or another route class),
    and the app refuses to start with one."""
    plain = APIRouter()

    @plain.get("/plain", name="today")  # even under a name the table knows
    async def unguarded() -> dict[str, str]:
        return {"secret": "yes"}

    (route,) = plain.routes
    assert isinstance(route, APIRoute) and not _guarded(route)

    class Sneaky(GuardedRoute):
        pass

    assert not _guarded(Sneaky("/sneaky", unguarded, name="today"))
    with pytest.raises(TypeError):
        router(route_class=Sneaky)
    app = FastAPI()
    app.include_router(plain)
    with pytest.raises(RuntimeError, match="today"):
        refuse_unguarded_routes(app)
    refuse_unguarded_routes(world.app)  # the real app passes


def test_a_route_without_an_entry_is_refused(world: WebWorld) -> None:
    """Fail closed: a route added without a table entry answers 500, even to an admin."""
    extra = router()

    @extra.get("/unlisted", name="unlisted_route")
    async def unlisted() -> dict[str, str]:
        return {"secret": "yes"}

    world.app.include_router(extra)
    response = world.client("admin").get("/unlisted")
    assert response.status_code == 500
    assert "secret" not in response.text


def test_the_app_has_no_route_outside_the_table(world: WebWorld) -> None:
    """The built app (not only its routers) has only listed routes, and one mount: static."""
    names = {r.name for r in api_routes(world.app)}
    assert names <= set(ROUTES), names - set(ROUTES)
    mounts = [r.name for r in world.app.routes if isinstance(r, Mount)]
    assert mounts == ["static"]


def _url(world: WebWorld, path: str, side: ClinicSide, role: str = "admin") -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[0]
        if name not in PATH_VALUES:
            pytest.fail(f"no PATH_VALUES entry for path parameter {name!r} (in {path})")
        return PATH_VALUES[name](world, side, role)

    return re.sub(r"\{([^}]+)\}", value, path)


def _request(world: WebWorld, client: Any, name: str, method: str, url: str, n: int) -> Any:
    if method == "GET":
        return client.get(url)
    data = {k: v.format(n=n) for k, v in FORMS.get(name, {}).items()}
    if client.cookies.get("dm_session"):
        data["csrf_token"] = world.csrf(client)
    else:  # before sign-in: the sign-in form's token (its cookie is scoped to /login)
        page = client.get(CSRF_PAGES.get(name, "/login")).text
        data["csrf_token"] = page.split('name="csrf_token" value="')[1].split('"')[0]
    return client.request(method, url, data=data)


@pytest.mark.parametrize(("name", "method", "path"), _cases())
def test_matrix(world: WebWorld, name: str, method: str, path: str) -> None:
    permission = ROUTES[name]
    has_params = "{" in path
    n = 0
    # Anonymous.
    anonymous = world.client(None)
    response = _request(world, anonymous, name, method, _url(world, path, world.own), n)
    if permission == KIOSK:  # the patient's tablet: no sign-in link, "hand it back"
        assert response.status_code == 401, (name, method, response.status_code)
    elif permission == PUBLIC:
        assert response.status_code < 500, (name, response.status_code)
        assert response.status_code not in (401, 403), (name, response.status_code)
    elif method == "GET" and not path.startswith("/api/"):
        assert response.status_code == 303 and response.headers["location"] == "/login", name
    else:
        assert response.status_code == 401, (name, method, response.status_code)
    if permission in (PUBLIC, SECOND_FACTOR):
        return
    if permission == KIOSK:  # a staff session opens no kiosk page, whatever the role
        for role in ROLES:
            response = _request(world, world.client(role), name, method, path, n)
            assert response.status_code == 401, (name, method, role, response.status_code)
            assert OTHER_CLINIC_MARKER not in response.text
        return
    for role in ROLES:
        for side_name in ("own", "other") if has_params else ("own",):
            n += 1
            client = world.client(role)
            target = getattr(world, side_name)
            response = _request(world, client, name, method, _url(world, path, target, role), n)
            status = response.status_code
            case = (name, method, role, side_name, status)
            assert status < 500, case
            assert OTHER_CLINIC_MARKER not in response.text, case
            if not allowed(role, permission):
                assert status == 403, case
            elif side_name == "other":
                assert status == 404 or (status == 422 and name not in FORMS), case
            else:
                assert status not in (401, 403, 404), case


def test_a_bad_path_parameter_is_refused_after_authorise(world: WebWorld) -> None:
    """Pages served without FastAPI's dependency solving (security._direct_handler) still
    check the caller first and validate path parameters as FastAPI does."""
    assert world.client(None).get("/patients/not-a-uuid").status_code == 303  # sign in first
    response = world.client("admin").get("/patients/not-a-uuid")
    assert response.status_code == 422
    assert "Not accepted" in response.text
    assert world.client("admin").get("/api/v1/patients/not-a-uuid").status_code == 422


def test_a_page_reads_its_uuid_as_fastapi_would_in_any_spelling(world: WebWorld) -> None:
    """The canonical spelling is read without FastAPI (security._canonical_uuids); any other
    spelling pydantic accepts goes through FastAPI and reaches the same record, and a string
    that only Python's ``uuid.UUID`` would take (a sign, misplaced hyphens) is still a 422."""
    client = world.client("admin")
    patient_id = world.own.patient_id
    plain = client.get(f"/patients/{patient_id}")
    assert plain.status_code == 200
    for spelling in (str(patient_id).upper(), patient_id.hex, "{" + str(patient_id) + "}"):
        answer = client.get(f"/patients/{spelling}")
        assert (answer.status_code, answer.text) == (200, plain.text), spelling
    hex_id = patient_id.hex
    for bad in ("+" + hex_id[1:], hex_id[:8] + "--" + hex_id[8:30] + "-" + "-"):
        assert client.get(f"/patients/{bad}").status_code == 422, bad
