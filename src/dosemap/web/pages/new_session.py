"""A new treatment session from the Patient page: goals or zones, a cited preset, product,
dilution, technique and adjuncts; the plan opens in the editor."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from dosemap.domain.atlas.zones import ZONE_ORDER
from dosemap.domain.errors import InvalidInputError
from dosemap.domain.plan import PlanRequest
from dosemap.domain.planning import build_plan
from dosemap.resources import load_library, template_mesh
from dosemap.services import sessions
from dosemap.services.clinic_day import patient_record
from dosemap.web.forms import field_errors, posted_form
from dosemap.web.security import router, signed_in_user
from dosemap.web.state import app_state

routes = router()

#: Optional overrides of the preset: (field, label, unit).
OVERRIDES: tuple[tuple[str, str, str], ...] = (
    ("vial_units", "Vial size", "U"),
    ("diluent_ml", "Diluent", "mL"),
    ("working_units_per_ml", "Working concentration", "U/mL"),
    ("volume_per_point_ul", "Volume per point", "µL"),
    ("spacing_mm", "Spacing", "mm"),
)


def _choices() -> dict[str, Any]:
    library = load_library()
    return {
        "protocols": [library.protocol(p) for p in sorted(library.protocols)],
        "citations": {
            p: library.source(library.protocol(p).source).citation for p in library.protocols
        },
        "products": sorted(library.products),
        "techniques": [library.technique(t) for t in sorted(library.techniques)],
        "adjuncts": [library.adjunct(a) for a in sorted(library.adjuncts) if a != "saline"],
        "goals": [library.goal(g) for g in sorted(library.goals)],
        "zones": list(ZONE_ORDER),
        "overrides": OVERRIDES,
    }


def _form_page(
    request: Request,
    user: Any,
    patient_id: uuid.UUID,
    *,
    form: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    return app_state(request).templates.page(
        "session_new.html", title="New session", user=user, active="/patients",
        status_code=status_code, patient_id=patient_id, form=form, errors=errors, **_choices(),
    )  # fmt: skip


@routes.get("/patients/{patient_id}/sessions/new", name="session_new_form")
def session_new_form(request: Request, patient_id: uuid.UUID) -> Response:
    """The new-session form (the patient must be of the caller's clinic)."""
    user = signed_in_user(request)
    state = app_state(request)
    # The patient must be of the caller's clinic (else 404); the read is access-logged.
    patient_record(
        state.db, user.clinic_id, patient_id, reader=user.user_id, via="page:session_new"
    )
    return _form_page(request, user, patient_id, form={"protocol": "", "zones": []}, errors={})


def _decimal(form: FormData, field: str) -> Decimal | None:
    text = str(form.get(field, "")).strip()
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise InvalidInputError(field, f"{text!r} is not a number") from None


def plan_request(form: FormData) -> PlanRequest:
    """The plan request the form describes (blank fields: the preset's values)."""
    adjuncts: dict[str, Decimal] = {}
    for key in form:
        if key.startswith("adjunct_"):
            amount = _decimal(form, key)
            if amount:
                adjuncts[key.removeprefix("adjunct_")] = amount
    fields: dict[str, Any] = {
        "zones": tuple(str(z) for z in form.getlist("zones")),
        "goals": tuple(str(g) for g in form.getlist("goals")),
        "protocol": str(form.get("protocol", "")) or None,
        "product": str(form.get("product", "")) or None,
        "technique": str(form.get("technique", "")) or None,
        "adjuncts": adjuncts,
    }
    for field, _, _ in OVERRIDES:
        value = _decimal(form, field)
        if value is not None:
            fields[field] = value
    return PlanRequest.model_validate(fields)


@routes.post("/patients/{patient_id}/sessions", name="session_new")
async def session_new(request: Request, patient_id: uuid.UUID) -> Response:
    """Plan the session and open it in the editor; a bad field re-shows the form."""
    user = signed_in_user(request)
    state = app_state(request)
    form = await posted_form(request)
    shown = {"protocol": form.get("protocol", ""), "zones": form.getlist("zones")}
    try:
        injector = user.staff_id
        if injector is None:
            raise InvalidInputError(
                "injector", "this login is not linked to a staff member", "staff"
            )
        request_ = plan_request(form)
        plan = await run_in_threadpool(build_plan, request_, load_library(), template_mesh())
        row = await run_in_threadpool(
            lambda: sessions.plan_session(
                state.db, user.clinic_id, patient_id=patient_id, injector_id=injector,
                plan=plan, scheduled_at=datetime.now().astimezone(), actor=user.actor,
            )
        )  # fmt: skip
    except (ValidationError, InvalidInputError) as exc:
        return _form_page(
            request, user, patient_id, form=shown, errors=field_errors(exc), status_code=422
        )
    return RedirectResponse(f"/sessions/{row.id}/plan", status_code=303)
