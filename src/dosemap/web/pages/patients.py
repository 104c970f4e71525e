"""The Patients page (search, register) and the Patient page (one record, access-logged)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date
from typing import Any

from fastapi import Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, RedirectResponse, Response

from dosemap.domain.errors import InvalidInputError
from dosemap.domain.intake import Intake
from dosemap.services.clinic_day import (
    PatientRow,
    records_version,
    search_patients,
    unlogged_patient_record,
)
from dosemap.services.patients import PatientInput, register_patient
from dosemap.services.signin import Principal
from dosemap.web.forms import field_errors, form_dict
from dosemap.web.permissions import allowed
from dosemap.web.security import router, signed_in_user
from dosemap.web.state import AppState, app_state

routes = router()

LIST_LIMIT = 50
#: The registration form: (field, label, input type, required).
REGISTER_FIELDS: tuple[tuple[str, str, str, bool], ...] = (
    ("given_name", "Given name", "text", True),
    ("family_name", "Family name", "text", True),
    ("date_of_birth", "Date of birth", "date", True),
    ("chart_number", "Chart number", "text", True),
    ("sex", "Sex", "text", False),
    ("phone", "Phone", "tel", False),
    ("email", "Email", "email", False),
    ("fitzpatrick_type", "Fitzpatrick type", "select_fitz", False),
    ("skin_type", "Skin type", "select_skin", False),
)
_EMPTY_QUERY = {"name": "", "date_of_birth": "", "chart_number": ""}


def _page(
    request: Request,
    user: Any,
    *,
    patients: list[Any],
    query: dict[str, str],
    error: str = "",
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return app_state(request).templates.page(
        "patients.html",
        user=user,
        title="Patients",
        active="/patients",
        status_code=status_code,
        patients=patients,
        limit=LIST_LIMIT,
        query=query,
        error=error,
        can_register=allowed(user.role, "patients.register"),
        register_fields=REGISTER_FIELDS,
        form=form or {},
        errors=errors or {},
    )


async def _log_listed(
    state: AppState, user: Principal, patient_ids: Iterable[uuid.UUID | str], via: str
) -> None:
    """The patients a list shows (names, dates of birth): one access-log entry each, in one
    transaction, committed before the list is sent."""
    await state.access_log.log_many(
        clinic_id=user.clinic_id,
        user_id=user.user_id,
        entity="patient",
        entity_ids=patient_ids,
        via=via,
    )


@routes.get("/patients", name="patients")
async def patients(request: Request) -> Response:
    """The clinic's patients (first page, by name), a search form and the registration form."""
    user = signed_in_user(request)
    state = app_state(request)
    found = await run_in_threadpool(search_patients, state.db, user.clinic_id, limit=LIST_LIMIT)
    await _log_listed(state, user, (p.patient_id for p in found), "page:patients")
    return _page(request, user, patients=found, query=_EMPTY_QUERY)


@routes.post("/patients/search", name="patients_search")
async def patients_search(request: Request) -> Response:
    """Search by name, date of birth and/or chart number (POST: no patient data in URLs).

    An htmx request gets the result rows only; a plain form post gets the whole page.
    """
    user = signed_in_user(request)
    state = app_state(request)
    query = {k: v for k, v in (await form_dict(request)).items() if k in _EMPTY_QUERY}
    query = {**_EMPTY_QUERY, **query}
    error = ""
    born: date | None = None
    if query["date_of_birth"]:
        try:
            born = date.fromisoformat(query["date_of_birth"])
        except ValueError:
            error = "date_of_birth: is not a date (allowed: YYYY-MM-DD)"
    if request.headers.get("hx-request") != "true":
        found = [] if error else await run_in_threadpool(_search, state, user, query, born)
        await _log_listed(state, user, (p.patient_id for p in found), SEARCH_VIA)
        return _page(request, user, patients=found, query=query, error=error)
    if error:
        return state.templates.partial(
            "_patient_rows.html", patients=[], limit=LIST_LIMIT, error=error
        )
    # The rows for one query are the same until the records change: rendered once per version
    # (with the ids of the patients they show: each answer is access-logged, cached or not).
    version = user.records_version or await run_in_threadpool(records_version, state.db)
    key = ("search", user.clinic_id, version, query["name"], query["chart_number"], born)
    rows, shown = await state.pages.get_or_make(key, lambda: _rows(state, user, query, born))
    await _log_listed(state, user, shown, SEARCH_VIA)
    return HTMLResponse(rows)


#: How the access log names a read through the Patients page's search.
SEARCH_VIA = "page:patients_search"


def _rows(
    state: AppState, user: Principal, query: dict[str, str], born: date | None
) -> tuple[str, tuple[str, ...]]:
    found = _search(state, user, query, born)
    html = state.templates.content("_patient_rows.html", patients=found, limit=LIST_LIMIT, error="")
    # The ids as the access log stores them, made once with the cached rows (not per answer).
    return html, tuple(str(p.patient_id) for p in found)


def _search(
    state: AppState, user: Principal, query: dict[str, str], born: date | None
) -> list[PatientRow]:
    return search_patients(
        state.db,
        user.clinic_id,
        name=query["name"][:120],
        chart_number=query["chart_number"][:40],
        date_of_birth=born,
        limit=LIST_LIMIT,
    )


@routes.post("/patients", name="patient_register")
async def patient_register(request: Request) -> Response:
    """Register a patient; a bad field re-shows the form with the field's message."""
    user = signed_in_user(request)
    state = app_state(request)
    form = {k: v for k, v in (await form_dict(request)).items() if k != "csrf_token"}
    data = {k: v for k, v in form.items() if v != ""}
    try:
        entered = PatientInput.model_validate(data)
        patient = await run_in_threadpool(
            register_patient, state.db, user.clinic_id, entered, actor=user.actor
        )
    except (ValidationError, InvalidInputError) as exc:
        found = await run_in_threadpool(search_patients, state.db, user.clinic_id, limit=LIST_LIMIT)
        await _log_listed(state, user, (p.patient_id for p in found), "page:patients")
        return _page(
            request,
            user,
            patients=found,
            query=_EMPTY_QUERY,
            form=form,
            errors=field_errors(exc),
            status_code=422,
        )
    return RedirectResponse(f"/patients/{patient.id}", status_code=303)


@routes.get("/patients/{patient_id}", name="patient")
async def patient(request: Request, patient_id: uuid.UUID) -> Response:
    """One patient's record: details, consent, latest intake, timeline, adverse events.

    The read is committed to the access log before the page is sent; the content is rendered
    once per (clinic, patient, records version). Another clinic's patient is 404, unlogged.
    """
    user = signed_in_user(request)
    state = app_state(request)
    version = user.records_version or await run_in_threadpool(records_version, state.db)
    can_intake = allowed(user.role, "intake.record")  # the content differs by this permission
    can_plan = allowed(user.role, "clinical.write")  # and by this one
    key = ("patient", user.clinic_id, patient_id, version, can_intake, can_plan)
    content = await state.pages.get_or_make(
        key, lambda: _patient_content(state, user.clinic_id, patient_id, can_intake, can_plan)
    )
    await state.access_log.log(
        clinic_id=user.clinic_id,
        user_id=user.user_id,
        entity="patient",
        entity_id=patient_id,
        via="page:patient",
    )
    # The title stays generic: browser history keeps titles.
    return state.templates.wrap(content, user=user, title="Patient", active="/patients")


def _patient_content(
    state: AppState,
    clinic_id: uuid.UUID,
    patient_id: uuid.UUID,
    can_intake: bool,
    can_plan: bool,
) -> str:
    record = unlogged_patient_record(state.db, clinic_id, patient_id)
    return state.templates.content(
        "patient.html",
        p=record,
        timezone=record.timezone,
        intake_lines=intake_lines(record.latest_intake_answers or {}),
        can_plan=can_plan,
        can_intake=can_intake,
        can_record_adverse=can_plan,
    )


#: Intake fields that are bookkeeping, not answers.
_NOT_SHOWN = {"schema_version"}


def _age_from_birth(answers: dict[str, object]) -> str | None:
    """The age on the intake's day from its date of birth (``None``: not both known)."""
    try:
        recorded_on = date.fromisoformat(str(answers["recorded_on"]))
        born = date.fromisoformat(str(answers["date_of_birth"]))
    except (KeyError, ValueError):
        return None
    ages = Intake(recorded_on=recorded_on, date_of_birth=born).age_range_on(recorded_on)
    return None if ages is None else f"{ages[0]} (from the date of birth)"


def intake_lines(answers: dict[str, object], prefix: str = "") -> list[tuple[str, str]]:
    """An intake's answers as (question, answer) lines; unanswered questions say so."""
    lines: list[tuple[str, str]] = []
    for key, value in answers.items():
        if key in _NOT_SHOWN:
            continue
        label = (prefix + key.replace("_", " ")).strip()
        if key == "age_years" and value is None and not prefix:
            # An intake with a date of birth records no age of its own: the age is known.
            value = _age_from_birth(answers)
        if isinstance(value, dict):
            # The contraindication answers read as questions of their own, not "answers › …".
            lines += intake_lines(value, "" if key == "answers" else label + " › ")
        elif isinstance(value, list):
            text = ", ".join(str(v) for v in value if not isinstance(v, dict))
            lines.append((label, text or "none"))
        elif isinstance(value, bool):
            lines.append((label, "yes" if value else "no"))
        elif value is None:
            lines.append((label, "not answered"))
        else:
            lines.append((label, str(value)))
    return lines
