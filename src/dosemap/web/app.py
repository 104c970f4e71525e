"""The app factory: ``create_app()`` builds the web app over one database.

Pages and API routes live in :mod:`dosemap.web.pages` and :mod:`dosemap.web.api`, each router
made by :func:`dosemap.web.security.router` so that :func:`~dosemap.web.security.authorise`
guards every route. ``docs/web.md`` says how to add a page.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse, RedirectResponse, Response

from dosemap.domain.errors import DosemapError, InvalidInputError
from dosemap.persistence.db import Database
from dosemap.persistence.errors import ConflictError, NotFoundError, RecordLockedError
from dosemap.services.access_log import AccessLogWriter
from dosemap.services.accounts import LockoutPolicy
from dosemap.services.database import require_current_schema
from dosemap.services.signin import (
    DatabaseSessionStore,
    RedisSessionStore,
    SessionPolicy,
    SessionStore,
)
from dosemap.web import api
from dosemap.web.body_limit import BODILESS_METHODS, BodyLimit, BodyLimits, BodyTooLarge
from dosemap.web.headers import SecurityHeaders
from dosemap.web.kiosk_gate import KioskEnded
from dosemap.web.pages import (
    adverse_events,
    audit,
    auth,
    compare,
    consent,
    followups,
    intake,
    kiosk,
    new_session,
    patients,
    photos,
    recall,
    signing,
    sites,
    staff,
    today,
    tokens,
    treatment,
    vials,
)
from dosemap.web.route_index import RouteIndex
from dosemap.web.security import (
    Forbidden,
    GuardedRoute,
    NotSignedIn,
    RouteNotInTable,
    router,
)
from dosemap.web.settings import WebSettings, load_web_settings
from dosemap.web.state import AppState
from dosemap.web.templating import PageCache, Templates
from dosemap.web.throttle import Throttle

#: Wrong second-factor codes one half-open session may try in a minute before it is ended.
TOTP_TRIES_PER_MINUTE = 5

#: Every router of the app, in the order they are included.
# The daily pages first: routes are matched in order, and "/" is the busiest.
ROUTERS = (
    today.routes,
    patients.routes,
    auth.routes,
    tokens.routes,
    intake.routes,
    kiosk.routes,
    consent.routes,
    photos.routes,
    api.routes,
    new_session.routes,
    treatment.routes,
    signing.routes,
    compare.routes,
    vials.routes,
    recall.routes,
    followups.routes,
    adverse_events.routes,
    audit.routes,
    staff.routes,
    sites.routes,
)

health = router()


@health.get("/healthz", name="health", include_in_schema=False)
async def healthz() -> dict[str, str]:
    """Liveness for a load balancer or systemd watchdog."""
    return {"status": "ok"}


ALL_ROUTERS = (*ROUTERS, health)

#: FastAPI's OpenTelemetry hooks off: the app exports nothing (clinics run offline, and spans
#: would carry record ids), and asking for providers on every request cost ~20 µs of CPU.
#: Older FastAPI releases have no such setting and nothing to switch off.
_NO_TELEMETRY: dict[str, Any] = (
    {"telemetry": {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}}
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters
    else {}
)


def close_app(app: FastAPI) -> None:
    """Commit the queued access-log entries and close the connections the app holds outside
    the engine's pool (the per-thread driver connections of the request path)."""
    state: AppState = app.state.dosemap
    state.access_log.close()
    close_sessions = getattr(state.sessions, "close", None)
    if close_sessions is not None:
        close_sessions()


def _after_this_turn(callback: Callable[[], None]) -> bool:
    """Run ``callback`` after what the running event loop has queued (False: no loop)."""
    try:
        asyncio.get_running_loop().call_soon(callback)
    except RuntimeError:
        return False
    return True


def create_app(settings: WebSettings | None = None, *, db: Database | None = None) -> FastAPI:
    """The web app. ``db`` defaults to the settings' database, which must be migrated."""
    settings = settings or load_web_settings()
    # Enough pooled connections for the thread pool's busiest moments (no connect churn).
    db = db or Database.from_url(settings.records.database_url, pool_size=20, max_overflow=20)
    require_current_schema(db)
    # The access log commits on the connection the session look-up reads on (one request
    # path for both: see RequestPath._fetchone).
    sessions: SessionStore
    if settings.redis_url:
        redis_sessions = RedisSessionStore(settings.redis_url, db)
        sessions, path = redis_sessions, redis_sessions.path
    else:
        db_sessions = DatabaseSessionStore(db)
        sessions, path = db_sessions, db_sessions.path
    path.check_once_per_turn(_after_this_turn)
    body_limits = BodyLimits(
        settings.body_limit,
        {"photo_upload": settings.photo_body_limit, "consent_sign": settings.consent_body_limit},
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        close_app(_app)

    app = FastAPI(
        lifespan=lifespan,
        title="dosemap",
        version="1",
        docs_url=None,  # the Swagger/ReDoc pages load scripts from a CDN; clinics run offline
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
        **_NO_TELEMETRY,
    )
    app.state.dosemap = AppState(
        settings=settings,
        db=db,
        sessions=sessions,
        policy=SessionPolicy(idle=settings.idle_timeout, absolute=settings.absolute_lifetime),
        lockout=LockoutPolicy(attempts=settings.login_attempts, lock_for=settings.lockout),
        templates=Templates(),
        login_throttle=Throttle(settings.login_rate_per_minute),
        totp_throttle=Throttle(TOTP_TRIES_PER_MINUTE),
        pages=PageCache(),
        access_log=AccessLogWriter(db, path),
        body_limits=body_limits,
    )
    for r in ALL_ROUTERS:
        # The routes themselves, not the routers: FastAPI matches an included router level by
        # level (~40 µs a request for four routers); each route already carries authorise.
        app.router.routes.extend(r.routes)
    app.mount("/static", StaticFiles(packages=[("dosemap.web", "static")]), name="static")
    refuse_unguarded_routes(app)
    refuse_unlimited_bodies(app, body_limits)
    app.router.routes.insert(0, RouteIndex(list(app.router.routes)))
    _handlers(app)
    app.add_middleware(BodyLimit, limits=body_limits)
    app.add_middleware(SecurityHeaders, hsts=settings.hsts)
    return app


def api_routes(app: FastAPI) -> list[APIRoute]:
    """Every APIRoute of ``app``, including those of included routers (the matrix test and
    the docs walk this)."""
    found: list[APIRoute] = []

    def walk(routes: list[Any]) -> None:
        for route in routes:
            if isinstance(route, APIRoute):
                found.append(route)
            inner = getattr(route, "original_router", None)  # FastAPI >= 0.16x keeps includes
            if inner is not None:
                walk(list(inner.routes))

    walk(list(app.router.routes))
    return found


def refuse_unguarded_routes(app: FastAPI) -> None:
    """Fail closed at start-up: every route must be a GuardedRoute (made by
    ``security.router()``), whose handler runs ``authorise`` first."""
    unguarded = sorted(r.name for r in api_routes(app) if type(r) is not GuardedRoute)
    if unguarded:
        raise RuntimeError(f"routes not made by dosemap.web.security.router(): {unguarded}")


def refuse_unlimited_bodies(app: FastAPI, limits: BodyLimits) -> None:
    """Fail closed at start-up: a route given its own body limit must exist (a renamed one
    would fall back to the default), and no GET or HEAD route may read a body (BodyLimit
    passes those requests on unchecked)."""
    names = {r.name for r in api_routes(app)}
    unknown = sorted(set(limits.by_route) - names)
    if unknown:
        raise RuntimeError(f"body limits for routes the app does not have: {unknown}")
    reading = sorted(
        r.name
        for r in api_routes(app)
        if r.body_field is not None and (r.methods or set()) & BODILESS_METHODS
    )
    if reading:
        raise RuntimeError(f"GET or HEAD routes that read a body (not limited): {reading}")


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error(request: Request, status: int, title: str, message: str) -> Response:
    if _wants_json(request):
        return JSONResponse({"detail": message}, status_code=status)
    state: AppState = request.app.state.dosemap
    user = getattr(request.state, "principal", None)
    return state.templates.page(
        "error.html", user=user, status_code=status, title=title, message=message
    )


def _handlers(app: FastAPI) -> None:
    async def kiosk_ended(request: Request, exc: Exception) -> Response:
        # The patient's tablet: no sign-in link, no navigation; just say to hand it back.
        state: AppState = request.app.state.dosemap
        return state.templates.page(
            "kiosk_done.html", user=None, title="Questionnaire closed", status_code=401, ended=True
        )

    async def not_signed_in(request: Request, exc: Exception) -> Response:
        if _wants_json(request) or request.method != "GET" or "hx-request" in request.headers:
            return JSONResponse({"detail": "sign in first"}, status_code=401)
        return RedirectResponse("/login", status_code=303)

    async def forbidden(request: Request, exc: Exception) -> Response:
        reason = exc.reason if isinstance(exc, Forbidden) else "not allowed"
        return _error(request, 403, "Not allowed", reason)

    async def not_in_table(request: Request, exc: Exception) -> Response:
        return _error(request, 500, "Not available", "this page has no permission entry")

    async def not_found(request: Request, exc: Exception) -> Response:
        return _error(request, 404, "Not found", str(exc))

    async def conflict(request: Request, exc: Exception) -> Response:
        return _error(request, 409, "Changed meanwhile", str(exc))

    async def invalid(request: Request, exc: Exception) -> Response:
        if _wants_json(request) and isinstance(exc, InvalidInputError):
            # The shape FastAPI's own 422 has (and the OpenAPI document promises).
            detail = [{"loc": ["body", exc.field], "msg": str(exc), "type": "value_error"}]
            return JSONResponse({"detail": detail}, status_code=422)
        return _error(request, 422, "Not accepted", str(exc))

    async def bad_request(request: Request, exc: Exception) -> Response:
        if _wants_json(request) and isinstance(exc, RequestValidationError):
            return JSONResponse({"detail": _plain(exc.errors())}, status_code=422)
        return _error(request, 422, "Not accepted", "the request's fields were not as expected")

    async def refused(request: Request, exc: Exception) -> Response:
        return _error(request, 400, "Refused", str(exc))

    async def client_gone(request: Request, exc: Exception) -> Response:
        # The client hung up before its body arrived (a tab closed mid-upload): nothing was
        # read or written, and nobody reads this answer. Unhandled, it was logged as a crash.
        return Response(status_code=400)

    async def too_large(request: Request, exc: Exception) -> Response:
        message = exc.detail if isinstance(exc, BodyTooLarge) else "The request is too large."
        return _error(request, 413, "Too large", message)

    app.add_exception_handler(KioskEnded, kiosk_ended)
    app.add_exception_handler(NotSignedIn, not_signed_in)
    app.add_exception_handler(Forbidden, forbidden)
    app.add_exception_handler(RouteNotInTable, not_in_table)
    app.add_exception_handler(NotFoundError, not_found)
    app.add_exception_handler(ConflictError, conflict)
    app.add_exception_handler(RecordLockedError, conflict)
    app.add_exception_handler(InvalidInputError, invalid)
    app.add_exception_handler(RequestValidationError, bad_request)
    app.add_exception_handler(DosemapError, refused)
    app.add_exception_handler(BodyTooLarge, too_large)
    app.add_exception_handler(ClientDisconnect, client_gone)


def _plain(errors: Any) -> list[dict[str, Any]]:
    # Only location, message and type: the input itself may be patient data.
    return [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in errors
    ]
