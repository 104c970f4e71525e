"""Engines and session factories for SQLite (default) and PostgreSQL.

SQLite runs in WAL mode with foreign keys on. Write transactions there start with
``BEGIN IMMEDIATE`` so that two writers queue on the busy timeout instead of failing half-way
when one upgrades its read lock; reads use plain deferred transactions.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from dosemap.config import DATA_DIR_ENV, DATABASE_URL_ENV, normalise_url
from dosemap.persistence.errors import StorageError

SQLITE_BUSY_TIMEOUT_MS = 30_000


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    # Autocommit at the driver level: SQLAlchemy's "begin" hook below emits BEGIN itself.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable against a killed process
    cur.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache: indexes of a big clinic stay hot
    cur.execute("PRAGMA mmap_size=268435456")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; a SQLite file's directory is created on first use."""
    url = normalise_url(url)
    try:
        parsed = make_url(url)
        backend = parsed.get_backend_name()
    except (ArgumentError, ValueError):
        raise StorageError(
            f"{DATABASE_URL_ENV} is not a database URL (allowed: sqlite:///FILE, postgresql://…)"
        ) from None
    if backend not in ("sqlite", "postgresql"):
        raise StorageError(f"{DATABASE_URL_ENV} names {backend} (allowed: sqlite, postgresql)")
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            folder = Path(parsed.database).expanduser().parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageError(
                    f"cannot make the data folder {folder} ({exc.strerror}); check {DATA_DIR_ENV}"
                ) from None
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


@dataclass(frozen=True)
class Database:
    """An engine and its two session factories (reads, writes)."""

    engine: Engine

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> Database:
        """Open (not migrate) the database at ``url``."""
        return cls(create_db_engine(url, **kwargs))

    @property
    def is_sqlite(self) -> bool:
        """True for the embedded back end."""
        return self.engine.dialect.name == "sqlite"

    @property
    def reader(self) -> sessionmaker[Session]:
        """Sessions for queries."""
        return sessionmaker(self.engine, expire_on_commit=False)

    @property
    def writer(self) -> sessionmaker[Session]:
        """Sessions for writes (``BEGIN IMMEDIATE`` on SQLite)."""
        bind = (
            self.engine.execution_options(sqlite_begin="IMMEDIATE")
            if self.is_sqlite
            else self.engine
        )
        return sessionmaker(bind, expire_on_commit=False)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only unit of work; closing it ends the transaction, loaded objects stay usable."""
        with self.reader() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write unit of work: commit on success, roll back on any error."""
        with self.writer() as session, session.begin():
            yield session

    def check_reachable(self) -> None:
        """Connect once; an unreachable or refusing server is one line naming the setting
        (the URL shown without its password)."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except (DBAPIError, OSError) as exc:
            safe = self.engine.url.render_as_string(hide_password=True)
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()
            raise StorageError(
                f"cannot open the database {safe} ({(reason or ['failed'])[0][:160]}); "
                f"check {DATABASE_URL_ENV} / {DATA_DIR_ENV}"
            ) from None

    def current_schema(self) -> str:
        """The PostgreSQL schema this engine's connections use (``pg_dump -n`` names it)."""
        with self.engine.connect() as conn:
            return str(conn.execute(text("SELECT current_schema()")).scalar_one())

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()
