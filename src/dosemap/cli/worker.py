"""``dosemap worker``: run photo analyses from the Redis job queue."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from dosemap.domain.errors import InvalidInputError


def worker(
    burst: Annotated[
        bool, typer.Option(help="Stop when the queue is empty (for scripts and tests).")
    ] = False,
    queue: Annotated[
        str | None, typer.Option(help="Queue name (default: DOSEMAP_JOB_QUEUE or dosemap-photos).")
    ] = None,
) -> None:
    """Run photo analyses from the Redis job queue (DOSEMAP_REDIS_URL) until stopped.

    Settings come from the same DOSEMAP_* variables as `dosemap serve` (database, data
    directory, Redis); run one or more beside the server.
    """
    from dosemap.config import load_settings
    from dosemap.persistence.db import Database
    from dosemap.services.database import require_current_schema
    from dosemap.services.job_queue import DEFAULT_QUEUE, WorkerContext, mediapipe_detector, work
    from dosemap.services.photos import PhotoStore

    redis_url = os.environ.get("DOSEMAP_REDIS_URL", "")
    if not redis_url:
        raise InvalidInputError(
            "DOSEMAP_REDIS_URL", "is not set", "redis://host:6379/0 (the server's job queue)"
        )
    name = queue or os.environ.get("DOSEMAP_JOB_QUEUE") or DEFAULT_QUEUE
    settings = load_settings()
    db = Database.from_url(settings.database_url)
    require_current_schema(db)
    try:
        context = WorkerContext(db, PhotoStore(settings.photos_dir), mediapipe_detector())
        work(redis_url, context, queue=name, burst=burst)
    finally:
        db.dispose()
