"""Web tests run on both back ends, over a world of two clinics (``support.web``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from dosemap.persistence.db import Database
from dosemap.services import accounts
from dosemap.services.signin import RedisSessionStore
from dosemap.web.app import close_app
from support.browser import LiveApp, chromium, live_app
from support.web import WebWorld, build_web_world


@pytest.fixture(autouse=True)
def cheap_password_hashes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """argon2id at its smallest cost: the tests make dozens of accounts, and the cost
    parameters are not what they test (``test_accounts.py`` checks the real ones)."""
    monkeypatch.setattr(
        accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )
    yield


@pytest.fixture
def world(db: Database, tmp_path: Path) -> Iterator[WebWorld]:
    """The app over a fresh database with clinics A and B and a login per role in each."""
    built = build_web_world(db, tmp_path)
    yield built
    # The test clients run no lifespan: close what the app holds outside the engine's pool
    # (otherwise each test leaves PostgreSQL connections open until a garbage collection).
    close_app(built.app)


@pytest.fixture(params=["database", "redis"])
def session_store(request: pytest.FixtureRequest, world: WebWorld) -> Iterator[str]:
    """Run a test with the app's sessions in the database, then in the real Redis (a missing
    server fails with ``DOSEMAP_REQUIRE_REDIS=1``); ``WebWorld.client`` signs in to it."""
    kind: str = request.param
    if kind == "database":
        yield kind
        return
    url: str = request.getfixturevalue("redis_url")
    prefix = f"dosemap-test:{uuid.uuid4().hex}:"
    redis_store = RedisSessionStore(url, world.db, prefix=prefix)
    state = world.app.state.dosemap
    state.sessions, database_store = redis_store, state.sessions
    try:
        yield kind
    finally:
        state.sessions = database_store
        keys = list(redis_store.client.scan_iter(match=prefix + "*"))
        if keys:
            redis_store.client.delete(*keys)
        redis_store.close()


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveApp]:
    """The app served by uvicorn on a free port over a fresh SQLite database (browser tests)."""
    with live_app(tmp_path) as app:
        yield app


@pytest.fixture
def browser() -> Iterator[Any]:
    """Debian's Chromium through Playwright (a missing one fails the test)."""
    with chromium() as b:
        yield b
