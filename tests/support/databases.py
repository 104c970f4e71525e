"""Throw-away databases for tests and benchmarks, on both back ends.

PostgreSQL comes from ``DOSEMAP_TEST_PG_URL`` (default: the CI server,
``postgresql://postgres@127.0.0.1:5432/test``). Each database is its own schema, created and
dropped around its use, so parallel runs (``pytest -n 2``) never collide.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from dosemap.config import normalise_url
from dosemap.persistence.db import Database
from dosemap.persistence.migrate import upgrade

PG_URL_ENV = "DOSEMAP_TEST_PG_URL"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
BACKENDS = ("sqlite", "postgresql")
REQUIRE_PG_ENV = "DOSEMAP_REQUIRE_PG"


def pg_required() -> bool:
    """True when a missing PostgreSQL server must fail the run (``DOSEMAP_REQUIRE_PG=1``)."""
    return os.environ.get(REQUIRE_PG_ENV, "") not in ("", "0")


def pg_base_url() -> str:
    """The PostgreSQL server tests use."""
    return normalise_url(os.environ.get(PG_URL_ENV, DEFAULT_PG_URL))


@cache
def pg_unavailable_reason() -> str | None:
    """``None`` when the test server answers, else why not and how to enable it."""
    url = pg_base_url()
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # any failure means: skip, saying why
        safe = make_url(url).render_as_string(hide_password=True)
        return (
            f"PostgreSQL not reachable at {safe} ({type(exc).__name__}); start a server or set "
            f"{PG_URL_ENV}=postgresql://user@host:port/db to run the PostgreSQL tests"
        )
    return None


def pg_schema_url(schema: str) -> str:
    """The test server's URL with ``search_path`` set to ``schema``."""
    return (
        make_url(pg_base_url())
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )


@contextmanager
def pg_schema() -> Iterator[str]:
    """Create a uniquely named schema on the test server; drop it afterwards."""
    name = f"dm_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_base_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    try:
        yield name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        admin.dispose()


@contextmanager
def temporary_database(
    backend: str, directory: Path, *, migrate: bool = True
) -> Iterator[Database]:
    """A fresh, migrated database on ``backend`` (SQLite file in ``directory``, or PostgreSQL)."""
    if backend == "sqlite":
        db = Database.from_url(f"sqlite:///{directory / f'{uuid.uuid4().hex[:8]}.sqlite3'}")
        try:
            if migrate:
                upgrade(db.engine)
            yield db
        finally:
            db.dispose()
        return
    with pg_schema() as schema:
        db = Database.from_url(pg_schema_url(schema))
        try:
            if migrate:
                upgrade(db.engine)
            yield db
        finally:
            db.dispose()
