"""The one place where requests are authenticated and authorised, and CSRF is checked.

Every router is built by :func:`router`, whose routes are :class:`GuardedRoute`: no route
runs (not even its body is read) before :func:`authorise` has

1. found the route's permission in :data:`dosemap.web.permissions.ROUTES` (none: refused),
2. recognised the caller by session cookie or ``Authorization: Bearer`` access token (one
   indexed look-up by SHA-256; no password hashing per request),
3. checked the permission against the caller's role (and a token's scopes),
4. for POST/PUT/PATCH/DELETE from a browser, checked the CSRF token (form field
   ``csrf_token`` or header ``X-CSRF-Token``; before sign-in, the login cookie's token).

Endpoints read the caller with ``user = signed_in_user(request)``.
"""

from __future__ import annotations

import hmac
import inspect
import re
import uuid
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import fastapi.routing
from fastapi import APIRouter, Request, params
from fastapi.dependencies.utils import get_typed_return_annotation, request_params_to_args
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException  # FastAPI's is a subclass; BodyTooLarge is not
from starlette.responses import Response

from dosemap.services.signin import Principal, apply_session_action, check_session
from dosemap.services.tokens import resolve_token
from dosemap.web.forms import posted_form
from dosemap.web.permissions import KIOSK, PERMISSIONS, PUBLIC, ROUTES, SECOND_FACTOR
from dosemap.web.state import app_state

SESSION_COOKIE = "dm_session"
#: Before sign-in there is no session: the sign-in form's CSRF token is also in this cookie.
LOGIN_CSRF_COOKIE = "dm_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class NotSignedIn(Exception):
    """No valid session or token (pages redirect to sign-in; the API answers 401)."""


class Forbidden(Exception):
    """Signed in, but the role (or token scope) lacks the route's permission, or CSRF failed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RouteNotInTable(Exception):
    """A route without an entry in the permission table (a programming error: fail closed)."""


def route_name(request: Request) -> str:
    """The name of the route that matched ``request``."""
    route: Any = request.scope.get("route")
    return str(getattr(route, "name", ""))


async def authorise(request: Request) -> None:
    """Authenticate, authorise and CSRF-check ``request`` against the permission table."""
    name = route_name(request)
    permission = ROUTES.get(name)
    if permission is None:
        raise RouteNotInTable(f"route {name!r} has no entry in dosemap.web.permissions.ROUTES")
    if permission == KIOSK:  # the patient's tablet: its own gate, never a staff session
        from dosemap.web.kiosk_gate import kiosk_gate

        await kiosk_gate(request, safe_method=request.method in SAFE_METHODS)
        return
    principal, pending = await _caller(request)
    request.state.principal = principal
    request.state.pending_totp = pending
    if permission == SECOND_FACTOR:
        if principal is None or not pending:
            raise NotSignedIn()
    elif permission != PUBLIC:
        if principal is None or pending:
            raise NotSignedIn()
        if principal.role not in PERMISSIONS[permission].roles:
            raise Forbidden(f"{principal.role} may not {permission}")
        if principal.scopes is not None and permission not in principal.scopes:
            raise Forbidden(f"this access token's scopes do not include {permission}")
    if request.method not in SAFE_METHODS:
        await _check_csrf(request, principal)


async def _caller(request: Request) -> tuple[Principal | None, bool]:
    state = app_state(request)
    bearer = request.headers.get("authorization", "")
    if bearer[:7].lower() == "bearer ":
        # A script's personal access token (API); it never rides along with a cookie.
        principal = await run_in_threadpool(resolve_token, state.db, bearer[7:].strip())
        if principal is None:
            raise NotSignedIn()
        return principal, False
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None, False
    # One indexed query on the driver (~0.1 ms), run right here: a hop to the thread pool
    # costs more than the query, and under load it queues behind the GIL.
    at = datetime.now(UTC)
    verdict = check_session(state.sessions, cookie, state.policy, at)
    if verdict.action is not None:  # at most once a minute per session: a write, off the loop
        await run_in_threadpool(apply_session_action, state.sessions, cookie, verdict.action, at)
    return verdict.principal, verdict.pending_totp


async def _check_csrf(request: Request, principal: Principal | None) -> None:
    if principal is not None and principal.csrf_token is None:
        return  # an access token: no cookie rides along, so no cross-site forgery
    expected = principal.csrf_token if principal is not None else None
    if expected is None:
        expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await posted_form(request)
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(expected, sent):
        raise Forbidden("the form's security token is missing or stale; reload the page")


def signed_in_user(request: Request) -> Principal:
    """The caller of a route that needs one (``authorise`` already refused anyone else).

    Read from the request rather than declared as a dependency: each dependency level costs
    FastAPI ~0.1 ms a request, and ``authorise`` has already done the work.
    """
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        raise NotSignedIn()
    return principal


def signed_in_user_pending(request: Request) -> Principal:
    """The caller of a second-factor route: password given, TOTP still owed."""
    return signed_in_user(request)


def maybe_user(request: Request) -> Principal | None:
    """The caller, if signed in (for public routes such as the sign-in form)."""
    principal: Principal | None = getattr(request.state, "principal", None)
    return principal


class GuardedRoute(APIRoute):
    """A route whose handler calls :func:`authorise` before the route's parameters,
    dependencies and endpoint (a JSON body is only buffered before it, as FastAPI did).

    Called directly rather than as a FastAPI dependency: solving one more dependency level
    cost ~0.1 ms a request. Every route of the app is of this class (``router()`` makes them;
    ``create_app`` and the authorisation-matrix test refuse any other).
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = _direct_handler(self) or super().get_route_handler()
        # A JSON body is read (buffered) first, as FastAPI did before its dependencies: the
        # CSRF check may parse it as a form, which would otherwise consume the stream.
        json_body = self.body_field is not None and not isinstance(
            self.body_field.field_info, params.Form
        )

        async def guarded(request: Request) -> Response:
            if json_body:
                try:
                    await request.body()
                except HTTPException:
                    raise
                except Exception as exc:  # a client gone mid-body: FastAPI's own answer
                    raise HTTPException(400, "There was an error parsing the body") from exc
            await authorise(request)
            return await handler(request)

        return guarded


def _direct_handler(route: APIRoute) -> Callable[[Request], Coroutine[Any, Any, Response]] | None:
    """For an ``async def`` page taking only the request and path parameters and returning a
    Response (most pages), a handler that validates the path parameters as FastAPI does and
    awaits the endpoint: FastAPI's general handler (dependency solving, empty query, header
    and cookie parsing, response building) cost ~25 µs a request for nothing. ``None`` for
    any other route (FastAPI's own handler then)."""
    if _included_context() is not None:  # included with the router's own settings: FastAPI's
        return None
    d = route.dependant
    call = d.call
    if (
        call is None
        or not inspect.iscoroutinefunction(call)
        or d.dependencies
        or d.query_params
        or d.header_params
        or d.cookie_params
        or d.body_params
        or route.body_field is not None
        or route.response_field is not None
        or d.request_param_name is None
        or d.http_connection_param_name
        or d.websocket_param_name
        or d.background_tasks_param_name
        or d.response_param_name
        or d.security_scopes_param_name
        or not _is_response_class(get_typed_return_annotation(call))
    ):
        return None
    endpoint: Callable[..., Coroutine[Any, Any, Response]] = call
    request_name = d.request_param_name
    path_params = d.path_params
    uuids = _plain_uuid_params(path_params)

    async def direct(request: Request) -> Response:
        values = _canonical_uuids(uuids, request.path_params) if uuids else None
        if values is None:  # anything else (or a bad id: FastAPI's own 422)
            values, errors = request_params_to_args(path_params, request.path_params)
            if errors:
                raise RequestValidationError(errors)
        values[request_name] = request
        return await endpoint(**values)

    return direct


#: A UUID as the app writes it in its links. pydantic takes these (and other spellings) as
#: the same UUID; only this spelling is read without FastAPI (6.9 -> ~1.5 µs a parameter).
_CANONICAL_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


def _plain_uuid_params(fields: list[Any]) -> tuple[tuple[str, str], ...]:
    """(alias, name) of each path parameter if every one is a plain ``uuid.UUID``."""
    plain = all(f.field_info.annotation is uuid.UUID and not f.field_info.metadata for f in fields)
    return tuple((f.alias, f.name) for f in fields) if plain and fields else ()


def _canonical_uuids(
    params: tuple[tuple[str, str], ...], raw: dict[str, Any]
) -> dict[str, Any] | None:
    values: dict[str, Any] = {}
    for alias, name in params:
        text = raw.get(alias)
        if not isinstance(text, str) or _CANONICAL_UUID.fullmatch(text) is None:
            return None
        values[name] = uuid.UUID(text)
    return values


def _is_response_class(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, Response)


def _included_context() -> object | None:
    # Set while FastAPI builds the handler of a route included under another router's
    # settings (FastAPI >= 0.16x); unknown to other releases.
    var: ContextVar[object | None] | None = getattr(
        fastapi.routing, "_effective_route_context_var", None
    )
    return None if var is None else var.get()


def router(**kwargs: Any) -> APIRouter:
    """An APIRouter whose every route goes through :func:`authorise` (use it for every page).

    Pages stay out of the OpenAPI document; the API's router passes ``include_in_schema=True``.
    """
    if "route_class" in kwargs:
        raise TypeError("router(): every route is a GuardedRoute; no other route class")
    kwargs.setdefault("include_in_schema", False)
    return APIRouter(route_class=GuardedRoute, **kwargs)
