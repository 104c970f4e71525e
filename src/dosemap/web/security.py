"""The one place where requests are authenticated and authorised, and CSRF is checked.

Every router is built with ``dependencies=[Depends(authorise)]`` (see :func:`router`), so no
route runs before :func:`authorise` has

1. found the route's permission in :data:`dosemap.web.permissions.ROUTES` (none: refused),
2. recognised the caller by session cookie or ``Authorization: Bearer`` access token (one
   indexed look-up by SHA-256; no password hashing per request),
3. checked the permission against the caller's role (and a token's scopes),
4. for POST/PUT/PATCH/DELETE from a browser, checked the CSRF token (form field
   ``csrf_token`` or header ``X-CSRF-Token``; before sign-in, the login cookie's token).

Endpoints take the caller as ``user: SignedInUser``.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from dosemap.services.signin import Principal, resolve_session
from dosemap.web.permissions import PERMISSIONS, PUBLIC, ROUTES, SECOND_FACTOR
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


async def authorise(request: Request) -> Principal | None:
    """Authenticate, authorise and CSRF-check ``request`` against the permission table."""
    name = route_name(request)
    permission = ROUTES.get(name)
    if permission is None:
        raise RouteNotInTable(f"route {name!r} has no entry in dosemap.web.permissions.ROUTES")
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
    return principal


async def _caller(request: Request) -> tuple[Principal | None, bool]:
    state = app_state(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return await run_in_threadpool(resolve_session, state.sessions, cookie, state.policy)
    return None, False


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
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(expected, sent):
        raise Forbidden("the form's security token is missing or stale; reload the page")


async def signed_in(principal: Annotated[Principal | None, Depends(authorise)]) -> Principal:
    """The caller of a route that needs one (``authorise`` already refused anyone else)."""
    if principal is None:
        raise NotSignedIn()
    return principal


SignedInUser = Annotated[Principal, Depends(signed_in)]
MaybeUser = Annotated[Principal | None, Depends(authorise)]


def router(**kwargs: Any) -> APIRouter:
    """An APIRouter whose every route goes through :func:`authorise` (use it for every page)."""
    dependencies = list(kwargs.pop("dependencies", []))
    return APIRouter(dependencies=[Depends(authorise), *dependencies], **kwargs)
