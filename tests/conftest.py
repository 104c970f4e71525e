"""Suite-wide settings, and fixtures several areas share (test faces, both database back ends)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from dosemap.persistence.db import Database
from support.databases import (
    BACKENDS,
    REQUIRE_PG_ENV,
    MigratedOnce,
    pg_required,
    pg_unavailable_reason,
)
from support.faces import FACES_DIR, face_files
from support.redis_server import (
    REQUIRE_REDIS_ENV,
    redis_required,
    redis_unavailable_reason,
)
from support.redis_server import redis_url as test_redis_url

# The audit chain is keyed (dosemap.persistence.audit_key): tests use a fixed key, never a key file
# in the tester's data directory. Tests of the key itself set their own.
os.environ.setdefault("DOSEMAP_AUDIT_KEY", "test-audit-key-0123456789abcdef")

# Two cores in CI: no per-example deadline (timings belong in benchmarks/), a fixed example budget.
settings.register_profile(
    "dosemap", deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("dosemap")


@pytest.fixture(name="face_files", scope="session")
def _face_files() -> list[Path]:
    """The 24 public-domain test portraits (``tests/data/faces``); missing ones fail the test."""
    return face_files()


@pytest.fixture(scope="session")
def faces_dir(face_files: list[Path]) -> Path:
    """The folder of the test portraits (checked complete)."""
    return FACES_DIR


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Every storage test runs on both back ends. Without a PostgreSQL server its cases skip,
    saying how to enable them; with ``DOSEMAP_REQUIRE_PG=1`` (as in CI) they fail instead."""
    name: str = request.param
    if name == "postgresql":
        request.applymarker(pytest.mark.postgres)
        reason = pg_unavailable_reason()
        if reason and pg_required():
            pytest.fail(f"{REQUIRE_PG_ENV}=1 but {reason}", pytrace=False)
        if reason:
            pytest.skip(f"{reason} (CI sets {REQUIRE_PG_ENV}=1 to make this an error)")
    return name


@pytest.fixture(scope="session")
def migrated_once(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MigratedOnce]:
    """Migrations run once per test process (see :class:`support.databases.MigratedOnce`)."""
    databases = MigratedOnce(tmp_path_factory.mktemp("migrated"))
    yield databases
    databases.close()


@pytest.fixture
def db(backend: str, tmp_path: Path, migrated_once: MigratedOnce) -> Iterator[Database]:
    """A migrated, empty database of ``backend`` (a copied SQLite file; on PostgreSQL this
    process's schema, emptied)."""
    database = migrated_once.sqlite(tmp_path) if backend == "sqlite" else migrated_once.postgresql()
    yield database
    database.dispose()


@pytest.fixture
def redis_url() -> str:
    """The test Redis server's URL. Without a server the test skips, saying how to enable it;
    with ``DOSEMAP_REQUIRE_REDIS=1`` (as in CI) it fails instead."""
    reason = redis_unavailable_reason()
    if reason and redis_required():
        pytest.fail(f"{REQUIRE_REDIS_ENV}=1 but {reason}", pytrace=False)
    if reason:
        pytest.skip(f"{reason} (CI sets {REQUIRE_REDIS_ENV}=1 to make this an error)")
    return test_redis_url()
