"""Results over time: two visits' photos aligned on the face, and skin metrics per zone.

The after photo is laid onto the before photo by the similarity fitted on the stable
landmarks (:mod:`dosemap.imaging.align`); the fit's residual in millimetres says how far the
two can be compared (a different pose or expression is not a result). Each photo's capture
quality notes are shown beside it. Photos are read checksum-verified from the photo store and
every read is in the access log.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from dosemap.domain.errors import InvalidInputError
from dosemap.persistence.db import Database
from dosemap.persistence.unit_of_work import reading
from dosemap.services.clinic_day import record_read
from dosemap.services.photos import PhotoStore, read_photo

if TYPE_CHECKING:
    from dosemap.imaging.quality import PhotoAnalysis

#: Analyses kept (landmarks take a second or more a photo): by the photo file's SHA-256.
_KEPT = 16
_ANALYSES: OrderedDict[str, PhotoAnalysis] = OrderedDict()
#: Longest side of the pictures sent to the browser.
SHOWN_MAX_SIDE = 1200


@dataclass(frozen=True)
class PhotoChoice:
    """A photo of the patient to compare."""

    id: uuid.UUID
    taken_at: datetime
    view: str | None


@dataclass(frozen=True)
class Comparison:
    """Before and after (aligned onto before) as JPEG data URIs, and the fit's residual."""

    before_uri: str
    after_uri: str
    ghost_uri: str
    rms_residual_mm: float
    max_residual_mm: float
    before_notes: tuple[str, ...]
    after_notes: tuple[str, ...]


@dataclass(frozen=True)
class MetricRow:
    """One skin metric of one zone across the patient's photos (value per photo date)."""

    zone: str
    metric: str
    unit: str
    values: dict[str, float]  # photo date (YYYY-MM-DD HH:MM) -> value


def patient_photos(db: Database, clinic_id: uuid.UUID, patient_id: uuid.UUID) -> list[PhotoChoice]:
    """The patient's photos, oldest first."""
    with reading(db) as uow:
        uow.patients.get(clinic_id, patient_id)
        return [
            PhotoChoice(p.id, p.taken_at, p.view)
            for p in uow.photos.of_patient(clinic_id, patient_id)
        ]


def _analysis(
    store: PhotoStore, db: Database, clinic_id: uuid.UUID, photo_id: uuid.UUID
) -> PhotoAnalysis:
    from dosemap.imaging.intake import photo_from_bytes
    from dosemap.imaging.landmarks import MediaPipeDetector, native_stderr_silenced
    from dosemap.imaging.quality import inspect_photo

    with reading(db) as uow:
        sha = uow.photos.get(clinic_id, photo_id).sha256
    found = _ANALYSES.pop(sha, None)
    if found is None:
        photo = photo_from_bytes(read_photo(db, store, clinic_id, photo_id), f"photo {photo_id}")
        with native_stderr_silenced(True), MediaPipeDetector(quiet=False) as detector:
            found = inspect_photo(photo, detector)
    _ANALYSES[sha] = found
    while len(_ANALYSES) > _KEPT:
        _ANALYSES.popitem(last=False)
    return found


def _notes(analysis: PhotoAnalysis) -> tuple[str, ...]:
    """The photo's capture-quality flags and the pose behind them (never hidden)."""
    q = analysis.quality
    pose = f"pose: yaw {q.yaw_deg:.0f}°, pitch {q.pitch_deg:.0f}°, roll {q.roll_deg:.0f}°"
    scale = f"scale {q.mm_per_px:.3f} mm/px (±{q.scale_uncertainty:.0%})"
    return (*q.flags, pose, scale) if q.flags else ("no capture-quality flag", pose, scale)


def compare_photos(
    db: Database,
    store: PhotoStore,
    clinic_id: uuid.UUID,
    patient_id: uuid.UUID,
    before_id: uuid.UUID,
    after_id: uuid.UUID,
    *,
    reader: uuid.UUID,
) -> Comparison:
    """Align ``after_id`` onto ``before_id`` (both the patient's photos); access-logged."""
    from dosemap.imaging.align import align_pair
    from dosemap.imaging.framing import jpeg_data_uri

    if before_id == after_id:
        raise InvalidInputError("after", "is the same photo as before", "another photo")
    with reading(db) as uow:
        for field, photo_id in (("before", before_id), ("after", after_id)):
            if uow.photos.get(clinic_id, photo_id).patient_id != patient_id:
                raise InvalidInputError(field, "is another patient's photo", "this patient's")
    for photo_id in (before_id, after_id):
        record_read(
            db, clinic_id=clinic_id, user_id=reader, entity="photo", entity_id=photo_id,
            via="page:compare",
        )  # fmt: skip
    before = _analysis(store, db, clinic_id, before_id)
    after = _analysis(store, db, clinic_id, after_id)
    pair = align_pair(before, after, max_side=SHOWN_MAX_SIDE)
    return Comparison(
        before_uri=jpeg_data_uri(pair.before),
        after_uri=jpeg_data_uri(pair.after_aligned),
        ghost_uri=jpeg_data_uri(pair.ghost()),
        rms_residual_mm=round(pair.rms_residual_mm, 1),
        max_residual_mm=round(pair.max_residual_mm, 1),
        before_notes=_notes(before),
        after_notes=_notes(after),
    )


def metrics_over_visits(
    db: Database, clinic_id: uuid.UUID, patient_id: uuid.UUID
) -> tuple[list[str], list[MetricRow]]:
    """Photo dates (columns) and one row per zone and metric across them."""
    with reading(db) as uow:
        found = uow.photos.measurements_of_patient(clinic_id, patient_id)
    dates: list[str] = []
    rows: dict[tuple[str, str, str], dict[str, float]] = {}
    for measurement, photo in found:
        day = photo.taken_at.strftime("%Y-%m-%d %H:%M")
        if day not in dates:
            dates.append(day)
        key = (measurement.zone or "whole face", measurement.metric, measurement.unit)
        rows.setdefault(key, {})[day] = measurement.value
    return dates, [MetricRow(z, m, u, v) for (z, m, u), v in sorted(rows.items())]


@dataclass(frozen=True)
class LatestPhoto:
    """The patient's latest photo with a face found and no capture-quality flag, for drawing
    a plan on; ``skipped`` says which newer photos were passed over and why."""

    taken_at: datetime
    analysis: PhotoAnalysis
    image_uri: str
    skipped: tuple[str, ...]


def latest_good_photo(
    db: Database,
    store: PhotoStore,
    clinic_id: uuid.UUID,
    patient_id: uuid.UUID,
    *,
    reader: uuid.UUID,
) -> LatestPhoto | None:
    """The newest usable frontal photo of the patient (access-logged), or ``None``."""
    from dosemap.domain.errors import DosemapError
    from dosemap.imaging.framing import jpeg_data_uri

    skipped: list[str] = []
    for choice in reversed(patient_photos(db, clinic_id, patient_id)):
        if choice.view not in (None, "frontal"):
            continue
        when = f"{choice.taken_at:%Y-%m-%d}"
        try:
            analysis = _analysis(store, db, clinic_id, choice.id)
        except DosemapError as exc:  # no face, unreadable: say so and try an older one
            skipped.append(f"photo of {when}: {exc}")
            continue
        if analysis.quality.flags:
            skipped.append(f"photo of {when}: {', '.join(analysis.quality.flags)}")
            continue
        record_read(
            db, clinic_id=clinic_id, user_id=reader, entity="photo", entity_id=choice.id,
            via="page:plan_on_photo",
        )  # fmt: skip
        factor = max(1.0, max(analysis.photo.size) / SHOWN_MAX_SIDE)  # sent smaller, drawn full
        rgb = analysis.photo.rgb_reduced_by(factor)
        return LatestPhoto(choice.taken_at, analysis, jpeg_data_uri(rgb), tuple(skipped))
    return None
