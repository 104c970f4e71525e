"""The skin metrics of a photo's analysis as the patient's outcome measurements.

The analysis job (:func:`dosemap.services.photo_jobs.run_analysis`) measures redness, shine,
texture and pores per zone; they are stored as :class:`OutcomeMeasurement` rows, the records
Results over time reads and the FHIR export sends. One row per photo, zone and metric: a
second analysis of the same photo updates its rows (and removes one it no longer gives), never
adds beside them. Measurements of other metrics (entered or imported) are left alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from dosemap.persistence.models import OutcomeMeasurement, PhotoRecord
from dosemap.persistence.unit_of_work import UnitOfWork
from dosemap.services._common import snap

#: Job result key -> (metric, unit, factor to the stored value). Shine is kept as a percentage
#: of the zone's skin: easier to read than a fraction beside the other numbers.
SKIN_METRICS: dict[str, tuple[str, str, float]] = {
    "a_star": ("redness_a_star", "a*", 1.0),
    "delta_a_star": ("redness_delta_a_star", "Δa*", 1.0),  # vs the reference zone
    "shine_fraction": ("shine_percent", "%", 100.0),
    "texture": ("texture", "L* SD", 1.0),
    "pores_per_cm2": ("pores_per_cm2", "per cm²", 1.0),
}
ANALYSIS_METRICS = frozenset(metric for metric, _unit, _f in SKIN_METRICS.values())


def metric_values(
    zones: Iterable[Mapping[str, Any]],
) -> dict[tuple[str, str], tuple[float, str]]:
    """(zone, metric) -> (value, unit) from the job's per-zone result; a metric the photo
    could not give (``None``: greyscale, pores too small to resolve) has no row."""
    found: dict[tuple[str, str], tuple[float, str]] = {}
    for zone in zones:
        for key, (metric, unit, factor) in SKIN_METRICS.items():
            value = zone.get(key)
            if value is not None:
                found[(str(zone["zone"]), metric)] = (round(float(value) * factor, 4), unit)
    return found


def store_skin_metrics(
    uow: UnitOfWork, photo: PhotoRecord, zones: Iterable[Mapping[str, Any]], *, actor: str
) -> int:
    """Write the photo's skin metrics as its measurements in ``uow`` (audited, the photo's
    clinic); returns how many rows were created, updated or removed."""
    wanted = metric_values(zones)
    changed = 0
    for row in uow.photos.measurements_of_photo(photo.clinic_id, photo.id):
        if row.metric not in ANALYSIS_METRICS:
            continue
        new = wanted.pop((row.zone or "", row.metric), None)
        if new is None:
            before = snap(row)
            uow.photos.remove_measurement(row)
            _audit(uow, photo, row.id, "remove", before, None, actor)
        elif (row.value, row.unit) != new or row.session_id != photo.session_id:
            before = snap(row)
            row.value, row.unit = new
            row.session_id, row.measured_at = photo.session_id, photo.taken_at
            _audit(uow, photo, row.id, "update", before, row, actor)
        else:
            continue
        changed += 1
    for (zone, metric), (value, unit) in wanted.items():
        row = OutcomeMeasurement(
            id=uuid.uuid4(),
            clinic_id=photo.clinic_id,
            photo_id=photo.id,
            session_id=photo.session_id,
            zone=zone,
            metric=metric,
            value=value,
            unit=unit,
            measured_at=photo.taken_at,  # the skin as it was when the photo was taken
        )
        uow.photos.add(row)
        _audit(uow, photo, row.id, "create", None, row, actor)
        changed += 1
    return changed


def _audit(
    uow: UnitOfWork,
    photo: PhotoRecord,
    row_id: uuid.UUID,
    action: str,
    before: dict[str, Any] | None,
    after: OutcomeMeasurement | None,
    actor: str,
) -> None:
    uow.audit.record(
        clinic_id=photo.clinic_id,
        actor=actor,
        action=action,
        entity="measurement",
        entity_id=row_id,
        before=before,
        after=after,
    )
