"""Throw-away databases for tests and benchmarks, on both back ends.

PostgreSQL comes from ``DOSEMAP_TEST_PG_URL`` (default: the CI server,
``postgresql://postgres@127.0.0.1:5432/test``). Each database is its own schema (one per test
process with :class:`MigratedOnce`), created and dropped around its use, so parallel runs
(``pytest -n 2``) never collide.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

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


class MigratedOnce:
    """Migrate once per test process, then hand each test an empty database cheaply.

    SQLite: a migrated template file is copied for each test. PostgreSQL: one schema per
    process is migrated once; before each test its tables are truncated and the rows the
    migrations put in (the audit head) are put back. Either way each test starts from exactly
    the state ``alembic upgrade head`` leaves, without re-running the migrations.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._template: Path | None = None
        self._schema: str | None = None
        self._cleanup = ExitStack()
        self._seed: list[tuple[str, list[dict[str, Any]]]] = []

    def sqlite(self, directory: Path) -> Database:
        if self._template is None:
            template = self.directory / "template.sqlite3"
            db = Database.from_url(f"sqlite:///{template}")
            upgrade(db.engine)
            db.dispose()  # the last connection's close folds the WAL into the file
            self._template = template
        copy = directory / f"{uuid.uuid4().hex[:8]}.sqlite3"
        shutil.copyfile(self._template, copy)
        return Database.from_url(f"sqlite:///{copy}")

    def postgresql(self) -> Database:
        if self._schema is None:
            self._schema = name = self._cleanup.enter_context(pg_schema())
            db = Database.from_url(pg_schema_url(name))
            upgrade(db.engine)
            with db.read() as s:
                self._seed = [
                    (table, [dict(r._mapping) for r in s.execute(text(f'SELECT * FROM "{table}"'))])
                    for table in self._tables(s)
                ]
            db.dispose()
        db = Database.from_url(pg_schema_url(self._schema))
        with db.write() as s:
            tables = ", ".join(f'"{table}"' for table, _ in self._seed)
            s.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            for table, rows in self._seed:
                for row in rows:
                    columns = ", ".join(f'"{c}"' for c in row)
                    values = ", ".join(f":{c}" for c in row)
                    s.execute(text(f'INSERT INTO "{table}" ({columns}) VALUES ({values})'), row)
        return db

    @staticmethod
    def _tables(s: Session) -> list[str]:
        """The schema's tables, but not Alembic's record of the revision."""
        names = s.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        ).scalars()
        return sorted(n for n in names if n != "alembic_version")

    def close(self) -> None:
        """Drop the schema, if one was made."""
        self._cleanup.close()
