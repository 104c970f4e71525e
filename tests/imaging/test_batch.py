"""Batch analysis: the same rows, in the same order, however many processes do the work."""

from __future__ import annotations

import concurrent.futures as cf
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from dosemap.imaging import batch
from dosemap.imaging.batch import Row, analyze_one, analyze_photos
from dosemap.imaging.landmarks import Detector


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory, face_files: list[Path]) -> list[Path]:
    """Six real faces and a broken file among them, not in name or size order."""
    broken = tmp_path_factory.mktemp("batch") / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 this is not a JPEG")
    faces = face_files[:6]
    return [faces[3], faces[0], broken, faces[5], faces[1], faces[4], faces[2]]


def run(paths: list[Path], workers: int) -> tuple[list[dict[str, object]], list[str]]:
    progressed: list[str] = []
    rows = list(analyze_photos(paths, workers=workers, progress=lambda r: progressed.append(
        str(r["file"]))))  # fmt: skip
    return rows, progressed


@pytest.fixture(scope="module")
def one_worker(photos: list[Path]) -> tuple[list[dict[str, object]], list[str]]:
    return run(photos, 1)


@pytest.mark.parametrize("workers", [2, 3])
def test_rows_do_not_depend_on_the_number_of_workers(photos, one_worker, workers):
    rows, _ = run(photos, workers)
    assert [r["file"] for r in rows] == [p.name for p in photos]
    assert rows == one_worker[0]


def test_a_broken_photo_is_an_error_row_and_the_others_are_analysed(photos):
    rows, _ = run(photos, 2)
    by_file = {r["file"]: r for r in rows}
    assert by_file["broken.jpg"]["status"] == "error"
    assert by_file["broken.jpg"]["error_code"]
    assert [r["status"] for r in rows if r["file"] != "broken.jpg"] == ["ok"] * 6
    assert all("flags" in r for r in rows if r["status"] == "ok")  # quality and skin measured


@pytest.mark.parametrize("workers", [1, 2])
def test_progress_is_called_once_per_photo(photos, workers):
    rows, progressed = run(photos, workers)
    assert sorted(progressed) == sorted(p.name for p in photos)
    assert len(rows) == len(photos)


def test_stopping_early_ends_the_run(photos):
    rows = analyze_photos(photos, workers=2)
    first = next(rows)
    rows.close()  # must not hang or leave work behind
    assert first["file"] == photos[0].name


class _WatchedPool(cf.ProcessPoolExecutor):
    """The batch's pool, telling ``pool_row`` when a worker has returned a photo's row."""

    pool_row = threading.Event()

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
        future = super().submit(fn, *args, **kwargs)
        future.add_done_callback(
            lambda f: (
                not f.cancelled()
                and f.exception() is None
                and isinstance(f.result(), dict)
                and self.pool_row.set()
            )
        )
        return future


def test_this_process_and_the_pool_share_the_photos(face_files, photos, monkeypatch):
    """The parent analyses photos too. Here its first photo waits until the pool's worker has
    returned a row, so both take a share however slowly the worker starts. Each photo is
    analysed once, and the rows are those of one process."""
    paths = [*face_files, photos[2]]  # every test face and the broken file
    expected, _ = run(paths, 1)
    in_parent: list[str] = []
    pool_row = threading.Event()

    def waiting_analyze_one(path: Path, detector: Detector, *, metrics: bool = True) -> Row:
        if not in_parent:
            assert pool_row.wait(timeout=300), "the pool's worker never returned a row"
        in_parent.append(path.name)
        return analyze_one(path, detector, metrics=metrics)

    monkeypatch.setattr(_WatchedPool, "pool_row", pool_row)
    monkeypatch.setattr(cf, "ProcessPoolExecutor", _WatchedPool)
    monkeypatch.setattr(batch, "analyze_one", waiting_analyze_one)  # in this process only
    rows, progressed = run(paths, 2)
    assert rows == expected
    assert sorted(progressed) == sorted(p.name for p in paths)
    assert 0 < len(in_parent) < len(paths)


def test_workers_are_forked_only_where_that_is_safe(monkeypatch):
    if not sys.platform.startswith("linux"):
        pytest.skip("workers are forked on Linux only")
    monkeypatch.setattr(batch, "mediapipe_graph_built", lambda: False)
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    assert batch.start_method() == "fork"
    monkeypatch.setattr(threading, "active_count", lambda: 2)  # e.g. a progress bar's thread
    assert batch.start_method() == "spawn"
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    monkeypatch.setattr(batch, "mediapipe_graph_built", lambda: True)
    assert batch.start_method() == "spawn"
    monkeypatch.setattr(batch, "mediapipe_graph_built", lambda: False)
    monkeypatch.setattr(sys, "platform", "darwin")
    assert batch.start_method() == "spawn"


# Run in a fresh interpreter: this test process has built MediaPipe graphs, so it spawns.
# The parent's first photo waits until a forked worker has returned a row (see above).
_FORKED_RUN = """
import concurrent.futures as cf, json, os, sys, threading
from pathlib import Path
from dosemap.imaging import batch

analyze_one = batch.analyze_one
pool_row = threading.Event()
waited = []

def tagged(path, detector, *, metrics=True):  # forked workers inherit this too
    if os.getpid() == parent and not waited:
        waited.append(pool_row.wait(timeout=300))
    return {**analyze_one(path, detector, metrics=metrics), "pid": os.getpid()}

class WatchedPool(cf.ProcessPoolExecutor):
    def submit(self, fn, /, *args, **kwargs):
        future = super().submit(fn, *args, **kwargs)
        future.add_done_callback(lambda f: not f.cancelled() and f.exception() is None
                                 and isinstance(f.result(), dict) and pool_row.set())
        return future

parent = os.getpid()
batch.analyze_one = tagged
cf.ProcessPoolExecutor = WatchedPool
method = batch.start_method()
rows = list(batch.analyze_photos([Path(p) for p in sys.argv[1:]], workers=2))
print(json.dumps({"method": method, "parent": parent, "waited": waited, "rows": rows}))
"""


def test_forked_workers_give_the_same_rows(photos, one_worker):
    if not sys.platform.startswith("linux"):
        pytest.skip("workers are forked on Linux only")
    done = subprocess.run(
        [sys.executable, "-c", _FORKED_RUN, *map(str, photos)],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["method"] == "fork"
    assert result["waited"] == [True], "the forked worker never returned a row"
    pids = {row.pop("pid") for row in result["rows"]}
    assert len(pids) == 2 and result["parent"] in pids  # both processes analysed photos
    assert result["rows"] == json.loads(json.dumps(one_worker[0]))
