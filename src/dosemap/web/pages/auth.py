"""Sign in and sign out."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from dosemap.services.accounts import (
    check_password,
    check_totp,
    find_account,
    new_totp_secret,
    totp_uri,
)
from dosemap.services.signin import Principal, new_token
from dosemap.web.security import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    maybe_user,
    router,
    signed_in_user,
    signed_in_user_pending,
)
from dosemap.web.state import app_state

routes = router()


@routes.get("/login", name="login_form")
async def login_form(request: Request) -> Response:
    """The sign-in form (a signed-in person goes straight to Today)."""
    user = maybe_user(request)
    if user is not None and not request.state.pending_totp:
        return RedirectResponse("/", status_code=303)
    return _form(request, error="", username="")


def _form(request: Request, *, error: str, username: str, status_code: int = 200) -> Response:
    state = app_state(request)
    csrf = new_token()
    response = state.templates.page(
        "login.html",
        user=None,
        title="Sign in",
        status_code=status_code,
        csrf=csrf,
        error=error,
        username=username,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        csrf,
        httponly=True,
        samesite="strict",
        secure=state.settings.secure_cookies,
        path="/login",
    )
    return response


@routes.post("/login", name="login")
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Check the password (throttled per address, locked after repeated failures)."""
    state = app_state(request)
    username = username.strip().lower()
    address = request.client.host if request.client else "unknown"
    if not state.login_throttle.allow(address):
        return _form(
            request,
            error="Too many sign-in attempts from this device; wait a minute and try again.",
            username=username,
            status_code=429,
        )
    if not username or not password:
        return _form(
            request, error="Enter your username and password.", username=username, status_code=422
        )
    result = await run_in_threadpool(
        check_password, state.db, username, password, lockout=state.lockout
    )
    if result.locked_until is not None:
        until = result.locked_until.strftime("%H:%M UTC")
        return _form(
            request,
            error=f"This account is locked after repeated wrong passwords, until {until}.",
            username=username,
            status_code=423,
        )
    if result.account is None:
        return _form(
            request, error="Wrong username or password.", username=username, status_code=401
        )
    token = await run_in_threadpool(
        state.sessions.create,
        result.account,
        pending_totp=result.needs_totp,
        policy=state.policy,
    )
    response = RedirectResponse("/login/totp" if result.needs_totp else "/", status_code=303)
    set_session_cookie(request, response, token)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    """The session cookie: HttpOnly, SameSite=Lax, Secure behind HTTPS, no Max-Age (the
    server ends the session; the browser forgets it when closed)."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=app_state(request).settings.secure_cookies,
        path="/",
    )


@routes.post("/logout", name="logout")
async def logout(request: Request) -> Response:
    """End this session."""
    user = signed_in_user(request)
    if user.session_hash is not None:
        await run_in_threadpool(app_state(request).sessions.remove, user.session_hash)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@routes.get("/login/totp", name="totp_form")
async def totp_form(request: Request) -> Response:
    """The second step of signing in: the code from the authenticator app (or, the first time,
    enrolling the app with a new secret)."""
    user = signed_in_user_pending(request)
    state = app_state(request)
    account = await run_in_threadpool(find_account, state.db, user.username)
    secret = None if account is None or account.has_totp else new_totp_secret()
    return _totp_page(request, user, secret=secret, error="")


def _totp_page(
    request: Request, user: Principal, *, secret: str | None, error: str, status_code: int = 200
) -> Response:
    return app_state(request).templates.page(
        "totp.html",
        user=None,  # not signed in yet: no navigation
        title="Second factor",
        csrf=user.csrf_token or "",
        status_code=status_code,
        secret=secret,
        uri=totp_uri(secret, user.username) if secret else "",
        error=error,
    )


@routes.post("/login/totp", name="totp")
async def totp(
    request: Request,
    code: Annotated[str, Form(max_length=20)] = "",
    secret: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Check the code; five wrong codes in a minute end the half-open session."""
    user = signed_in_user_pending(request)
    state = app_state(request)
    assert user.session_hash is not None
    if not state.totp_throttle.allow(user.session_hash):
        await run_in_threadpool(state.sessions.remove, user.session_hash)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response
    ok = await run_in_threadpool(
        lambda: check_totp(
            state.db, user.clinic_id, user.user_id, code,
            enrol_secret=secret or None, actor=user.actor,
        )
    )  # fmt: skip
    if not ok:
        return _totp_page(
            request,
            user,
            secret=secret or None,
            error=(
                "That code is not accepted: it is wrong or already used (each code works "
                "once). Check the app's clock and enter the next code."
            ),
            status_code=401,
        )
    await run_in_threadpool(state.sessions.clear_pending_totp, user.session_hash)
    return RedirectResponse("/", status_code=303)
