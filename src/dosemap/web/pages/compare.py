"""Results over time: before/after of two visits (side by side, slider, ghost; residual in mm)
and the patient's skin metrics per zone across visits."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from dosemap.domain.errors import InvalidInputError
from dosemap.render.trend import HEIGHT as TREND_HEIGHT
from dosemap.render.trend import WIDTH as TREND_WIDTH
from dosemap.render.trend import trend
from dosemap.services import compare
from dosemap.services.clinic_day import patient_record
from dosemap.services.photos import PhotoStore
from dosemap.web.forms import form_dict
from dosemap.web.security import router, signed_in_user
from dosemap.web.state import app_state

routes = router()


def _page(request: Request, user: Any, patient_id: uuid.UUID, **extra: Any) -> Response:
    state = app_state(request)
    record = patient_record(
        state.db, user.clinic_id, patient_id, reader=user.user_id, via="page:compare"
    )
    photos = compare.patient_photos(state.db, user.clinic_id, patient_id)
    dates, metrics = compare.metrics_over_visits(state.db, user.clinic_id, patient_id)
    context: dict[str, Any] = {"result": None, "error": "", "chosen": ("", "")}
    context.update(extra)
    return state.templates.page(
        "compare.html",
        title="Results over time",
        user=user,
        active="/patients",
        status_code=422 if context["error"] else 200,
        patient_id=patient_id,
        patient_name=f"{record.given_name} {record.family_name}",
        timezone=record.timezone,
        photos=photos,
        dates=dates,
        metrics=metrics,
        trends=[trend(dates, m.values, m.caveats, m.metric, m.unit) for m in metrics],
        trend_box=(TREND_WIDTH, TREND_HEIGHT),
        **context,
    )


@routes.get("/patients/{patient_id}/compare", name="compare_form")
def compare_form(request: Request, patient_id: uuid.UUID) -> Response:
    """Choose two photos; the skin metrics table."""
    user = signed_in_user(request)
    return _page(request, user, patient_id)


@routes.post("/patients/{patient_id}/compare", name="compare")
async def compare_run(request: Request, patient_id: uuid.UUID) -> Response:
    """Align the after photo onto the before photo (a POST: photo choices stay out of URLs)."""
    user = signed_in_user(request)
    state = app_state(request)
    form = await form_dict(request)
    chosen = (form.get("before", ""), form.get("after", ""))
    try:
        before, after = (uuid.UUID(chosen[0]), uuid.UUID(chosen[1]))
    except ValueError:
        return await run_in_threadpool(
            lambda: _page(
                request, user, patient_id, error="before, after: choose two photos", chosen=chosen
            )
        )
    store = PhotoStore(state.settings.records.photos_dir)
    try:
        result = await run_in_threadpool(
            lambda: compare.compare_photos(
                state.db, store, user.clinic_id, patient_id, before, after, reader=user.user_id
            )
        )
    except InvalidInputError as exc:
        error = f"{exc.field}: {exc.message}"
        return await run_in_threadpool(
            lambda: _page(request, user, patient_id, error=error, chosen=chosen)
        )
    return await run_in_threadpool(
        lambda: _page(request, user, patient_id, result=result, chosen=chosen)
    )
