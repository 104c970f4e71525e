"""Photo analysis outside the request: the in-process pool, and rq against the test Redis
(the ``redis_url`` fixture, ``support.redis_server``: ``DOSEMAP_TEST_REDIS_URL``; a missing
server skips, saying how to run it, or fails with ``DOSEMAP_REQUIRE_REDIS=1`` as in CI) worked by
``dosemap worker``."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue

from dosemap.persistence.db import Database
from dosemap.persistence.unit_of_work import reading
from dosemap.resources import load_library
from dosemap.services.job_queue import InProcessRunner, RedisRunner, SharedDetector
from dosemap.services.photo_jobs import upload_photo
from dosemap.services.photos import PhotoStore
from support.clinic import build_test_clinic
from support.faces import face

WAIT_S = 300  # bounds on waits for a signal (a future, a process exit); never a sleep


def _queued_photo(db: Database, store: PhotoStore, runner: str) -> tuple[uuid.UUID, uuid.UUID]:
    seeded = build_test_clinic(db, load_library())
    _, job = SharedDetector().run(
        lambda detector: upload_photo(
            db,
            store,
            seeded.clinic_id,
            seeded.patient_id,
            face("B000611.jpg").read_bytes(),
            filename="B000611.jpg",
            view="frontal",
            detector=detector,
            runner=runner,
            actor="test",
        )
    )
    return seeded.clinic_id, job.id


def _job(db: Database, clinic_id: uuid.UUID, job_id: uuid.UUID):  # type: ignore[no-untyped-def]
    with reading(db) as uow:
        return uow.photo_jobs.get(clinic_id, job_id)


def test_the_in_process_pool_runs_a_job_to_done(db: Database, tmp_path: Path) -> None:
    store = PhotoStore(tmp_path / "photos")
    clinic_id, job_id = _queued_photo(db, store, "pool")
    assert _job(db, clinic_id, job_id).status == "queued"
    runner = InProcessRunner(db, store)
    try:
        runner.submit(job_id)
        assert runner.futures[job_id].result(timeout=WAIT_S) == "done"
    finally:
        runner.close()
    job = _job(db, clinic_id, job_id)
    assert job.status == "done" and job.started_at and job.finished_at
    assert job.result["landmarks"] == 478 and job.result["zones"]
    # Delivered twice (a queue may): the second run leaves the finished job alone.
    again = InProcessRunner(db, store)
    try:
        again.submit(job_id)
        assert again.futures[job_id].result(timeout=WAIT_S) == "done"
    finally:
        again.close()
    assert _job(db, clinic_id, job_id).finished_at == job.finished_at


def test_rq_on_real_redis_worked_by_dosemap_worker(
    db: Database, tmp_path: Path, redis_url: str
) -> None:
    queue_name = f"dosemap-test-{uuid.uuid4().hex[:12]}"
    connection = Redis.from_url(redis_url)
    assert connection.ping()
    store = PhotoStore(tmp_path / "photos")
    clinic_id, job_id = _queued_photo(db, store, "rq")
    runner = RedisRunner(redis_url, queue_name)
    try:
        runner.submit(job_id)
        queue = Queue(queue_name, connection=connection)
        assert queue.count == 1
        (enqueued,) = queue.jobs
        assert enqueued.args == (str(job_id),)  # only the job's id goes to Redis
        env = {
            **os.environ,
            "DOSEMAP_REDIS_URL": redis_url,
            "DOSEMAP_JOB_QUEUE": queue_name,
            "DOSEMAP_DATA_DIR": str(tmp_path),
            "DOSEMAP_DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
        }
        # --burst: the worker exits when the queue is empty; its exit is the signal we wait on.
        done = subprocess.run(
            [sys.executable, "-m", "dosemap", "worker", "--burst"],
            env=env,
            capture_output=True,
            text=True,
            timeout=WAIT_S,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert queue.count == 0
        job = _job(db, clinic_id, job_id)
        assert job.status == "done", job.error
        assert job.runner == "rq" and job.result["zones"]
    finally:
        Queue(queue_name, connection=connection).delete(delete_jobs=True)
        runner.close()
        connection.close()


def test_the_worker_needs_redis_configured(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DOSEMAP_REDIS_URL"}
    env["DOSEMAP_DATA_DIR"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "dosemap", "worker", "--burst"],
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT_S,
        check=False,
    )
    assert result.returncode == 2
    assert "DOSEMAP_REDIS_URL" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("runner", ["pool"])
def test_a_job_of_an_unmeasurable_photo_fails_in_words(
    db: Database, tmp_path: Path, runner: str
) -> None:
    from dosemap.persistence.unit_of_work import writing
    from dosemap.services._common import now
    from dosemap.services.photo_jobs import new_job
    from dosemap.services.photos import PhotoInput, add_photo

    seeded = build_test_clinic(db, load_library())
    store = PhotoStore(tmp_path / "photos")
    row = add_photo(
        db,
        store,
        seeded.clinic_id,
        seeded.patient_id,
        b"\x89PNG\r\n\x1a\n-not-really",
        PhotoInput(media_type="image/png", taken_at=now()),
        actor="test",
    )
    with writing(db) as uow:
        job = new_job(seeded.clinic_id, row.id, {}, runner, now())
        uow.photo_jobs.add(job)
    pool = InProcessRunner(db, store)
    try:
        pool.submit(job.id)
        assert pool.futures[job.id].result(timeout=WAIT_S) == "failed"
    finally:
        pool.close()
    failed = _job(db, seeded.clinic_id, job.id)
    assert failed.status == "failed" and failed.error and "photo" in failed.error
