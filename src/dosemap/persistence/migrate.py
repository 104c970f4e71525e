"""Schema migrations: ``dosemap db upgrade`` and the check that a database is current."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from dosemap.persistence.errors import StorageError


def _config() -> Config:
    # The migrations are package data; an installed wheel carries them (pyproject package-data).
    location = resources.files("dosemap.persistence").joinpath("migrations")
    cfg = Config()
    cfg.set_main_option("script_location", str(location))
    return cfg


def head_revision() -> str:
    """The newest migration shipped with this version of dosemap."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (``None`` for an empty database)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> str:
    """Bring the schema to ``revision``; returns the revision reached."""
    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    reached = current_revision(engine)
    assert reached is not None
    return reached


def require_current(engine: Engine) -> None:
    """Raise :class:`StorageError` unless the schema is at the shipped head."""
    found = current_revision(engine)
    if found != head_revision():
        raise StorageError(
            f"database schema is at {found or 'nothing'}, expected {head_revision()}: "
            "run `dosemap db upgrade`"
        )
