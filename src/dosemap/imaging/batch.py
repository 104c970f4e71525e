"""Batch photo analysis over a folder, on all cores.

Each worker process builds its own MediaPipe detector once (a FaceMesh graph is neither
picklable nor thread-safe) and pins OpenCV to one thread, so N processes use N cores without
oversubscription. Workers are started with ``spawn``, which is safe with MediaPipe's threads and
works the same on Linux, macOS and Windows. A photo that fails becomes an error row; the run
goes on.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import cv2

from dosemap.imaging.errors import PhotoError
from dosemap.imaging.intake import read_photo
from dosemap.imaging.landmarks import Detector, MediaPipeDetector, native_stderr_silenced
from dosemap.imaging.quality import inspect_photo
from dosemap.imaging.skin import measure_skin

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".heic", ".heif")

Row = dict[str, object]

_worker_detector: MediaPipeDetector | None = None


def find_photos(folder: Path) -> list[Path]:
    """Photo files directly in ``folder`` (by suffix, any case), sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)


def analyze_one(path: Path, detector: Detector, *, metrics: bool = True) -> Row:
    """Intake, landmarks, quality and skin metrics of one photo as one flat row.

    Never raises for a bad photo: the row's ``status`` is ``"error"`` with the code and message.
    """
    row: Row = {"file": path.name, "status": "ok", "error_code": "", "error": ""}
    try:
        analysis = inspect_photo(read_photo(path), detector)
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


def _work(path: Path, metrics: bool) -> Row:
    assert _worker_detector is not None, "worker initialiser did not run"
    return analyze_one(path, _worker_detector, metrics=metrics)


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
        Processes to use; ``None`` uses every core, 1 runs in this process.
    progress
        Called with each row as soon as it is done (in completion order), e.g. to advance a bar.
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
    context = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(
        max_workers=min(workers, len(paths)), mp_context=context, initializer=_init_worker
    ) as pool:
        futures = {pool.submit(_work, path, metrics): i for i, path in enumerate(paths)}
        done: dict[int, Row] = {}
        for future in cf.as_completed(futures):
            index = futures[future]
            try:
                row = future.result()
            except Exception as exc:
                row = {"file": paths[index].name, "status": "error", "error_code": "internal",
                       "error": f"{type(exc).__name__}: {exc}"}  # fmt: skip
            done[index] = row
            if progress:
                progress(row)
        for index in range(len(paths)):
            yield done[index]
