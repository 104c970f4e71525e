"""Batch photo analysis over a folder, on all cores.

With N workers this process analyses photos itself and N - 1 pool processes help, all taking
the next photo from one queue. A spawned worker needs about half a second to start (importing
MediaPipe's face mesh, OpenCV and scikit-image), so the parent starts at once and the pool joins
in when its workers are up; no core waits for another's start-up.

Each process builds its own MediaPipe detector once (a FaceMesh graph is neither picklable nor
thread-safe) and pins OpenCV to one thread; MediaPipe's inference runs on one thread too, so N
processes use N cores without oversubscription. A photo that fails becomes an error row; the run
goes on.

Workers are forked where that is safe (:func:`start_method`): a forked worker inherits the
imports and is ready in about 0.1 s instead of the ~0.5 s a spawned one needs. The pool is the
standard library's :class:`concurrent.futures.ProcessPoolExecutor`; :func:`start_method` is the
one place the start method is chosen.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import queue
import sys
import threading
import warnings
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path

import cv2

from dosemap.imaging.errors import PhotoError
from dosemap.imaging.intake import read_photo
from dosemap.imaging.landmarks import (
    Detector,
    MediaPipeDetector,
    mediapipe_graph_built,
    mediapipe_solution,
    native_stderr_silenced,
)
from dosemap.imaging.quality import inspect_photo
from dosemap.imaging.skin import measure_skin

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".heic", ".heif")

Row = dict[str, object]

_QUEUED_PER_WORKER = 2  # one photo running, one waiting: a worker never waits for the next

_worker_detector: MediaPipeDetector | None = None


def find_photos(folder: Path) -> list[Path]:
    """Photo files directly in ``folder`` (by suffix, any case), sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)


def analyze_one(path: Path, detector: Detector, *, metrics: bool = True) -> Row:
    """Intake, landmarks, quality and skin metrics of one photo as one flat row.

    Never raises for a bad photo: the row's ``status`` is ``"error"`` with the code and message.
    """
    row: Row = {"file": path.name, "status": "ok", "error_code": "", "error": "", "notes": ""}
    try:
        analysis = inspect_photo(read_photo(path), detector)
        row["notes"] = "; ".join(analysis.photo.notes)
        row.update(analysis.quality.as_dict())
        if metrics:
            report = measure_skin(analysis)
            row.update(report.as_dict())
    except PhotoError as exc:
        row.update(status="error", error_code=exc.code, error=str(exc))
    except Exception as exc:
        row.update(status="error", error_code="internal", error=f"{type(exc).__name__}: {exc}")
    return row


def _init_worker() -> None:
    global _worker_detector
    cv2.setNumThreads(1)
    # A worker's stderr carries only MediaPipe's native chatter: errors travel back as rows.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    _worker_detector = MediaPipeDetector(quiet=False)


def _ready() -> None:
    """A no-op task: its completion tells the parent a worker has finished starting."""


def _work(path: Path, metrics: bool) -> Row:
    assert _worker_detector is not None, "worker initialiser did not run"
    return analyze_one(path, _worker_detector, metrics=metrics)


def start_method() -> str:
    """``"fork"`` where it is safe, else ``"spawn"`` (which works everywhere, only slower).

    Forking is safe on Linux (macOS system libraries such as Accelerate are not fork-safe), in
    a process that runs no other Python thread (a lock held by one at the fork would stay held
    in the child) and that has not yet built a MediaPipe graph: a child forked after that
    crashes building its own. So a command-line batch forks; a long-running process that has
    analysed photos itself spawns.
    """
    if (
        sys.platform.startswith("linux")
        and "fork" in multiprocessing.get_all_start_methods()
        and threading.active_count() == 1
        and not mediapipe_graph_built()
    ):
        return "fork"
    return "spawn"


def default_workers() -> int:
    """All the cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def analyze_photos(
    paths: Sequence[Path],
    *,
    workers: int | None = None,
    metrics: bool = True,
    progress: Callable[[Row], None] | None = None,
) -> Iterator[Row]:
    """Analyse photos, yielding one row per photo in the order of ``paths``.

    Parameters
    ----------
    workers
        Processes to use, this one included; ``None`` uses every core, 1 runs in this process
        only.
    progress
        Called with each row as soon as it is done (in completion order), e.g. to advance a bar;
        with workers, once this process has finished its own photo of the moment.
    """
    workers = workers or default_workers()
    if workers <= 1 or len(paths) <= 1:
        with native_stderr_silenced(True), MediaPipeDetector(quiet=False) as detector:
            for path in paths:
                row = analyze_one(path, detector, metrics=metrics)
                if progress:
                    progress(row)
                yield row
        return
    yield from _analyze_shared(paths, min(workers, len(paths)), metrics, progress)


def _largest_first(paths: Sequence[Path]) -> list[int]:
    """Indices of ``paths``, biggest file first: the last photos to finish are then small ones,
    so the processes finish together instead of one waiting for another's 12 MP photo."""

    def size(index: int) -> int:
        try:
            return paths[index].stat().st_size
        except OSError:  # analyze_one reports it
            return 0

    return sorted(range(len(paths)), key=size, reverse=True)


def _error_row(path: Path, exc: BaseException) -> Row:
    return {"file": path.name, "status": "error", "error_code": "internal",
            "error": f"{type(exc).__name__}: {exc}"}  # fmt: skip


def _analyze_shared(
    paths: Sequence[Path],
    workers: int,
    metrics: bool,
    progress: Callable[[Row], None] | None,
) -> Iterator[Row]:
    """This process and ``workers - 1`` pool processes draw photos from one queue."""
    todo = deque(_largest_first(paths))  # popleft/appendleft are atomic: safe across threads
    # Rows from the pool, or None when the pool handed a photo back (see ``feed``).
    finished: queue.SimpleQueue[tuple[int, Row] | None] = queue.SimpleQueue()
    helpers = workers - 1
    method = start_method()
    if method == "fork":
        mediapipe_solution("face_mesh")  # imported once, here: forked workers inherit it
    pool = cf.ProcessPoolExecutor(
        max_workers=helpers,
        mp_context=multiprocessing.get_context(method),
        initializer=_init_worker,
    )

    # ``feed`` and ``collect`` run in the pool's manager thread (future callbacks).
    def feed() -> None:
        try:
            index = todo.popleft()
        except IndexError:
            return
        try:
            future = pool.submit(_work, paths[index], metrics)
        except (cf.BrokenExecutor, RuntimeError):  # pool broken or shut down: the parent does it
            todo.appendleft(index)
            finished.put(None)
            return
        future.add_done_callback(partial(collect, index))

    def collect(index: int, future: cf.Future[Row]) -> None:
        try:
            row = future.result()
        except Exception as exc:  # a crashed worker or a row that could not be pickled
            row = _error_row(paths[index], exc)
        finished.put((index, row))
        feed()

    def started(future: cf.Future[None]) -> None:
        # A failed start means a broken pool (or we are shutting down): the parent does it all.
        if not future.cancelled() and future.exception() is None:
            for _ in range(_QUEUED_PER_WORKER):
                feed()

    # Photos go to a worker only once it is up; until then the parent has them all to itself,
    # so a small batch never waits for a worker's start-up.
    with warnings.catch_warnings():
        # Python 3.12+ warns on any fork from a multi-threaded process. The only other threads
        # here are NumPy's OpenBLAS pool, idle, whose pthread_atfork handlers make forking safe;
        # Python threads and MediaPipe graphs were ruled out by ``start_method``.
        warnings.filterwarnings(
            "ignore", r".*use of fork\(\) may lead to deadlocks", DeprecationWarning
        )
        for _ in range(helpers):  # with fork, the first submit forks every worker
            pool.submit(_ready).add_done_callback(started)
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)  # the parent's core is one of the N
    done: dict[int, Row] = {}  # rows not yet yielded
    received = next_out = 0
    try:
        with native_stderr_silenced(True), MediaPipeDetector(quiet=False) as detector:
            while received < len(paths):
                try:
                    index = todo.popleft()
                except IndexError:  # all handed out: wait for the pool's rows
                    item = finished.get()
                else:
                    item = (index, analyze_one(paths[index], detector, metrics=metrics))
                while item is not None:
                    done[item[0]] = item[1]
                    received += 1
                    if progress:
                        progress(item[1])
                    try:
                        item = finished.get_nowait()
                    except queue.Empty:
                        item = None
                while next_out in done:
                    yield done.pop(next_out)
                    next_out += 1
    finally:
        todo.clear()  # also when the caller stops early: hand the pool nothing more
        # Every row is in: let the workers wind down (a spawned process tears down its
        # interpreter and MediaPipe graph, ~0.2 s) without keeping the caller waiting.
        pool.shutdown(wait=False, cancel_futures=True)
        cv2.setNumThreads(threads)
