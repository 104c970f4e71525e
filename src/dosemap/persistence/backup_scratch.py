"""Scratch databases a restore is verified in before it touches the live one."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text

from dosemap.persistence.db import Database
from dosemap.persistence.errors import StorageError


def pg_command_env(db: Database, database: str | None = None) -> tuple[str, str, dict[str, str]]:
    """libpq URL (of ``database`` on the same server, if given) without the password (it goes
    in the environment), the current schema, and the environment for the client tools."""
    url = db.engine.url
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    target = url.set(drivername="postgresql", password=None)
    if database is not None:
        target = target.set(database=database)
    return target.render_as_string(hide_password=False), db.current_schema(), env


@contextmanager
def pg_scratch_database(db: Database) -> Iterator[tuple[Database, str]]:
    """A new, empty database on ``db``'s server (same role, same ``search_path``), dropped when
    the block ends; yields it and its libpq URL."""
    name = f"dosemap_restore_{uuid.uuid4().hex[:12]}"
    admin = create_engine(db.engine.url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # no CREATEDB right: say so rather than touch the live database
        admin.dispose()
        raise StorageError(
            "restore needs a scratch database on the server (CREATE DATABASE refused: "
            f"{type(exc).__name__}); grant CREATEDB to the dosemap role"
        ) from None
    scratch = Database.from_url(
        db.engine.url.set(database=name).render_as_string(hide_password=False)
    )
    try:
        yield scratch, pg_command_env(db, name)[0]
    finally:
        scratch.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
