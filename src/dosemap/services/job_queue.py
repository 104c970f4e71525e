"""Where photo analyses run: an in-process pool by default, a Redis queue (rq) when
``DOSEMAP_REDIS_URL`` is set, worked by ``dosemap worker``.

Both runners run :func:`dosemap.services.photo_jobs.run_analysis`; the job's state lives in
the database (``photo_jobs``), so the page shows the same states whichever runs it. MediaPipe
is not thread-safe: the pool has one thread with its own detector, and ``dosemap worker`` is
a non-forking rq worker holding one detector for its life.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from dosemap.imaging.landmarks import Detector
from dosemap.persistence.db import Database
from dosemap.services.photo_jobs import run_analysis
from dosemap.services.photos import PhotoStore

DEFAULT_QUEUE = "dosemap-photos"
#: How long an rq job may run, and how long rq keeps its own record of it (the database keeps
#: the job's state for good).
JOB_TIMEOUT_S = 600
RQ_RESULT_TTL_S = 3600


class Runner(Protocol):
    """Runs queued photo jobs somewhere else than the request."""

    name: str

    def submit(self, job_id: uuid.UUID) -> None:
        """Start (or enqueue) the job; returns at once."""

    def close(self) -> None:
        """Stop taking jobs."""


def mediapipe_detector() -> Detector:
    """A MediaPipe detector (imported here: the web app loads it only when photos arrive)."""
    from dosemap.imaging.landmarks import MediaPipeDetector

    return MediaPipeDetector(quiet=True)


@dataclass
class SharedDetector:
    """One detector for request threads, used one at a time (MediaPipe is not thread-safe)."""

    make: Callable[[], Detector] = mediapipe_detector
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _detector: Detector | None = None

    def run(self, work: Callable[[Detector], Any]) -> Any:
        """``work(detector)`` under the lock."""
        with self._lock:
            if self._detector is None:
                self._detector = self.make()
            return work(self._detector)


class InProcessRunner:
    """A one-thread pool in the web process (the default: nothing else to run)."""

    name = "pool"

    def __init__(
        self,
        db: Database,
        store: PhotoStore,
        make_detector: Callable[[], Detector] = mediapipe_detector,
    ) -> None:
        self.db = db
        self.store = store
        self._make_detector = make_detector
        self._detector: Detector | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dosemap-photos")
        self.futures: dict[uuid.UUID, Future[str]] = {}

    def _run(self, job_id: uuid.UUID) -> str:
        if self._detector is None:  # built in the pool's only thread, used only there
            self._detector = self._make_detector()
        return run_analysis(self.db, self.store, job_id, self._detector)

    def submit(self, job_id: uuid.UUID) -> None:
        """See :meth:`Runner.submit`."""
        self.futures[job_id] = self._pool.submit(self._run, job_id)

    def close(self) -> None:
        """See :meth:`Runner.close` (waits for the running job)."""
        self._pool.shutdown(wait=True, cancel_futures=True)


class RedisRunner:
    """Enqueues jobs on an rq queue in Redis; ``dosemap worker`` runs them."""

    name = "rq"

    def __init__(self, redis_url: str, queue: str = DEFAULT_QUEUE) -> None:
        from redis import Redis
        from rq import Queue

        self.connection = Redis.from_url(redis_url)
        self.queue = Queue(queue, connection=self.connection)

    def submit(self, job_id: uuid.UUID) -> None:
        """See :meth:`Runner.submit` (only the job's id goes to Redis: no patient data)."""
        self.queue.enqueue(
            "dosemap.services.job_queue.rq_analyse",
            str(job_id),
            job_id=f"photo-{job_id}-{uuid.uuid4().hex[:8]}",
            job_timeout=JOB_TIMEOUT_S,
            result_ttl=RQ_RESULT_TTL_S,
            failure_ttl=RQ_RESULT_TTL_S,
        )

    def close(self) -> None:
        """See :meth:`Runner.close`."""
        self.connection.close()


@dataclass
class WorkerContext:
    """What ``dosemap worker`` holds for its jobs: the database, the photo store, a detector."""

    db: Database
    store: PhotoStore
    detector: Detector


_worker: WorkerContext | None = None


def set_worker_context(context: WorkerContext | None) -> None:
    """Set (or clear) what :func:`rq_analyse` runs against in this process."""
    global _worker
    _worker = context


def rq_analyse(job_id: str) -> str:
    """The rq job: one photo analysis, in a worker that set its context."""
    if _worker is None:
        raise RuntimeError("no worker context: run jobs with `dosemap worker`")
    return run_analysis(_worker.db, _worker.store, uuid.UUID(job_id), _worker.detector)


def make_runner(
    db: Database, store: PhotoStore, *, redis_url: str | None, queue: str = DEFAULT_QUEUE
) -> Runner:
    """The rq runner when Redis is configured, else the in-process pool."""
    if redis_url:
        return RedisRunner(redis_url, queue)
    return InProcessRunner(db, store)


def work(
    redis_url: str, context: WorkerContext, *, queue: str = DEFAULT_QUEUE, burst: bool = False
) -> None:
    """Run an rq worker on ``queue`` in this process (no fork: one detector for every job)."""
    from redis import Redis
    from rq import Queue, SimpleWorker

    set_worker_context(context)
    try:
        connection = Redis.from_url(redis_url)
        worker = SimpleWorker([Queue(queue, connection=connection)], connection=connection)
        worker.work(burst=burst, with_scheduler=False)
    finally:
        set_worker_context(None)
