"""The Intake page: the patient's questionnaire as a form, with what the safety rules find."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from dosemap.domain.errors import InvalidInputError
from dosemap.services._common import now
from dosemap.services.intake_forms import (
    PRIOR_ROWS,
    QUESTIONS,
    form_from_intake,
    intake_findings,
    intake_view,
    product_choices,
    record_intake_form,
    zone_choices,
)
from dosemap.services.kiosk import NewPass
from dosemap.services.signin import Principal
from dosemap.web.forms import field_errors, form_lists
from dosemap.web.security import router, signed_in_user
from dosemap.web.state import app_state

routes = router()

#: The product the findings are shown for unless the page is asked for another.
DEFAULT_PRODUCT = "botox_cosmetic"


def questionnaire_context() -> dict[str, Any]:
    """What ``_intake_form.html`` needs besides the values and errors."""
    return {
        "questions": QUESTIONS,
        "zones": zone_choices(),
        "products": product_choices(),
        "prior_rows": range(PRIOR_ROWS),
    }


def intake_page(
    request: Request,
    user: Principal,
    patient_id: uuid.UUID,
    *,
    product: str,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    saved: bool = False,
    new_pass: NewPass | None = None,
    pass_link: str = "",
) -> Response:
    """The Intake page (also shown with a just-opened kiosk pass's code and link)."""
    state = app_state(request)
    view = intake_view(
        state.db, user.clinic_id, patient_id, reader=user.user_id, via="page:intake", at=now()
    )
    products = dict(product_choices())
    if product not in products:
        product = DEFAULT_PRODUCT if DEFAULT_PRODUCT in products else next(iter(products))
    findings = intake_findings(view.latest, product) if view.latest is not None else []
    values = form if form is not None else (form_from_intake(view.latest) if view.latest else {})
    return state.templates.page(
        "intake.html",
        user=user,
        title="Intake",
        active="/patients",
        status_code=status_code,
        v=view,
        product=product,
        findings=findings,
        values=values,
        errors=errors or {},
        saved=saved,
        new_pass=new_pass,
        pass_link=pass_link,
        action=f"/patients/{patient_id}/intake",
        **questionnaire_context(),
    )


@routes.get("/patients/{patient_id}/intake", name="intake")
def intake(request: Request, patient_id: uuid.UUID, product: str = "") -> Response:
    """The latest answers with their findings, and the questionnaire pre-filled from them."""
    return intake_page(
        request,
        signed_in_user(request),
        patient_id,
        product=product[:60],
        saved=bool(request.query_params.get("saved")),
    )


@routes.post("/patients/{patient_id}/intake", name="intake_record")
async def intake_record(request: Request, patient_id: uuid.UUID) -> Response:
    """Store the answered questionnaire; a bad answer re-shows the form naming the field."""
    user = signed_in_user(request)
    state = app_state(request)
    form = await form_lists(request)
    try:
        await run_in_threadpool(
            record_intake_form,
            state.db,
            user.clinic_id,
            patient_id,
            form,
            actor=user.actor,
            recorded_by=user.staff_id,
        )
    except (ValidationError, InvalidInputError) as exc:
        errors = field_errors(exc)
        flat = {k: v[-1] for k, v in form.items() if v and k != "csrf_token"}
        zones = form.get("answers.infection_zones", [])
        flat |= {f"answers.infection_zones.{z}": "on" for z in zones}
        return await run_in_threadpool(
            intake_page,
            request,
            user,
            patient_id,
            product="",
            form=flat,
            errors=errors,
            status_code=422,
        )
    return RedirectResponse(f"/patients/{patient_id}/intake?saved=1", status_code=303)
