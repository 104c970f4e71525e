"""Photos: content-addressed files, checksum verified on read, metadata in the database."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect

from dosemap.persistence.errors import IntegrityError
from dosemap.services import photos
from support.clinic import T0, SeededClinic


def _meta() -> photos.PhotoInput:
    return photos.PhotoInput(media_type="image/jpeg", taken_at=T0, view="frontal")


def test_photo_round_trip_and_dedup(clinic: SeededClinic, tmp_path: Path) -> None:
    store = photos.PhotoStore(tmp_path / "photos")
    data = b"\xff\xd8fake jpeg bytes\xff\xd9"
    first = photos.add_photo(
        clinic.db, store, clinic.clinic_id, clinic.patient_id, data, _meta(), actor="t"
    )
    second = photos.add_photo(
        clinic.db, store, clinic.clinic_id, clinic.patient_id, data, _meta(), actor="t"
    )
    assert first.sha256 == second.sha256 and first.id != second.id
    assert store.path(first.sha256).name == first.sha256
    assert len(list((tmp_path / "photos").rglob("*"))) == 2  # one folder, one file
    assert photos.read_photo(clinic.db, store, clinic.clinic_id, first.id) == data
    m = photos.record_measurement(
        clinic.db,
        clinic.clinic_id,
        first.id,
        photos.MeasurementInput(
            metric="wrinkle_depth",
            value=0.42,
            unit="mm",
            zone="forehead",
            measured_at=T0 + timedelta(days=14),
        ),
        actor="t",
    )
    assert m.photo_id == first.id


def test_no_photo_bytes_in_the_database(clinic: SeededClinic) -> None:
    columns = {c["name"]: str(c["type"]) for c in inspect(clinic.db.engine).get_columns("photos")}
    assert not any("BLOB" in t.upper() or "BYTEA" in t.upper() for t in columns.values())


def test_damaged_file_is_refused_without_patient_data(clinic: SeededClinic, tmp_path: Path) -> None:
    store = photos.PhotoStore(tmp_path / "photos")
    row = photos.add_photo(
        clinic.db, store, clinic.clinic_id, clinic.patient_id, b"original", _meta(), actor="t"
    )
    store.path(row.sha256).write_bytes(b"swapped!")
    with pytest.raises(IntegrityError, match="checksum") as err:
        photos.read_photo(clinic.db, store, clinic.clinic_id, row.id)
    assert "Pat" not in str(err.value) and "Example" not in str(err.value)
    store.path(row.sha256).unlink()
    with pytest.raises(IntegrityError, match="missing"):
        photos.read_photo(clinic.db, store, clinic.clinic_id, row.id)


def test_skin_metrics_become_one_measurement_per_zone_and_metric() -> None:
    from dosemap.services.skin_measurements import metric_values

    zones = [
        {"zone": "nose", "a_star": 14.2, "delta_a_star": 3.1, "shine_fraction": 0.0825,
         "texture": 1.93, "pores_per_cm2": None},
        {"zone": "chin", "a_star": None, "delta_a_star": None, "shine_fraction": 0.0,
         "texture": 2.0, "pores_per_cm2": 41.5},
    ]  # fmt: skip
    found = metric_values(zones)
    assert found[("nose", "redness_delta_a_star")] == (3.1, "Δa*")
    assert found[("nose", "shine_percent")] == (8.25, "%")
    assert found[("chin", "pores_per_cm2")] == (41.5, "per cm²")
    assert ("nose", "pores_per_cm2") not in found and ("chin", "redness_a_star") not in found
    assert len(found) == 7 and all(len(unit) <= 20 for _v, unit in found.values())
