"""The Photos page: upload from the tablet camera, capture quality shown at once, analysis
(landmarks, skin metrics) run outside the request and polled with htmx."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from dosemap.domain.errors import InvalidInputError
from dosemap.services._common import now
from dosemap.services.intake_forms import intake_view
from dosemap.services.job_queue import Runner, SharedDetector, make_runner
from dosemap.services.photo_jobs import (
    VIEWS,
    photo_line,
    photo_thumbnail,
    photos_of,
    precheck_upload,
    retry_analysis,
    upload_photo,
)
from dosemap.services.photos import MAX_PHOTO_BYTES, PhotoStore
from dosemap.services.signin import Principal
from dosemap.web.forms import field_errors, posted_form
from dosemap.web.permissions import allowed
from dosemap.web.security import router, signed_in_user
from dosemap.web.state import app_state

routes = router()
#: Seconds between status polls while an analysis is queued or running.
POLL_SECONDS = 2


@dataclass
class PhotoServices:
    """The app's photo store, job runner and in-request detector (built on first use)."""

    store: PhotoStore
    runner: Runner
    detector: SharedDetector


_build_lock = threading.Lock()


def photo_services(request: Request) -> PhotoServices:
    """This app's :class:`PhotoServices` (tests may set ``app.state.dosemap_photos``)."""
    found: PhotoServices | None = getattr(request.app.state, "dosemap_photos", None)
    if found is not None:
        return found
    with _build_lock:
        found = getattr(request.app.state, "dosemap_photos", None)
        if found is None:
            state = app_state(request)
            store = PhotoStore(state.settings.records.photos_dir)
            runner = make_runner(
                state.db, store, redis_url=state.settings.redis_url, queue=state.settings.job_queue
            )
            found = PhotoServices(store, runner, SharedDetector())
            request.app.state.dosemap_photos = found
    return found


def _page(
    request: Request,
    user: Principal,
    patient_id: uuid.UUID,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    uploaded: str = "",
) -> Response:
    state = app_state(request)
    view = intake_view(
        state.db, user.clinic_id, patient_id, reader=user.user_id, via="page:photos", at=now()
    )
    photos = photos_of(state.db, user.clinic_id, patient_id, reader=user.user_id, via="page:photos")
    return state.templates.page(
        "photos.html",
        title="Photos",
        user=user,
        active="/patients",
        status_code=status_code,
        v=view,
        photos=photos,
        views=VIEWS,
        errors=errors or {},
        uploaded=uploaded,
        can_upload=allowed(user.role, "clinical.write"),
        poll_seconds=POLL_SECONDS,
        max_mb=MAX_PHOTO_BYTES // (1024 * 1024),
    )


@routes.get("/patients/{patient_id}/photos", name="photos")
def photos(request: Request, patient_id: uuid.UUID) -> Response:
    """The patient's photos with quality and analysis, and the upload form."""
    user = signed_in_user(request)
    return _page(request, user, patient_id, uploaded=request.query_params.get("uploaded", "")[:40])


@routes.post("/patients/{patient_id}/photos", name="photo_upload")
async def photo_upload(request: Request, patient_id: uuid.UUID) -> Response:
    """Check the photo at once (refused: nothing stored), store it, queue its analysis."""
    user = signed_in_user(request)
    state = app_state(request)
    services = photo_services(request)
    form = await posted_form(request)
    upload = form.get("photo")
    view = form.get("view")
    view_name = view if isinstance(view, str) and view else None
    data, filename = b"", ""
    if isinstance(upload, UploadFile):
        data = await upload.read(MAX_PHOTO_BYTES + 1)
        filename = upload.filename or ""
        await upload.close()
    try:
        await run_in_threadpool(
            precheck_upload, state.db, user.clinic_id, patient_id, data, view_name
        )
        photo, job = await run_in_threadpool(
            services.detector.run,
            lambda detector: upload_photo(
                state.db,
                services.store,
                user.clinic_id,
                patient_id,
                data,
                filename=filename,
                view=view_name,
                detector=detector,
                runner=services.runner.name,
                actor=user.actor,
            ),
        )
    except InvalidInputError as exc:
        return await run_in_threadpool(
            _page, request, user, patient_id, errors=field_errors(exc), status_code=422
        )
    services.runner.submit(job.id)
    return RedirectResponse(f"/patients/{patient_id}/photos?uploaded={photo.id}", status_code=303)


@routes.get("/patients/{patient_id}/photos/{photo_id}/status", name="photo_status")
def photo_status(request: Request, patient_id: uuid.UUID, photo_id: uuid.UUID) -> Response:
    """One photo's analysis state (the htmx poll; it stops once done, failed or stale)."""
    user = signed_in_user(request)
    state = app_state(request)
    line = photo_line(state.db, user.clinic_id, patient_id, photo_id)
    return state.templates.partial(
        "_photo_analysis.html",
        ph=line,
        patient_id=patient_id,
        poll_seconds=POLL_SECONDS,
        can_upload=allowed(user.role, "clinical.write"),
        csrf=user.csrf_token or "",
    )


@routes.get("/patients/{patient_id}/photos/{photo_id}/thumbnail.jpg", name="photo_thumbnail")
def photo_thumbnail_route(request: Request, patient_id: uuid.UUID, photo_id: uuid.UUID) -> Response:
    """A small upright JPEG of the photo (access-logged)."""
    user = signed_in_user(request)
    state = app_state(request)
    jpeg = photo_thumbnail(
        state.db,
        photo_services(request).store,
        user.clinic_id,
        patient_id,
        photo_id,
        reader=user.user_id,
        via="page:photo_thumbnail",
    )
    return Response(jpeg, media_type="image/jpeg")


@routes.post("/patients/{patient_id}/photos/{photo_id}/retry", name="photo_retry")
def photo_retry(request: Request, patient_id: uuid.UUID, photo_id: uuid.UUID) -> Response:
    """Queue the analysis again after a failure or a stale job."""
    user = signed_in_user(request)
    state = app_state(request)
    services = photo_services(request)
    photo_line(state.db, user.clinic_id, patient_id, photo_id)  # this patient's, else 404
    job = retry_analysis(state.db, user.clinic_id, photo_id, runner=services.runner.name)
    services.runner.submit(job.id)
    return RedirectResponse(f"/patients/{patient_id}/photos", status_code=303)
