"""The Consent page: the clinic's current consent text, signed on the tablet with a drawn
signature (``static/signature.js``), and each signed consent with its text and drawing."""

from __future__ import annotations

import uuid

from fastapi import Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from dosemap.domain.errors import InvalidInputError
from dosemap.persistence.errors import NotFoundError  # a shell may raise it: 404
from dosemap.services._common import now
from dosemap.services.consent import (
    SignatureInput,
    TextInput,
    consents_of,
    current_text,
    publish_text,
    sign_consent,
    signed_consent,
)
from dosemap.services.intake_forms import intake_view
from dosemap.services.patients import get_patient
from dosemap.services.signin import Principal
from dosemap.web.forms import field_errors, form_dict
from dosemap.web.permissions import allowed
from dosemap.web.security import router, signed_in_user
from dosemap.web.state import app_state

routes = router()


def _page(
    request: Request,
    user: Principal,
    patient_id: uuid.UUID,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    saved: bool = False,
    published: bool = False,
    text_form: dict[str, str] | None = None,
    text_errors: dict[str, str] | None = None,
) -> Response:
    state = app_state(request)
    view = intake_view(
        state.db, user.clinic_id, patient_id, reader=user.user_id, via="page:consent", at=now()
    )
    text = current_text(state.db, user.clinic_id)
    return state.templates.page(
        "consent.html",
        title="Consent",
        user=user,
        active="/patients",
        status_code=status_code,
        v=view,
        text=text,
        paragraphs=[p.replace("\n", " ") for p in text.text.split("\n\n")],
        consents=consents_of(state.db, user.clinic_id, patient_id),
        form=form or {"signer_name": f"{view.given_name} {view.family_name}"},
        errors=errors or {},
        saved=saved,
        witness=user.display_name,
        can_publish=allowed(user.role, "consent.texts"),
        published=published,
        text_form=text_form or {"title": text.title, "text": text.text},
        text_errors=text_errors or {},
    )


@routes.get("/patients/{patient_id}/consent", name="consent")
def consent(request: Request, patient_id: uuid.UUID) -> Response:
    """The text to sign, the signature pad, and the consents signed so far."""
    user = signed_in_user(request)
    return _page(
        request,
        user,
        patient_id,
        saved=bool(request.query_params.get("saved")),
        published=bool(request.query_params.get("published")),
    )


@routes.post("/patients/{patient_id}/consent", name="consent_sign")
async def consent_sign(request: Request, patient_id: uuid.UUID) -> Response:
    """Store the signed consent (text version and SHA-256, drawing, time, signer, witness)."""
    user = signed_in_user(request)
    state = app_state(request)
    form = {k: v for k, v in (await form_dict(request)).items() if k != "csrf_token"}
    try:
        entered = SignatureInput.model_validate(form)
        await run_in_threadpool(
            sign_consent,
            state.db,
            user.clinic_id,
            patient_id,
            entered,
            witness=user.display_name,
            actor=user.actor,
        )
    except (ValidationError, InvalidInputError) as exc:
        errors = field_errors(exc)
        kept = {k: v for k, v in form.items() if k == "signer_name"}
        return await run_in_threadpool(
            _page, request, user, patient_id, form=kept, errors=errors, status_code=422
        )
    return RedirectResponse(f"/patients/{patient_id}/consent?saved=1", status_code=303)


@routes.post("/patients/{patient_id}/consent-texts", name="consent_text_publish")
async def consent_text_publish(request: Request, patient_id: uuid.UUID) -> Response:
    """Publish a new version of the clinic's consent text (admin); patients sign it next."""
    user = signed_in_user(request)
    state = app_state(request)
    form = {k: v for k, v in (await form_dict(request)).items() if k != "csrf_token"}
    try:
        await run_in_threadpool(get_patient, state.db, user.clinic_id, patient_id)
        entered = TextInput.model_validate(form)
        await run_in_threadpool(publish_text, state.db, user.clinic_id, entered, actor=user.actor)
    except (ValidationError, InvalidInputError) as exc:
        errors = field_errors(exc)
        return await run_in_threadpool(
            _page,
            request,
            user,
            patient_id,
            text_form=form,
            text_errors=errors,
            status_code=422,
        )
    return RedirectResponse(f"/patients/{patient_id}/consent?published=1", status_code=303)


@routes.get("/patients/{patient_id}/consents/{consent_id}", name="consent_view")
def consent_view(request: Request, patient_id: uuid.UUID, consent_id: uuid.UUID) -> Response:
    """One signed consent: the text as signed, the drawing, who, when, witness, SHA-256."""
    user = signed_in_user(request)
    state = app_state(request)
    signed = signed_consent(
        state.db,
        user.clinic_id,
        consent_id,
        patient_id=patient_id,
        reader=user.user_id,
        via="page:consent_view",
    )
    return state.templates.page(
        "consent_view.html",
        title="Signed consent",
        user=user,
        active="/patients",
        c=signed,
        timezone=signed.timezone,
        paragraphs=[p.replace("\n", " ") for p in signed.text.split("\n\n")],
    )


@routes.get("/patients/{patient_id}/consents/{consent_id}/signature.png", name="consent_signature")
def consent_signature(request: Request, patient_id: uuid.UUID, consent_id: uuid.UUID) -> Response:
    """The drawn signature (PNG); 404 for a consent signed without one."""
    user = signed_in_user(request)
    signed = signed_consent(
        app_state(request).db,
        user.clinic_id,
        consent_id,
        patient_id=patient_id,
        reader=user.user_id,
        via="page:consent_signature",
    )
    if signed.signature_png is None:
        raise NotFoundError("signature drawing", str(consent_id))
    return Response(signed.signature_png, media_type="image/png")
