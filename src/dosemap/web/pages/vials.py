"""The Vials page: receive a lot, reconstitute a vial, units left and the beyond-use
countdown, waste, discard, and the reconciliation of every lot and vial."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from dosemap.domain.errors import InvalidInputError
from dosemap.resources import load_library
from dosemap.services import vials as svc
from dosemap.services.exports.csv_files import vials_csv
from dosemap.services.exports.pdf_documents import vial_log_pdf
from dosemap.services.staff import get_clinic
from dosemap.web.downloads import download
from dosemap.web.forms import clean, field_errors, form_dict, local_datetime
from dosemap.web.permissions import allowed
from dosemap.web.security import router, signed_in_user
from dosemap.web.state import app_state

routes = router()

#: Default diluent offered on the reconstitution form (what the labels name).
DEFAULT_DILUENT = "preservative-free 0.9% saline"


def _page(
    request: Request,
    user: Any,
    *,
    failed: str = "",
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    page: int = 1,
) -> Response:
    state = app_state(request)
    overview = svc.vials_overview(state.db, user.clinic_id, page)
    library = load_library()
    at = datetime.now(UTC)
    today = at.astimezone(ZoneInfo(overview.timezone)).date()
    policies = sorted({b.id for p in library.products.values() for b in p.beyond_use_policies})
    return state.templates.page(
        "vials.html",
        user=user,
        title="Vials",
        active="/vials",
        status_code=status_code,
        v=overview,
        tz=overview.timezone,
        at=at,
        today=today,
        usable_lots=[lot for lot in overview.lots if lot.expires_on >= today],
        products=sorted(library.products.values(), key=lambda p: p.name),
        product_names={p.id: p.name for p in library.products.values()},
        policies=policies,
        default_diluent=DEFAULT_DILUENT,
        now_local=at.astimezone(ZoneInfo(overview.timezone)).strftime("%Y-%m-%dT%H:%M"),
        can_manage=allowed(user.role, "vials.manage"),
        can_export=allowed(user.role, "vials.export"),
        failed=failed,
        form=form or {},
        errors=errors or {},
    )


def _done() -> Response:
    return RedirectResponse("/vials", status_code=303)


@routes.get("/vials", name="vials")
def vials(request: Request, page: int = 1) -> Response:
    """Open vials with units left and beyond-use countdown, lots, reconciliation (its vials
    a page at a time: ``?page=2``)."""
    user = signed_in_user(request)
    return _page(request, user, page=page)


@routes.post("/vials/lots", name="vials_lot_receive")
async def lot_receive(request: Request) -> Response:
    """Record a lot received from the manufacturer."""
    user = signed_in_user(request)
    state = app_state(request)
    form = await form_dict(request)
    try:
        data = svc.LotInput.model_validate(clean(form))
        await run_in_threadpool(
            svc.receive_lot, state.db, user.clinic_id, data, load_library(), actor=user.actor
        )
    except (ValidationError, InvalidInputError) as exc:
        return await run_in_threadpool(
            _page, request, user, failed="lot", form=form, errors=field_errors(exc), status_code=422
        )
    return _done()


@routes.post("/vials", name="vial_reconstitute")
async def vial_reconstitute(request: Request) -> Response:
    """Record a vial reconstituted from one of the clinic's lots."""
    user = signed_in_user(request)
    state = app_state(request)
    form = await form_dict(request)
    try:
        data = clean(form)
        if "reconstituted_at" in data:
            clinic = await run_in_threadpool(get_clinic, state.db, user.clinic_id)
            data["reconstituted_at"] = local_datetime(data["reconstituted_at"], clinic.timezone)
        entered = svc.VialInput.model_validate(data)
        await run_in_threadpool(
            svc.open_vial,
            state.db,
            user.clinic_id,
            entered,
            load_library(),
            actor=user.actor,
            opened_by=user.staff_id,
        )
    except (ValidationError, InvalidInputError) as exc:
        return await run_in_threadpool(
            _page,
            request,
            user,
            failed="vial",
            form=form,
            errors=field_errors(exc),
            status_code=422,
        )
    return _done()


@routes.post("/vials/{vial_id}/waste", name="vial_waste")
async def vial_waste(request: Request, vial_id: uuid.UUID) -> Response:
    """Units drawn but not injected (dead space, spill)."""
    user = signed_in_user(request)
    state = app_state(request)
    form = await form_dict(request)
    try:
        entered = svc.WasteInput.model_validate(clean(form))
        await run_in_threadpool(
            svc.record_waste,
            state.db,
            user.clinic_id,
            vial_id,
            entered.units,
            expected_version=entered.expected_version,
            actor=user.actor,
        )
    except (ValidationError, InvalidInputError) as exc:
        return await run_in_threadpool(
            _page,
            request,
            user,
            failed=f"waste:{vial_id}",
            form=form,
            errors=field_errors(exc),
            status_code=422,
        )
    return _done()


@routes.post("/vials/{vial_id}/discard", name="vial_discard")
async def vial_discard(request: Request, vial_id: uuid.UUID) -> Response:
    """Discard a vial; what is left counts as wasted."""
    user = signed_in_user(request)
    state = app_state(request)
    form = await form_dict(request)
    try:
        entered = svc.DiscardInput.model_validate(clean(form))
        await run_in_threadpool(
            svc.discard_vial,
            state.db,
            user.clinic_id,
            vial_id,
            reason=entered.reason,
            at=datetime.now(UTC),
            expected_version=entered.expected_version,
            actor=user.actor,
        )
    except (ValidationError, InvalidInputError) as exc:
        return await run_in_threadpool(
            _page,
            request,
            user,
            failed=f"discard:{vial_id}",
            form=form,
            errors=field_errors(exc),
            status_code=422,
        )
    return _done()


@routes.get("/vials/export/vials.csv", name="vials_csv")
def vials_export(request: Request) -> Response:
    """The vial log as CSV (no patient data; the export is audited)."""
    user = signed_in_user(request)
    return download(vials_csv(app_state(request).db, user.clinic_id, actor=user.actor))


@routes.get("/vials/export/vial_log.pdf", name="vials_pdf")
def vials_export_pdf(request: Request) -> Response:
    """The lot/vial log as a PDF for an inspection (no patient data; the export is audited)."""
    user = signed_in_user(request)
    return download(vial_log_pdf(app_state(request).db, user.clinic_id, actor=user.actor))
