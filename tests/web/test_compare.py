"""Results over time: two photos aligned (residual in mm, quality notes), metrics per zone."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from dosemap.persistence.models import AuditEntry
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
    # The small chart: a round marker for the clean photo, squares for the two with caveats.
    chart = re.search(r'<svg class="trend".*?</svg>', page.text)
    assert chart is not None
    assert chart.group(0).count('class="trend-point"') == 1
    assert chart.group(0).count('class="trend-doubtful"') == 2
    assert "3 visits, 2 with capture-quality caveats" in chart.group(0)


def test_caveat_words() -> None:
    from dosemap.services.compare import capture_caveats

    assert capture_caveats({"flags": ["odd_flag"]}, "left_oblique", "frontal") == (
        "odd flag",
        "left_oblique view (first visit: frontal)",
    )
    assert capture_caveats({"flags": [], "notes": []}, "frontal", "frontal") == ()


def test_the_photo_analysis_stores_its_skin_metrics_for_results_over_time(
    world: WebWorld,
) -> None:
    from dosemap.services.job_queue import InProcessRunner, SharedDetector
    from dosemap.services.photo_jobs import run_analysis
    from dosemap.services.skin_measurements import ANALYSIS_METRICS
    from dosemap.web.pages.photos import PhotoServices

    store = PhotoStore(world.app.state.dosemap.settings.records.photos_dir)
    services = PhotoServices(store, InProcessRunner(world.db, store), SharedDetector())
    world.app.state.dosemap_photos = services
    client = world.client("injector")
    sent = client.post(
        f"/patients/{world.own.patient_id}/photos",
        data={"csrf_token": world.csrf(client), "view": "frontal"},
        files={"photo": ("A000014.jpg", face("A000014.jpg").read_bytes(), "image/jpeg")},
    )
    assert sent.status_code == 303, sent.text
    ((job_id, future),) = services.runner.futures.items()
    assert future.result(timeout=300) == "done"  # waits on the pool's future, not a clock

    def stored() -> list[tuple[str | None, str, float]]:
        with writing(world.db) as uow:
            job = uow.photo_jobs.get(world.own.clinic_id, job_id)
            rows = uow.photos.measurements_of_photo(world.own.clinic_id, job.photo_id)
            return sorted((m.zone, m.metric, m.value) for m in rows)

    first = stored()
    # A000014 is greyscale: no redness to measure, so none is stored (not a zero).
    assert {m for _z, m, _v in first} >= {"shine_percent", "texture"}
    assert not {"redness_a_star", "redness_delta_a_star"} & {m for _z, m, _v in first}
    assert {z for z, _m, _v in first} >= {"forehead", "nose", "left_cheek", "chin"}
    page = client.get(f"/patients/{world.own.patient_id}/compare").text
    assert "texture" in page and "shine_percent" in page and "forehead" in page
    assert (
        world.client("injector", side="other")
        .get(f"/patients/{world.own.patient_id}/compare")
        .status_code
        == 404
    )
    # The same photo analysed again: the same rows, not a second set.
    with writing(world.db) as uow:
        photo_id = uow.photo_jobs.get(world.own.clinic_id, job_id).photo_id
        again = new_job(world.own.clinic_id, photo_id, {}, "pool", datetime.now(UTC))
        uow.photo_jobs.add(again)
    status = services.detector.run(lambda d: run_analysis(world.db, store, again.id, d))
    assert status == "done" and stored() == first
    assert all(m in ANALYSIS_METRICS for _z, m, _v in first)
    with writing(world.db) as uow:  # each stored value audited once, as the job's
        audited = (
            uow.audit.session.execute(
                select(AuditEntry.actor).where(
                    AuditEntry.entity == "measurement", AuditEntry.action == "create"
                )
            )
            .scalars()
            .all()
        )
    assert audited == ["photo-analysis:pool"] * len(first)
