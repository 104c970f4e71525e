"""The Adverse events page: the clinic's list (each patient listed is access-logged), recording
one from a patient's record, its outcome later, and the CSV download."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, get_args
from zoneinfo import ZoneInfo

from fastapi import Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from dosemap.domain.errors import InvalidInputError
from dosemap.services import followups as svc
from dosemap.services.clinic_day import record_read
from dosemap.services.desk import adverse_events_for_reader, patient_sessions_for_reader
from dosemap.services.exports.csv_files import adverse_events_csv
from dosemap.services.staff import get_clinic
from dosemap.web.downloads import download
from dosemap.web.forms import clean, field_errors, form_dict, local_datetime
from dosemap.web.permissions import allowed
from dosemap.web.security import router, signed_in_user
from dosemap.web.state import app_state

routes = router()

KINDS: tuple[str, ...] = get_args(svc.AdverseKind)
SEVERITIES = svc.SEVERITIES


def _list_page(
    request: Request,
    user: Any,
    *,
    severity: str = "",
    failed: str = "",
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    state = app_state(request)
    listed = adverse_events_for_reader(
        state.db,
        user.clinic_id,
        reader=user.user_id,
        via="page:adverse_events",
        severity=severity or None,
    )
    return state.templates.page(
        "adverse_events.html",
        user=user,
        title="Adverse events",
        active="/adverse-events",
        status_code=status_code,
        events=listed.events,
        tz=listed.timezone,
        severity=severity,
        severities=SEVERITIES,
        can_record=allowed(user.role, "clinical.write"),
        can_export=allowed(user.role, "adverse_events.export"),
        failed=failed,
        form=form or {},
        errors=errors or {},
    )


@routes.get("/adverse-events", name="adverse_events")
def adverse_events(request: Request, severity: str = "") -> Response:
    """The clinic's adverse events, newest first, optionally of one severity."""
    user = signed_in_user(request)
    if severity and severity not in SEVERITIES:
        return _list_page(
            request,
            user,
            errors={"severity": f"is not a severity (allowed: {', '.join(SEVERITIES)})"},
            status_code=422,
        )
    return _list_page(request, user, severity=severity)


def _form_page(
    request: Request,
    user: Any,
    patient_id: uuid.UUID,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    state = app_state(request)
    patient = patient_sessions_for_reader(
        state.db, user.clinic_id, patient_id, reader=user.user_id, via="page:adverse_event_form"
    )
    now_local = datetime.now(UTC).astimezone(ZoneInfo(patient.timezone))
    return state.templates.page(
        "adverse_event_form.html",
        user=user,
        title="Record an adverse event",
        active="/adverse-events",
        status_code=status_code,
        patient=patient,
        tz=patient.timezone,
        kinds=KINDS,
        severities=SEVERITIES,
        now_local=now_local.strftime("%Y-%m-%dT%H:%M"),
        form=form or {},
        errors=errors or {},
    )


@routes.get("/patients/{patient_id}/adverse-events/new", name="adverse_event_form")
def adverse_event_form(request: Request, patient_id: uuid.UUID) -> Response:
    """The form to record an adverse event of one patient (the read is access-logged)."""
    user = signed_in_user(request)
    return _form_page(request, user, patient_id)


@routes.post("/patients/{patient_id}/adverse-events", name="adverse_event_record")
async def adverse_event_record(request: Request, patient_id: uuid.UUID) -> Response:
    """Record an adverse event; a bad field re-shows the form with its message."""
    user = signed_in_user(request)
    state = app_state(request)
    form = await form_dict(request)
    try:
        data = clean(form)
        if "onset_at" in data:
            tz = await run_in_threadpool(_timezone, state.db, user.clinic_id)
            data["onset_at"] = local_datetime(data["onset_at"], tz)
        entered = svc.AdverseEventInput.model_validate(data)
        await run_in_threadpool(
            svc.record_adverse_event,
            state.db,
            user.clinic_id,
            patient_id,
            entered,
            actor=user.actor,
            recorded_by=user.staff_id,
        )
    except (ValidationError, InvalidInputError) as exc:
        return await run_in_threadpool(
            _form_page,
            request,
            user,
            patient_id,
            form=form,
            errors=field_errors(exc),
            status_code=422,
        )
    return RedirectResponse("/adverse-events", status_code=303)


def _timezone(db: Any, clinic_id: uuid.UUID) -> str:
    return get_clinic(db, clinic_id).timezone


@routes.post("/adverse-events/{adverse_event_id}/outcome", name="adverse_event_outcome")
async def adverse_event_outcome(request: Request, adverse_event_id: uuid.UUID) -> Response:
    """Record how an adverse event turned out."""
    user = signed_in_user(request)
    state = app_state(request)
    form = await form_dict(request)
    try:
        entered = svc.OutcomeInput.model_validate(clean(form))
        await run_in_threadpool(
            svc.record_outcome,
            state.db,
            user.clinic_id,
            adverse_event_id,
            entered,
            actor=user.actor,
        )
    except (ValidationError, InvalidInputError) as exc:
        return await run_in_threadpool(
            _list_page,
            request,
            user,
            failed=f"outcome:{adverse_event_id}",
            form=form,
            errors=field_errors(exc),
            status_code=422,
        )
    return RedirectResponse("/adverse-events", status_code=303)


@routes.get("/adverse-events/export/adverse_events.csv", name="adverse_events_csv")
def adverse_events_export(request: Request) -> Response:
    """Every adverse event of the clinic as CSV (chart numbers, no names); the export is
    audited and written to the access log."""
    user = signed_in_user(request)
    state = app_state(request)
    export = adverse_events_csv(state.db, user.clinic_id, actor=user.actor)
    record_read(
        state.db,
        clinic_id=user.clinic_id,
        user_id=user.user_id,
        entity="export",
        entity_id="adverse_events_csv",
        via="page:adverse_events",
    )
    return download(export)
