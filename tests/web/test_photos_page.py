"""The Photos page: tablet upload, capture quality at once, analysis outside the request
(in-process pool), its states (queued, done, failed, stale) and field-level refusals."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pillow_heif
from PIL import Image

from dosemap.persistence.unit_of_work import reading, writing
from dosemap.services._common import now
from dosemap.services.audit import verify
from dosemap.services.job_queue import InProcessRunner, SharedDetector
from dosemap.services.photo_jobs import photos_of, run_analysis
from dosemap.services.photos import PhotoStore
from dosemap.web.pages.photos import PhotoServices
from support.faces import face
from support.web import OTHER_CLINIC_MARKER, WebWorld

FACE = "A000014.jpg"
WAIT_S = 300  # a bound on the wait for the job's future (a signal, not a sleep)


def _services(world: WebWorld) -> PhotoServices:
    """The app's photo services, made here so the test holds the pool's futures."""
    store = PhotoStore(world.app.state.dosemap.settings.records.photos_dir)
    services = PhotoServices(store, InProcessRunner(world.db, store), SharedDetector())
    world.app.state.dosemap_photos = services
    return services


def _photos(world: WebWorld) -> list[object]:
    return photos_of(
        world.db,
        world.own.clinic_id,
        world.own.patient_id,
        reader=world.own.accounts["admin"].id,
        via="test",
    )


def _stored_files(world: WebWorld) -> int:
    root = world.app.state.dosemap.settings.records.photos_dir
    return sum(1 for p in root.rglob("*") if p.is_file())


def _upload(world: WebWorld, client: object, data: bytes, name: str, view: str = "frontal"):
    return client.post(
        f"/patients/{world.own.patient_id}/photos",
        data={"csrf_token": world.csrf(client), "view": view},
        files={"photo": (name, data, "application/octet-stream")},
    )


def test_upload_shows_quality_at_once_and_the_analysis_when_done(world: WebWorld) -> None:
    services = _services(world)
    client = world.client("injector")
    page = client.get(f"/patients/{world.own.patient_id}/photos")
    assert 'accept="image/*"' in page.text and "capture" in page.text
    response = _upload(world, client, face(FACE).read_bytes(), FACE)
    assert response.status_code == 303, response.text
    shown = client.get(response.headers["location"]).text
    assert "Uploaded. Capture quality below." in shown
    assert "Sharpness" in shown and "mm/px" in shown  # the capture report, before any job ran
    assert OTHER_CLINIC_MARKER not in shown
    ((_job, future),) = services.runner.futures.items()
    assert future.result(timeout=WAIT_S) == "done"
    newest = _photos(world)[0]
    assert newest.status == "done" and newest.result["landmarks"] == 478
    status = client.get(f"/patients/{world.own.patient_id}/photos/{newest.photo_id}/status")
    assert "analysed" in status.text and "forehead" in status.text
    assert "hx-trigger" not in status.text  # polling stops once done
    thumb = client.get(f"/patients/{world.own.patient_id}/photos/{newest.photo_id}/thumbnail.jpg")
    assert thumb.status_code == 200 and thumb.content[:2] == b"\xff\xd8"


def test_heic_from_the_tablet_is_accepted(world: WebWorld) -> None:
    services = _services(world)
    pillow_heif.register_heif_opener()
    out = io.BytesIO()
    Image.open(face(FACE)).save(out, format="HEIF", quality=90)
    response = _upload(world, world.client("prescriber"), out.getvalue(), "IMG_0001.HEIC")
    assert response.status_code == 303, response.text
    assert _photos(world)[0].media_type == "image/heic"
    for future in services.runner.futures.values():
        future.result(timeout=WAIT_S)


def test_a_refused_photo_names_the_field_and_stores_nothing(world: WebWorld) -> None:
    services = _services(world)
    client = world.client("injector")
    before_rows, before_files = len(_photos(world)), _stored_files(world)
    blank = io.BytesIO()
    Image.new("RGB", (400, 300), "#d0b090").save(blank, format="PNG")
    gif = io.BytesIO()
    Image.open(face(FACE)).save(gif, format="GIF")
    cases = {
        "not an image": b"hello, not a picture",
        "no face": blank.getvalue(),
        "GIF": gif.getvalue(),
        "": b"",
    }
    for expected, data in cases.items():
        response = _upload(world, client, data, "x.jpg")
        assert response.status_code == 422, expected
        assert 'id="e-photo"' in response.text, expected
        if expected == "":
            assert "no file was sent" in response.text
    bad_view = _upload(world, client, face(FACE).read_bytes(), FACE, view="ceiling")
    assert bad_view.status_code == 422 and 'id="e-view"' in bad_view.text
    assert len(_photos(world)) == before_rows and _stored_files(world) == before_files
    assert services.runner.futures == {}


def test_failed_and_stale_jobs_say_so_and_can_be_retried(world: WebWorld, tmp_path: Path) -> None:
    services = _services(world)
    client = world.client("injector")
    response = _upload(world, client, face(FACE).read_bytes(), FACE)
    assert response.status_code == 303
    for future in services.runner.futures.values():
        future.result(timeout=WAIT_S)
    newest = _photos(world)[0]
    url = f"/patients/{world.own.patient_id}/photos/{newest.photo_id}"
    # A job whose worker vanished: queued long ago, never finished.
    with writing(world.db) as uow:
        job = uow.photo_jobs.latest_for(world.own.clinic_id, newest.photo_id)
        assert job is not None
        job.status, job.result, job.finished_at = "queued", None, None
        job.queued_at = now() - timedelta(minutes=11)
    stale = client.get(url + "/status").text
    assert "stalled" in stale and "Analyse again" in stale and "hx-trigger" not in stale
    # Retried: a new job runs and finishes.
    services.runner.futures.clear()
    retried = client.post(url + "/retry", data={"csrf_token": world.csrf(client)})
    assert retried.status_code == 303
    (future,) = services.runner.futures.values()
    assert future.result(timeout=WAIT_S) == "done"
    assert "analysed" in client.get(url + "/status").text
    # Nothing to retry now.
    assert client.post(url + "/retry", data={"csrf_token": world.csrf(client)}).status_code == 422
    # A photo the analysis cannot measure: the job fails and says why.
    with writing(world.db) as uow:
        job = uow.photo_jobs.latest_for(world.own.clinic_id, world.own.photo_id)
        assert job is None
    from dosemap.services.photo_jobs import new_job

    with writing(world.db) as uow:
        queued = new_job(world.own.clinic_id, world.own.photo_id, {}, "pool", now())
        uow.photo_jobs.add(queued)
    status = services.detector.run(
        lambda detector: run_analysis(world.db, services.store, queued.id, detector)
    )
    assert status == "failed"
    failed = client.get(f"/patients/{world.own.patient_id}/photos/{world.own.photo_id}/status")
    assert "analysis failed" in failed.text and "face" in failed.text
    with reading(world.db) as uow:
        assert uow.photo_jobs.get(world.own.clinic_id, queued.id).error
    assert verify(world.db, tmp_path / "checkpoints").problems == ()


def test_front_desk_sees_photos_but_cannot_upload(world: WebWorld) -> None:
    _services(world)
    client = world.client("front_desk")
    page = client.get(f"/patients/{world.own.patient_id}/photos")
    assert page.status_code == 200 and 'type="file"' not in page.text
    refused = _upload(world, client, face(FACE).read_bytes(), FACE)
    assert refused.status_code == 403
