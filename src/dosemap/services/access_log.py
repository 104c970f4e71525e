"""The access log's writer: every read of a patient's data is committed before it is shown.

A request awaits :meth:`AccessLogWriter.log`, which returns once its entry is committed (or
raises the commit's error: the page is then not sent, nothing is shown unlogged). Entries are
committed in groups (group commit), so under load a request pays a fraction of a transaction:

- On SQLite the event loop commits them itself: the entries of every request that reached
  ``log`` in one turn of the loop go in one transaction at the start of the next turn, on a
  connection that never waits (no lock wait, no checkpoint's fsync; ~0.2 ms for a batch).
  Handing each batch to a thread instead cost two thread switches and the GIL ping-pong
  between them, which on a busy two-core machine halved the Patient page's throughput.
- When that connection finds the write lock taken (another writer: a clinical write, the
  other worker process), and always on PostgreSQL (a network round trip would stall the
  loop), the batch goes to the writer thread, which waits for the lock as any writer does and
  wakes each waiting loop once per batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from dosemap.persistence.db import Database
from dosemap.persistence.request_path import AccessEntry, RequestPath
from dosemap.services._common import now

__all__ = ["AccessEntry", "AccessLogWriter"]

BATCH_LIMIT = 500
#: The loop's connection does not checkpoint; the writer thread does, every this many batches.
CHECKPOINT_EVERY = 200

#: The entries of one request (committed together, never split across transactions) and the
#: future it awaits.
_Waiting = tuple[tuple[AccessEntry, ...], "asyncio.Future[None]"]


def _settle(waiting: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for done in waiting:
        if done.done():  # the request was cancelled (client gone); its entry is written anyway
            continue
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)


class AccessLogWriter:
    """Group-commits access-log entries: on the event loop when it need not wait, else on
    one background thread."""

    def __init__(self, db: Database, path: RequestPath | None = None) -> None:
        # Sharing the session store's request path keeps the session look-up on the
        # connection these commits are made on (see ``RequestPath._fetchone``).
        self.path = path or RequestPath(db)
        self._here: dict[asyncio.AbstractEventLoop, list[_Waiting]] = {}
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self._queue: list[tuple[asyncio.AbstractEventLoop, _Waiting]] = []
        self._thread: threading.Thread | None = None
        self._closing = False
        self._batches = 0
        self._checkpoint_due = False

    async def log(
        self,
        *,
        clinic_id: uuid.UUID,
        user_id: uuid.UUID,
        entity: str,
        entity_id: uuid.UUID | str,
        via: str,
        action: str = "read",
        at: datetime | None = None,
    ) -> None:
        """Write one read to the access log; returns once it is committed."""
        entry = AccessEntry(at or now(), clinic_id, user_id, action, entity, str(entity_id), via)
        await self._enqueue((entry,))

    async def log_many(
        self,
        *,
        clinic_id: uuid.UUID,
        user_id: uuid.UUID,
        entity: str,
        entity_ids: Iterable[uuid.UUID | str],
        via: str,
        action: str = "read",
        at: datetime | None = None,
    ) -> None:
        """Write one read per record listed (each once) — a list of several patients, such
        as a search's results — in the same transaction, grouped with other requests' like a
        single read; returns once they are committed. Nothing listed: nothing written."""
        stamp = at or now()
        entries = tuple(
            AccessEntry(stamp, clinic_id, user_id, action, entity, entity_id, via)
            for entity_id in dict.fromkeys(str(e) for e in entity_ids)
        )
        if entries:
            await self._enqueue(entries)

    async def _enqueue(self, entries: tuple[AccessEntry, ...]) -> None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        batch = self._here.get(loop)
        if batch is None:  # the first of this turn: commit at the next one
            batch = self._here[loop] = []
            loop.call_soon(self._commit_here, loop)
        batch.append((entries, done))
        await done

    def _commit_here(self, loop: asyncio.AbstractEventLoop) -> None:
        batch = self._here.pop(loop, [])
        if not batch:
            return
        if self.path.try_append_access([e for entries, _ in batch for e in entries]):
            _settle([done for _, done in batch], None)
            self._batches += 1
            if self._batches % CHECKPOINT_EVERY == 0:
                self._to_thread([], checkpoint=True)
        else:
            self._to_thread([(loop, item) for item in batch])

    def _to_thread(
        self, items: list[tuple[asyncio.AbstractEventLoop, _Waiting]], *, checkpoint: bool = False
    ) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="access-log", daemon=True)
                self._thread.start()
            self._queue += items
            self._checkpoint_due |= checkpoint
            self._ready.notify()

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._queue and not self._checkpoint_due and not self._closing:
                    self._ready.wait()
                checkpoint, self._checkpoint_due = self._checkpoint_due, False
                if not self._queue and not checkpoint:  # closing, everything committed
                    self._thread = None  # under the lock: a later batch starts a new one
                    return
                batch = self._queue[:BATCH_LIMIT]
                del self._queue[:BATCH_LIMIT]
            if checkpoint:
                with contextlib.suppress(Exception):  # SQLite checkpoints by itself later
                    self.path.checkpoint()
            if batch:
                self._commit(batch)

    def _commit(self, batch: list[tuple[asyncio.AbstractEventLoop, _Waiting]]) -> None:
        error: BaseException | None = None
        try:
            self.path.append_access([e for _, (entries, _) in batch for e in entries])
        except Exception as exc:  # every waiting request fails: nothing shown unlogged
            error = exc
        by_loop: defaultdict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]]
        by_loop = defaultdict(list)
        for loop, (_, done) in batch:
            by_loop[loop].append(done)
        for loop, waiting in by_loop.items():
            # A closed loop (RuntimeError) has nobody waiting any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, waiting, error)

    def close(self) -> None:
        """Commit what the thread has queued, then stop it (a later batch starts it again);
        close the connections. Batches on a loop are committed in the loop's next turn."""
        with self._lock:
            thread = self._thread
            self._closing = True
            self._ready.notify()
        if thread is not None:
            thread.join(timeout=30)
        with self._lock:
            self._closing = False
        self.path.close()
