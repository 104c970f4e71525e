"""Photos from the tablet: capture quality at upload, analysis (landmarks, skin metrics) as a
job outside the request.

:func:`upload_photo` checks the picture first (decodable JPEG/PNG/HEIC, one measurable face:
:func:`dosemap.imaging.quality.inspect_photo`, the same checks as ``dosemap photos check``);
a refused photo stores no file and no row. An accepted one is stored with its quality report
and a queued :class:`PhotoJob` in one unit of work, then handed to a runner
(:mod:`dosemap.services.job_queue`). :func:`run_analysis` is what a runner runs: it claims the
job, measures the skin per zone and stores the result (and the metrics as the patient's
measurements, :mod:`dosemap.services.skin_measurements`), or the failure in words.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NoReturn

from dosemap.domain.errors import InvalidInputError
from dosemap.imaging.errors import PhotoError
from dosemap.imaging.intake import photo_from_bytes
from dosemap.imaging.landmarks import Detector
from dosemap.imaging.quality import PhotoAnalysis, inspect_photo
from dosemap.imaging.thumbnail import thumbnail_jpeg
from dosemap.persistence.db import Database
from dosemap.persistence.errors import NotFoundError
from dosemap.persistence.models import PhotoJob, PhotoRecord
from dosemap.persistence.unit_of_work import reading, writing
from dosemap.services._common import now
from dosemap.services.clinic_day import record_read
from dosemap.services.photos import MAX_PHOTO_BYTES, PhotoStore
from dosemap.services.skin_measurements import store_skin_metrics

#: Decoded format -> stored media type. What a tablet camera gives: JPEG, PNG, HEIC/HEIF.
MEDIA_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "HEIF": "image/heic"}
VIEWS = ("frontal", "left_oblique", "right_oblique", "left_profile", "right_profile")
#: A queued or running job older than this is shown as stale (its worker died or is gone).
STALE_AFTER = timedelta(minutes=10)


@dataclass(frozen=True)
class PhotoLine:
    """One photo as the Photos page lists it, with its latest analysis job."""

    photo_id: uuid.UUID
    view: str | None
    media_type: str
    size_bytes: int
    taken_at: datetime
    job_id: uuid.UUID | None
    status: str  # queued, running, done, failed, stale, none
    quality: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    queued_at: datetime | None
    finished_at: datetime | None


def _media_type(fmt: str | None) -> str:
    media = MEDIA_TYPES.get((fmt or "").upper())
    if media is None:
        raise InvalidInputError("photo", f"{fmt or 'unknown'} format", "JPEG, PNG or HEIC")
    return media


def _quality(analysis: PhotoAnalysis) -> dict[str, Any]:
    q = analysis.quality
    return {
        "width_px": q.width_px,
        "height_px": q.height_px,
        "face_width_fraction": round(q.face_width_fraction, 3),
        "mm_per_px": round(q.mm_per_px, 5),
        "ipd_mm": round(q.ipd_mm, 1),
        "ipd_plausible": q.ipd_plausible,
        "yaw_deg": round(q.yaw_deg, 1),
        "pitch_deg": round(q.pitch_deg, 1),
        "roll_deg": round(q.roll_deg, 1),
        "sharpness": round(q.sharpness, 1),
        "highlights_clipped": round(q.highlights_clipped, 4),
        "shadows_clipped": round(q.shadows_clipped, 4),
        "flags": list(q.flags),
        "notes": list(analysis.photo.notes),
    }


def check_capture(data: bytes, filename: str, detector: Detector) -> tuple[str, dict[str, Any]]:
    """The media type and capture-quality report of an uploaded picture.

    Raises :class:`InvalidInputError` on the ``photo`` field for anything that cannot be used
    (not an image, another format, too large, no face or several, turned, eyes closed …).
    """
    if not data:
        raise InvalidInputError("photo", "no file was sent", "a photo from the camera")
    if len(data) > MAX_PHOTO_BYTES:
        raise InvalidInputError("photo", f"{len(data)} bytes", f"≤ {MAX_PHOTO_BYTES} bytes")
    try:
        photo = photo_from_bytes(data, filename[:120] or "upload")
        media = _media_type(photo.format)
        analysis = inspect_photo(photo, detector)
    except PhotoError as exc:
        raise InvalidInputError("photo", exc.message, exc.allowed) from None
    return media, _quality(analysis)


def precheck_upload(
    db: Database, clinic_id: uuid.UUID, patient_id: uuid.UUID, data: bytes, view: str | None
) -> None:
    """The cheap checks, before any picture is decoded: the patient is the clinic's, a file
    came, not too large, a known view."""
    with reading(db) as uow:
        uow.patients.get(clinic_id, patient_id)  # another clinic's patient: not found, first
    if view is not None and view not in VIEWS:
        raise InvalidInputError("view", f"{view!r}", ", ".join(VIEWS))
    if not data:
        raise InvalidInputError("photo", "no file was sent", "a photo from the camera")
    if len(data) > MAX_PHOTO_BYTES:
        raise InvalidInputError("photo", f"{len(data)} bytes", f"≤ {MAX_PHOTO_BYTES} bytes")


def upload_photo(
    db: Database,
    store: PhotoStore,
    clinic_id: uuid.UUID,
    patient_id: uuid.UUID,
    data: bytes,
    *,
    filename: str,
    view: str | None,
    detector: Detector,
    runner: str,
    actor: str,
) -> tuple[PhotoRecord, PhotoJob]:
    """Check, store and queue a photo (see the module). Nothing is stored for a refused one."""
    precheck_upload(db, clinic_id, patient_id, data, view)
    media, quality = check_capture(data, filename, detector)
    stamp = now()
    with writing(db) as uow:
        uow.patients.get(clinic_id, patient_id)
        digest = store.put(data)  # content-addressed; kept unreferenced if the commit fails
        photo = PhotoRecord(
            id=uuid.uuid4(),
            clinic_id=clinic_id,
            patient_id=patient_id,
            session_id=None,
            sha256=digest,
            media_type=media,
            size_bytes=len(data),
            view=view,
            taken_at=stamp,
            created_at=stamp,
        )
        uow.photos.add(photo)
        uow.flush()  # the photo row before its job's (no ORM relationship orders them)
        job = new_job(clinic_id, photo.id, quality, runner, stamp)
        uow.photo_jobs.add(job)
        uow.audit.record(
            clinic_id=clinic_id,
            actor=actor,
            action="create",
            entity="photo",
            entity_id=photo.id,
            before=None,
            after=photo,
        )
        return photo, job


def new_job(
    clinic_id: uuid.UUID, photo_id: uuid.UUID, quality: dict[str, Any], runner: str, at: datetime
) -> PhotoJob:
    """A queued analysis job of a photo (not yet added to a unit of work)."""
    return PhotoJob(
        id=uuid.uuid4(),
        clinic_id=clinic_id,
        photo_id=photo_id,
        status="queued",
        runner=runner,
        quality=quality,
        result=None,
        error=None,
        queued_at=at,
    )


def retry_analysis(
    db: Database,
    clinic_id: uuid.UUID,
    photo_id: uuid.UUID,
    *,
    runner: str,
    at: datetime | None = None,
) -> PhotoJob:
    """Queue the analysis again for a photo whose last job failed or went stale."""
    stamp = at or now()
    with writing(db) as uow:
        uow.photos.get(clinic_id, photo_id)
        last = uow.photo_jobs.latest_for(clinic_id, photo_id)
        if last is None or display_status(last, stamp) not in ("failed", "stale"):
            raise InvalidInputError(
                "photo", "its analysis has not failed or gone stale", "a failed or stale one"
            )
        job = new_job(clinic_id, photo_id, last.quality, runner, stamp)
        uow.photo_jobs.add(job)
        return job


def display_status(job: PhotoJob, at: datetime) -> str:
    """The job's status as shown: ``stale`` when queued or running for too long."""
    if job.status in ("queued", "running") and at - job.queued_at > STALE_AFTER:
        return "stale"
    return job.status


def _line(photo: PhotoRecord, job: PhotoJob | None, at: datetime) -> PhotoLine:
    return PhotoLine(
        photo_id=photo.id,
        view=photo.view,
        media_type=photo.media_type,
        size_bytes=photo.size_bytes,
        taken_at=photo.taken_at,
        job_id=job.id if job else None,
        status=display_status(job, at) if job else "none",
        quality=dict(job.quality) if job else {},
        result=dict(job.result) if job and job.result is not None else None,
        error=job.error if job else None,
        queued_at=job.queued_at if job else None,
        finished_at=job.finished_at if job else None,
    )


def photos_of(
    db: Database, clinic_id: uuid.UUID, patient_id: uuid.UUID, *, reader: uuid.UUID, via: str
) -> list[PhotoLine]:
    """The patient's photos with their analyses, newest first (the read is access-logged)."""
    at = now()
    with reading(db) as uow:
        uow.patients.get(clinic_id, patient_id)
        rows = uow.photo_jobs.of_patient(clinic_id, patient_id)
    record_read(
        db, clinic_id=clinic_id, user_id=reader, entity="photos", entity_id=patient_id, via=via
    )
    return [_line(p, j, at) for p, j in rows]


def photo_line(
    db: Database, clinic_id: uuid.UUID, patient_id: uuid.UUID, photo_id: uuid.UUID
) -> PhotoLine:
    """One photo of the patient with its latest job (what the status poll shows)."""
    with reading(db) as uow:
        photo = uow.photos.get(clinic_id, photo_id)
        if photo.patient_id != patient_id:
            raise_not_found(photo_id)
        job = uow.photo_jobs.latest_for(clinic_id, photo_id)
    return _line(photo, job, now())


def raise_not_found(photo_id: uuid.UUID) -> NoReturn:
    """Another patient's photo is not found under this patient."""
    raise NotFoundError("photo", str(photo_id))


def photo_thumbnail(
    db: Database,
    store: PhotoStore,
    clinic_id: uuid.UUID,
    patient_id: uuid.UUID,
    photo_id: uuid.UUID,
    *,
    reader: uuid.UUID,
    via: str,
    max_side: int = 480,
) -> bytes:
    """A small upright JPEG of the photo (checksum-verified; the read is access-logged)."""
    with reading(db) as uow:
        photo = uow.photos.get(clinic_id, photo_id)
        if photo.patient_id != patient_id:
            raise_not_found(photo_id)
    data = store.get(photo.sha256)
    record_read(
        db, clinic_id=clinic_id, user_id=reader, entity="photo", entity_id=photo_id, via=via
    )
    return thumbnail_jpeg(data, max_side)


# --- the job itself ---------------------------------------------------------------------------


def run_analysis(db: Database, store: PhotoStore, job_id: uuid.UUID, detector: Detector) -> str:
    """Run one queued job: landmarks, iris scale and skin metrics per zone. Returns the final
    status. A job already claimed or finished is left alone (a queue may deliver twice)."""
    from dosemap.imaging.skin import measure_skin

    with writing(db) as uow:
        job = uow.photo_jobs.by_id(job_id)
        if job is None or job.status != "queued":
            return job.status if job is not None else "missing"
        job.status = "running"
        job.started_at = now()
        clinic_id, photo_id = job.clinic_id, job.photo_id
        photo = uow.photos.get(clinic_id, photo_id)
        digest, source = photo.sha256, f"{photo_id}"
    try:
        analysis = inspect_photo(photo_from_bytes(store.get(digest), source), detector)
        report = measure_skin(analysis)
        result: dict[str, Any] = {
            "landmarks": int(analysis.landmarks.xy.shape[0]),
            "mm_per_px": round(analysis.quality.mm_per_px, 5),
            "reference_zone": report.reference_zone,
            "pores_resolvable": report.pores_resolvable,
            "greyscale": report.greyscale,
            "zones": [
                {
                    "zone": z.zone,
                    "area_mm2": round(z.area_mm2, 1),
                    "a_star": None if z.a_star is None else round(z.a_star, 2),
                    "delta_a_star": None if z.delta_a_star is None else round(z.delta_a_star, 2),
                    "shine_fraction": round(z.shine_fraction, 4),
                    "texture": round(z.texture, 4),
                    "pores_per_cm2": None
                    if z.pore_density_per_cm2 is None
                    else round(z.pore_density_per_cm2, 1),
                }
                for z in report.zones
            ],
        }
        status, error = "done", None
    except InvalidInputError as exc:  # PhotoError included: the words a person can act on
        status, error, result = "failed", str(exc), {}
    except Exception as exc:  # a worker must record every failure, not die with it
        status, error, result = "failed", f"analysis failed: {type(exc).__name__}: {exc}", {}
    with writing(db) as uow:
        job = uow.photo_jobs.get(clinic_id, job_id)
        job.status = status
        job.result = result if status == "done" else None
        job.error = error
        job.finished_at = now()
        if status == "done":  # the numbers Results over time and the FHIR export read
            photo = uow.photos.get(clinic_id, photo_id)
            store_skin_metrics(uow, photo, result["zones"], actor=f"photo-analysis:{job.runner}")
    return status
