"""The access log's writer: every read of a patient's data is committed before it is shown.

Requests hand their entry to :meth:`AccessLogWriter.record` and wait for the returned future;
one thread commits whatever entries are waiting in one transaction (group commit), so under
load a write costs each request a fraction of a transaction instead of one each, and no read
is ever shown unlogged: a failed commit fails every request of its batch.
"""

from __future__ import annotations

import queue
import threading
import uuid
from concurrent.futures import Future
from datetime import datetime

from dosemap.persistence.db import Database
from dosemap.persistence.request_path import AccessEntry, RequestPath
from dosemap.services._common import now

__all__ = ["AccessEntry", "AccessLogWriter"]

_STOP = object()
BATCH_LIMIT = 500


class AccessLogWriter:
    """Commits access-log entries in batches on one background thread."""

    def __init__(self, db: Database) -> None:
        self.path = RequestPath(db)
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _ensure_started(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    thread = threading.Thread(target=self._run, name="access-log", daemon=True)
                    thread.start()
                    self._thread = thread

    def record(
        self,
        *,
        clinic_id: uuid.UUID,
        user_id: uuid.UUID,
        entity: str,
        entity_id: uuid.UUID | str,
        via: str,
        action: str = "read",
        at: datetime | None = None,
    ) -> Future[None]:
        """Queue one read; the future completes when it is committed (or fails with the error)."""
        self._ensure_started()
        done: Future[None] = Future()
        entry = AccessEntry(at or now(), clinic_id, user_id, action, entity, str(entity_id), via)
        self._queue.put((entry, done))
        return done

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            stop = False
            while len(batch) < BATCH_LIMIT:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)
            pairs: list[tuple[AccessEntry, Future[None]]] = batch  # type: ignore[assignment]
            try:
                self.path.append_access([entry for entry, _ in pairs])
            except Exception as exc:  # every waiting request fails: nothing shown unlogged
                for _, done in pairs:
                    done.set_exception(exc)
            else:
                for _, done in pairs:
                    done.set_result(None)
            if stop:
                return

    def close(self) -> None:
        """Finish what is queued, then stop the thread."""
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout=30)
            self._thread = None
        self.path.close()
