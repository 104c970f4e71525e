"""Results over time: two photos aligned (residual in mm, quality notes), metrics per zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from dosemap.services import photos
from dosemap.services.photos import PhotoStore
from support.faces import face
from support.web import WebWorld


def _add(world: WebWorld, name: str, days: int) -> str:
    store = PhotoStore(world.app.state.dosemap.settings.records.photos_dir)
    taken = datetime(2026, 3, 2, 10, tzinfo=UTC) + timedelta(days=days)
    row = photos.add_photo(
        world.db, store, world.own.clinic_id, world.own.patient_id, face(name).read_bytes(),
        photos.PhotoInput(media_type="image/jpeg", taken_at=taken, view="frontal"), actor="test",
    )  # fmt: skip
    photos.record_measurement(
        world.db, world.own.clinic_id, row.id,
        photos.MeasurementInput(metric="redness", value=10.0 - days / 10, unit="a*",
                                zone="forehead", measured_at=taken),
        actor="test",
    )  # fmt: skip
    return str(row.id)


def test_two_visits_aligned_with_residual_and_metrics(world: WebWorld) -> None:
    before = _add(world, "A000014.jpg", 0)
    after = _add(world, "A000014.jpg", 30)  # the same portrait: an exact fit
    client = world.client("injector")
    page = client.get(f"/patients/{world.own.patient_id}/compare")
    assert page.status_code == 200
    assert "redness" in page.text and "10.00" in page.text and "7.00" in page.text
    answer = client.post(
        f"/patients/{world.own.patient_id}/compare",
        data={"before": before, "after": after, "csrf_token": world.csrf(client)},
    )
    assert answer.status_code == 200, answer.text[:500]
    residual = re.search(r"Fit residual over the stable landmarks: ([0-9.]+) mm RMS", answer.text)
    assert residual is not None and float(residual.group(1)) < 0.5
    assert answer.text.count("data:image/jpeg;base64,") == 5  # side by side, slider, ghost
    assert "capture quality" in answer.text.lower()
    same = client.post(
        f"/patients/{world.own.patient_id}/compare",
        data={"before": before, "after": before, "csrf_token": world.csrf(client)},
    )
    assert same.status_code == 422 and "same photo" in same.text
