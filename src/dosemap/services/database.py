"""Opening the records database for a long-running shell (the web app, a worker)."""

from __future__ import annotations

from dosemap.persistence.db import Database
from dosemap.persistence.migrate import require_current, upgrade


def require_current_schema(db: Database) -> None:
    """Refuse to serve a database whose schema is not the one this version ships."""
    require_current(db.engine)


def upgrade_schema(db: Database) -> None:
    """Bring the schema to this version's head (an empty database is created)."""
    upgrade(db.engine)
