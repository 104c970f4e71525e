"""Settings read from the environment when asked, never at import time.

``DOSEMAP_DATA_DIR``
    Where the embedded database, photos and backups live. Default: the platform's user data
    directory (``platformdirs.user_data_dir("dosemap")``).
``DOSEMAP_AUDIT_CHECKPOINTS``
    Where audit checkpoints are written and read (a folder, or one ``.json`` file). Default:
    ``<data dir>/checkpoints``; a clinic points it somewhere the database's users cannot write.
``DOSEMAP_DATABASE_URL``
    A SQLAlchemy URL. Default: ``sqlite:///<data dir>/dosemap.sqlite3``. Clinic groups point it
    at PostgreSQL (``postgresql+psycopg://user@host/db``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

DATA_DIR_ENV = "DOSEMAP_DATA_DIR"
DATABASE_URL_ENV = "DOSEMAP_DATABASE_URL"
DEFAULT_DB_FILENAME = "dosemap.sqlite3"
CHECKPOINTS_ENV = "DOSEMAP_AUDIT_CHECKPOINTS"


@dataclass(frozen=True)
class Settings:
    """Where dosemap keeps its records."""

    data_dir: Path
    database_url: str
    checkpoints: Path | None = None

    @property
    def photos_dir(self) -> Path:
        """Content-addressed photo files."""
        return self.data_dir / "photos"

    @property
    def backups_dir(self) -> Path:
        """Default place for ``dosemap backup``."""
        return self.data_dir / "backups"

    @property
    def checkpoints_location(self) -> Path:
        """Where audit checkpoints go (``DOSEMAP_AUDIT_CHECKPOINTS``, else the data dir's)."""
        return self.checkpoints or self.data_dir / "checkpoints"


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read the settings from ``environ`` (default: the process environment)."""
    env = os.environ if environ is None else environ
    raw_dir = env.get(DATA_DIR_ENV)
    data_dir = (
        Path(raw_dir).expanduser() if raw_dir else Path(platformdirs.user_data_dir("dosemap"))
    )
    url = env.get(DATABASE_URL_ENV) or f"sqlite:///{data_dir / DEFAULT_DB_FILENAME}"
    raw_cp = env.get(CHECKPOINTS_ENV)
    checkpoints = Path(raw_cp).expanduser() if raw_cp else None
    return Settings(data_dir=data_dir, database_url=normalise_url(url), checkpoints=checkpoints)


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs (SQLAlchemy would pick psycopg2)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
