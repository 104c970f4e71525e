"""Results over time: two photos aligned (residual in mm, quality notes), metrics per zone."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

from dosemap.persistence.unit_of_work import writing
from dosemap.services import photos
from dosemap.services.photo_jobs import new_job
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


def _checked(world: WebWorld, photo_id: str, flags: list[str], notes: list[str]) -> None:
    """The capture-quality report the upload stores (what the photo checks said)."""
    quality = {"flags": flags, "notes": notes, "yaw_deg": 2.0, "sharpness": 40.0}
    with writing(world.db) as uow:
        uow.photo_jobs.add(
            new_job(world.own.clinic_id, uuid.UUID(photo_id), quality, "pool", datetime.now(UTC))
        )


def test_each_metric_value_shows_its_photos_quality_caveats(world: WebWorld) -> None:
    clean_photo = _add(world, "A000014.jpg", 0)
    blurred = _add(world, "A000014.jpg", 30)
    _add(world, "A000014.jpg", 60)  # stored without a quality report
    _checked(world, clean_photo, [], [])
    _checked(world, blurred, ["blurry", "highlights_clipped"], ["EXIF metadata partly unreadable"])
    page = world.client("injector").get(f"/patients/{world.own.patient_id}/compare")
    assert page.status_code == 200
    cells = re.findall(r'<td class="num">(.*?)</td>', page.text)
    assert len(cells) == 3
    first, second, third = cells
    assert first == "10.00"  # a clean photo: the value alone
    assert second.startswith('7.00<span class="caveat">')
    assert "blurred; over-exposed (highlights clipped); EXIF metadata partly unreadable" in second
    assert third.startswith("4.00<span") and "capture quality not checked" in third


def test_caveat_words() -> None:
    from dosemap.services.compare import capture_caveats

    assert capture_caveats({"flags": ["odd_flag"]}, "left_oblique", "frontal") == (
        "odd flag",
        "left_oblique view (first visit: frontal)",
    )
    assert capture_caveats({"flags": [], "notes": []}, "frontal", "frontal") == ()
