"""The route index finds, for every route, the route the full walk of the list finds first."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.routing import Match

from dosemap.web.app import ALL_ROUTERS
from dosemap.web.route_index import RouteIndex


def _app() -> FastAPI:
    app = FastAPI(openapi_url="/api/v1/openapi.json")
    for r in ALL_ROUTERS:
        app.router.routes.extend(r.routes)
    app.mount("/static", StaticFiles(packages=[("dosemap.web", "static")]), name="static")
    return app


def _first_full(routes: list[object], scope: dict[str, object]) -> object | None:
    for route in routes:
        match, child = route.matches(scope)  # type: ignore[attr-defined]
        if match is Match.FULL:
            return child.get("route", route)
    return None


def _scope(method: str, path: str) -> dict[str, object]:
    return {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}


def test_the_index_finds_what_the_walk_finds() -> None:
    app = _app()
    routes = list(app.router.routes)
    index = RouteIndex(routes)
    paths = {re.sub(r"\{[^}]+\}", "0b0e8f1c-1111-4222-8333-444455556666", r.path)
             for r in routes if isinstance(r, APIRoute)}  # fmt: skip
    paths |= {re.sub(r"\{[^}]+\}", "search", r.path) for r in routes if isinstance(r, APIRoute)}
    paths |= {"/", "/nowhere", "/patients/", "/static/dosemap.css", "/api/v1/openapi.json"}
    checked = 0
    for path in sorted(paths):
        for method in ("GET", "POST", "PUT", "DELETE"):
            scope = _scope(method, path)
            walked = _first_full(routes, scope)
            match, child = index.matches(scope)
            if match is Match.FULL:
                checked += 1
                assert child["route"] is walked, (method, path)
            else:  # the router then walks the list itself
                assert match is Match.NONE
    assert checked > 50
    assert ("POST", "/patients/search") in index._exact and ("GET", "/") in index._exact


def test_the_app_puts_the_index_first(world: object) -> None:
    app = world.app  # type: ignore[attr-defined]
    assert isinstance(app.router.routes[0], RouteIndex)
    assert app.url_path_for("patient", patient_id="x") == "/patients/x"
    client = world.client("admin")  # type: ignore[attr-defined]
    assert client.get("/vials").status_code == 200
    assert client.get("/nowhere").status_code == 404
    assert client.put("/vials").status_code == 405


def _endpoint() -> None:
    return None


def test_a_path_an_earlier_pattern_takes_is_not_looked_up_by_name() -> None:
    # GET /things/new is taken by /things/{thing_id} first, as in the full walk; POST
    # /things/new by its own route, the earlier pattern being GET only.
    routes = [
        APIRoute("/things/{thing_id}", _endpoint, methods=["GET"]),
        APIRoute("/things/new", _endpoint, methods=["GET", "POST"]),
        APIRoute("/things/new", _endpoint, methods=["POST"]),
    ]
    index = RouteIndex(list(routes))
    for method, first in (("GET", routes[0]), ("POST", routes[1])):
        match, child = index.matches(_scope(method, "/things/new"))
        assert match is Match.FULL and child["route"] is first, method
        assert _first_full(list(routes), _scope(method, "/things/new")) is first
    assert index._exact == {("POST", "/things/new"): routes[1]}


def test_a_parameter_that_may_hold_a_slash_keeps_its_segment_walked_whole() -> None:
    # /files/{rest:path} takes /files/a/b (three "/") before /files/{a}/{b} does; a segment
    # of one-segment parameters only is looked up by its number of segments.
    files = [
        APIRoute("/files/{rest:path}", _endpoint, methods=["GET"]),
        APIRoute("/files/{a}/{b}", _endpoint, methods=["GET"]),
    ]
    things = [
        APIRoute("/things/{thing_id}/parts", _endpoint, methods=["GET"]),
        APIRoute("/things/{thing_id:uuid}", _endpoint, methods=["GET"]),
        APIRoute("/things/{thing_id}/{part}", _endpoint, methods=["GET"]),
    ]
    routes: list[object] = [*files, *things]
    index = RouteIndex(list(routes))  # type: ignore[arg-type]
    assert "files" not in index._shaped and "things" in index._shaped
    assert index._by_shape[("things", 2)] == (things[1],)
    for path, expected in (
        ("/files/a/b", files[0]),
        ("/things/0b0e8f1c-1111-4222-8333-444455556666", things[1]),
        ("/things/x/parts", things[0]),
        ("/things/x/y", things[2]),
    ):
        match, child = index.matches(_scope("GET", path))
        assert match is Match.FULL and child["route"] is expected, path
        assert _first_full(routes, _scope("GET", path)) is expected
    assert index.matches(_scope("GET", "/things/x/y/z"))[0] is Match.NONE
