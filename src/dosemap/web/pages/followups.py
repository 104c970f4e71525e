"""The Follow-ups page: reviews and retreatments due, marked contacted or done, and the
follow-ups calendar (.ics) to download."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from dosemap.domain.errors import InvalidInputError
from dosemap.services import followups as svc
from dosemap.services.clinic_day import record_read
from dosemap.services.exports.calendar import followups_ical
from dosemap.services.staff import get_clinic
from dosemap.web.downloads import download
from dosemap.web.forms import clean, field_errors, form_dict
from dosemap.web.permissions import allowed
from dosemap.web.security import router, signed_in_user
from dosemap.web.state import app_state

routes = router()

#: How far ahead the page may look, in days (the choices it offers).
WINDOWS = (0, 7, 14, 30, 90)
DEFAULT_WINDOW = 7
#: The calendar download covers this many days from today unless the form says otherwise.
CALENDAR_DAYS = 30


def _today(timezone: str) -> date:
    return datetime.now(UTC).astimezone(ZoneInfo(timezone)).date()


def _window(text: str | None) -> tuple[int, dict[str, str]]:
    if text is None or text == "":
        return DEFAULT_WINDOW, {}
    if text.isdigit() and int(text) in WINDOWS:
        return int(text), {}
    return DEFAULT_WINDOW, {
        "within": "is not one of the offered windows (allowed: 0, 7, 14, 30, 90)"
    }


def _page(
    request: Request,
    user: Any,
    *,
    within: int = DEFAULT_WINDOW,
    failed: str = "",
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    state = app_state(request)
    clinic = get_clinic(state.db, user.clinic_id)
    today = _today(clinic.timezone)
    due = svc.followups_due(state.db, user.clinic_id, today + timedelta(days=within))
    return state.templates.page(
        "followups.html",
        user=user,
        title="Follow-ups",
        active="/followups",
        status_code=status_code,
        due=due,
        today=today,
        tz=clinic.timezone,
        within=within,
        windows=WINDOWS,
        calendar_until=today + timedelta(days=CALENDAR_DAYS),
        can_manage=allowed(user.role, "followups.manage"),
        can_export=allowed(user.role, "followups.export"),
        failed=failed,
        form=form or {},
        errors=errors or {},
    )


@routes.get("/followups", name="followups")
def followups(request: Request, within: str | None = None) -> Response:
    """Open follow-ups due today, overdue, or due within the chosen window."""
    user = signed_in_user(request)
    days, errors = _window(within)
    return _page(request, user, within=days, errors=errors, status_code=422 if errors else 200)


@routes.post("/followups/{followup_id}/contacted", name="followup_contacted")
async def followup_contacted(request: Request, followup_id: uuid.UUID) -> Response:
    """Note that the patient was contacted (the follow-up stays open)."""
    user = signed_in_user(request)
    state = app_state(request)
    form = await form_dict(request)
    days, _ = _window(form.get("within"))
    try:
        entered = svc.ContactInput.model_validate(clean(form, drop=("within", "expected_version")))
        await run_in_threadpool(
            svc.mark_contacted,
            state.db,
            user.clinic_id,
            followup_id,
            entered,
            at=datetime.now(UTC),
            actor=user.actor,
        )
    except (ValidationError, InvalidInputError) as exc:
        return await run_in_threadpool(
            _page,
            request,
            user,
            within=days,
            failed=f"contacted:{followup_id}",
            form=form,
            errors=field_errors(exc),
            status_code=422,
        )
    return RedirectResponse(f"/followups?within={days}", status_code=303)


@routes.post("/followups/{followup_id}/done", name="followup_done")
async def followup_done(request: Request, followup_id: uuid.UUID) -> Response:
    """Mark a follow-up done (the visit happened, or the patient was reviewed)."""
    user = signed_in_user(request)
    state = app_state(request)
    form = await form_dict(request)
    days, _ = _window(form.get("within"))
    try:
        entered = svc.DoneInput.model_validate(clean(form, drop=("within",)))
        await run_in_threadpool(
            svc.complete_followup,
            state.db,
            user.clinic_id,
            followup_id,
            at=datetime.now(UTC),
            expected_version=entered.expected_version,
            actor=user.actor,
        )
    except (ValidationError, InvalidInputError) as exc:
        return await run_in_threadpool(
            _page,
            request,
            user,
            within=days,
            failed=f"done:{followup_id}",
            form=form,
            errors=field_errors(exc),
            status_code=422,
        )
    return RedirectResponse(f"/followups?within={days}", status_code=303)


@routes.get("/followups/export/followups.ics", name="followups_ics")
def followups_export(
    request: Request, due_from: str | None = None, due_until: str | None = None
) -> Response:
    """Open follow-ups as an iCalendar file, as much detail as the clinic's setting allows.

    The download is audited by the export and written to the access log (patient data may
    leave with it).
    """
    user = signed_in_user(request)
    state = app_state(request)
    clinic = get_clinic(state.db, user.clinic_id)
    today = _today(clinic.timezone)
    errors: dict[str, str] = {}
    start = _day(due_from, today, "due_from", errors)
    end = _day(due_until, today + timedelta(days=CALENDAR_DAYS), "due_until", errors)
    if errors:
        return _page(request, user, failed="ics", errors=errors, status_code=422)
    try:
        export = followups_ical(
            state.db, user.clinic_id, actor=user.actor, due_from=start, due_until=end
        )
    except InvalidInputError as exc:
        return _page(request, user, failed="ics", errors=field_errors(exc), status_code=422)
    record_read(
        state.db,
        clinic_id=user.clinic_id,
        user_id=user.user_id,
        entity="export",
        entity_id=f"followups_ical {start.isoformat()}..{end.isoformat()}",
        via="page:followups",
    )
    return download(export)


def _day(text: str | None, default: date, field: str, errors: dict[str, str]) -> date:
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[field] = "is not a date (allowed: YYYY-MM-DD)"
        return default
