"""The patient kiosk: staff open a one-time pass; the tablet shows the patient their own
questionnaire and nothing else, then asks them to hand it back.

Staff side (``intake.record``): open a pass (a code and a link to give to a tablet), or hand
this very tablet over (the staff member is signed out here first, so the patient can never
reach a staff page). Tablet side: ``/kiosk`` takes the code, ``/kiosk/t/<token>`` the link;
either is redeemed once and starts a kiosk session (``dm_kiosk`` cookie, only its digest
stored) that ends when the answers are saved.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Form, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from dosemap.domain.errors import InvalidInputError
from dosemap.services.kiosk import (
    CODE_LENGTH,
    KioskSession,
    open_pass,
    redeem,
    submit_questionnaire,
)
from dosemap.services.signin import hash_token, new_token
from dosemap.web.forms import field_errors, form_lists
from dosemap.web.kiosk_gate import KIOSK_COOKIE, KIOSK_PATH, current_kiosk
from dosemap.web.pages.intake import intake_page, questionnaire_context
from dosemap.web.security import LOGIN_CSRF_COOKIE, SESSION_COOKIE, router, signed_in_user
from dosemap.web.state import app_state

routes = router()


def _start_page(
    request: Request, *, token: str = "", error: str = "", status_code: int = 200
) -> Response:
    state = app_state(request)
    csrf = new_token()
    response = state.templates.page(
        "kiosk_start.html",
        title="Your questionnaire",
        user=None,
        status_code=status_code,
        csrf=csrf,
        token=token,
        error=error,
        code_length=CODE_LENGTH,
    )
    # Before a kiosk session there is nothing to tie a token to: a cookie scoped to /kiosk
    # carries the form's CSRF token, as the sign-in form's does for /login.
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        csrf,
        httponly=True,
        samesite="strict",
        secure=state.settings.secure_cookies,
        path=KIOSK_PATH,
    )
    return response


def _set_kiosk_cookie(request: Request, response: Response, cookie: str) -> None:
    response.set_cookie(
        KIOSK_COOKIE,
        cookie,
        httponly=True,
        samesite="strict",
        secure=app_state(request).settings.secure_cookies,
        path=KIOSK_PATH,
    )


async def _end_staff_session(request: Request, response: Response) -> None:
    """Sign out any staff session in this browser: the patient holds the tablet now."""
    staff = request.cookies.get(SESSION_COOKIE)
    if staff:
        await run_in_threadpool(app_state(request).sessions.remove, hash_token(staff))
    response.delete_cookie(SESSION_COOKIE, path="/")


@routes.get("/kiosk", name="kiosk_start")
def kiosk_start(request: Request) -> Response:
    """The tablet's code form (the staff sign-in is not linked from here)."""
    return _start_page(request)


@routes.get("/kiosk/t/{token}", name="kiosk_link")
def kiosk_link(request: Request, token: str) -> Response:
    """A one-time link: a start button, so that a link preview cannot use up the pass."""
    return _start_page(request, token=token[:100])


@routes.post("/kiosk", name="kiosk_redeem")
async def kiosk_redeem(
    request: Request,
    code: Annotated[str, Form(max_length=40)] = "",
    token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Use the pass once and start the kiosk session."""
    state = app_state(request)
    address = request.client.host if request.client else "unknown"
    if not state.login_throttle.allow(address):
        return _start_page(
            request,
            token=token,
            error="Too many tries from this tablet; wait a minute and try again.",
            status_code=429,
        )
    try:
        cookie, _ = await run_in_threadpool(redeem, state.db, token=token, code=code)
    except InvalidInputError as exc:
        message = field_errors(exc).get("code", str(exc))
        return _start_page(request, token=token, error=f"code: {message}", status_code=422)
    response = RedirectResponse(f"{KIOSK_PATH}/questionnaire", status_code=303)
    await _end_staff_session(request, response)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=KIOSK_PATH)
    _set_kiosk_cookie(request, response, cookie)
    return response


def _questionnaire(
    request: Request,
    kiosk: KioskSession,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return app_state(request).templates.page(
        "kiosk_form.html",
        title="Your questionnaire",
        user=None,
        status_code=status_code,
        csrf=kiosk.csrf_token,
        given_name=kiosk.given_name,
        values=values or {},
        errors=errors or {},
        action=f"{KIOSK_PATH}/questionnaire",
        submit_label="Hand in my answers",
        **questionnaire_context(),
    )


@routes.get("/kiosk/questionnaire", name="kiosk_questionnaire")
def kiosk_questionnaire(request: Request) -> Response:
    """The patient's own questionnaire, empty (earlier answers are not shown to the tablet)."""
    kiosk = current_kiosk(request)
    return _questionnaire(request, kiosk)


@routes.post("/kiosk/questionnaire", name="kiosk_submit")
async def kiosk_submit(request: Request) -> Response:
    """Save the answers and end the kiosk session; a bad answer is shown beside its question."""
    kiosk = current_kiosk(request)
    form = await form_lists(request)
    try:
        await run_in_threadpool(submit_questionnaire, app_state(request).db, kiosk, form)
    except (ValidationError, InvalidInputError) as exc:
        values = {k: v[-1] for k, v in form.items() if v and k != "csrf_token"}
        zones = form.get("answers.infection_zones", [])
        values |= {f"answers.infection_zones.{z}": "on" for z in zones}
        return _questionnaire(
            request, kiosk, values=values, errors=field_errors(exc), status_code=422
        )
    response = RedirectResponse(f"{KIOSK_PATH}/done", status_code=303)
    response.delete_cookie(KIOSK_COOKIE, path=KIOSK_PATH)
    return response


@routes.get("/kiosk/done", name="kiosk_done")
def kiosk_done(request: Request) -> Response:
    """Thank you; hand the tablet back (no link anywhere: staff sign in again themselves)."""
    response = app_state(request).templates.page("kiosk_done.html", user=None, title="Thank you")
    response.delete_cookie(KIOSK_COOKIE, path=KIOSK_PATH)
    return response


@routes.post("/patients/{patient_id}/kiosk", name="kiosk_open")
def kiosk_open(request: Request, patient_id: uuid.UUID) -> Response:
    """Open a pass and show its code and link once (for another tablet)."""
    user = signed_in_user(request)
    state = app_state(request)
    new = open_pass(state.db, user.clinic_id, patient_id, created_by=user.user_id, actor=user.actor)
    link = str(request.url_for("kiosk_link", token=new.token))
    return intake_page(request, user, patient_id, product="", new_pass=new, pass_link=link)


@routes.post("/patients/{patient_id}/kiosk/here", name="kiosk_here")
async def kiosk_here(request: Request, patient_id: uuid.UUID) -> Response:
    """Hand this tablet to the patient: sign the staff member out here, open the kiosk."""
    user = signed_in_user(request)
    state = app_state(request)
    new = await run_in_threadpool(
        open_pass, state.db, user.clinic_id, patient_id, created_by=user.user_id, actor=user.actor
    )
    cookie, _ = await run_in_threadpool(redeem, state.db, token=new.token)
    response = RedirectResponse(f"{KIOSK_PATH}/questionnaire", status_code=303)
    await _end_staff_session(request, response)
    _set_kiosk_cookie(request, response, cookie)
    return response
