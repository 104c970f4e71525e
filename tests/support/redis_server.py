"""The Redis server tests use (``DOSEMAP_TEST_REDIS_URL``, default the CI server at
127.0.0.1:6379). Without it the Redis tests skip, saying how to run them; with
``DOSEMAP_REQUIRE_REDIS=1`` (as in CI) they fail instead — the same rule as PostgreSQL's."""

from __future__ import annotations

import os
from functools import cache

REDIS_URL_ENV = "DOSEMAP_TEST_REDIS_URL"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
REQUIRE_REDIS_ENV = "DOSEMAP_REQUIRE_REDIS"


def redis_url() -> str:
    """The Redis server tests use."""
    return os.environ.get(REDIS_URL_ENV, DEFAULT_REDIS_URL)


def redis_required() -> bool:
    """True when a missing Redis server must fail the run (``DOSEMAP_REQUIRE_REDIS=1``)."""
    return os.environ.get(REQUIRE_REDIS_ENV, "") not in ("", "0")


@cache
def redis_unavailable_reason() -> str | None:
    """``None`` when the test server answers PING, else why not and how to enable it."""
    from redis import Redis

    url = redis_url()
    try:
        client = Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
        client.ping()
        client.close()
    except Exception as exc:  # any failure means: skip (or fail in CI), saying why
        return (
            f"Redis not reachable at {url} ({type(exc).__name__}); start redis-server or set "
            f"{REDIS_URL_ENV}=redis://host:port/db to run the Redis tests"
        )
    return None
