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
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

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
    """One skin metric of one zone across the patient's photos (value per photo date), each
    value with the capture-quality caveats of the photo it came from."""

    zone: str
    metric: str
    unit: str
    values: dict[str, float]  # photo date (YYYY-MM-DD HH:MM) -> value
    caveats: dict[str, tuple[str, ...]] = field(default_factory=dict)  # photo date -> caveats


#: The photo checks' flags (:mod:`dosemap.imaging.quality`) in the words shown beside a value.
FLAG_WORDS = {
    "blurry": "blurred",
    "highlights_clipped": "over-exposed (highlights clipped)",
    "shadows_clipped": "under-exposed (shadows clipped)",
    "ipd_out_of_adult_range": "iris scale implausible (mm uncertain)",
}
NOT_CHECKED = "capture quality not checked"


def capture_caveats(
    quality: Mapping[str, Any] | None,
    view: str | None,
    first_view: str | None,
) -> tuple[str, ...]:
    """What to mind about a value from a photo: the capture-quality report stored when the
    photo was uploaded (its flags and notes, never hidden), and a view other than the first
    visit's. ``quality`` ``None``: the photo was never checked, which is a caveat too."""
    found: list[str] = []
    if quality is None:
        found.append(NOT_CHECKED)
    else:
        found += [FLAG_WORDS.get(f, str(f).replace("_", " ")) for f in quality.get("flags", ())]
        found += [str(n) for n in quality.get("notes", ())]
    if view != first_view:
        found.append(f"{view or 'unstated'} view (first visit: {first_view or 'unstated'})")
    return tuple(found)


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
    """Photo dates (columns) and one row per zone and metric across them, each value with
    its photo's capture-quality caveats (:func:`capture_caveats`)."""
    with reading(db) as uow:
        found = uow.photos.measurements_of_patient(clinic_id, patient_id)
        checked = {p.id: job for p, job in uow.photo_jobs.of_patient(clinic_id, patient_id)}
    dates: list[str] = []
    first_view = found[0][1].view if found else None
    caveats: dict[str, tuple[str, ...]] = {}
    rows: dict[tuple[str, str, str], dict[str, float]] = {}
    seen: set[uuid.UUID] = set()
    for measurement, photo in found:
        day = photo.taken_at.strftime("%Y-%m-%d %H:%M")
        if day not in dates:
            dates.append(day)
        if photo.id not in seen:  # two photos in one minute share a column: both caveats
            seen.add(photo.id)
            job = checked.get(photo.id)
            mine = capture_caveats(None if job is None else job.quality, photo.view, first_view)
            caveats[day] = tuple(dict.fromkeys(caveats.get(day, ()) + mine))
        key = (measurement.zone or "whole face", measurement.metric, measurement.unit)
        rows.setdefault(key, {})[day] = measurement.value
    return dates, [
        MetricRow(z, m, u, v, {d: caveats[d] for d in v}) for (z, m, u), v in sorted(rows.items())
    ]


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
