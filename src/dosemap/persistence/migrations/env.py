"""Alembic environment for dosemap's own migrations (shipped inside the package).

Run through :func:`dosemap.persistence.migrate.upgrade`, which hands over a live connection in
``config.attributes["connection"]``; there is no alembic.ini.
"""

from __future__ import annotations

from alembic import context

from dosemap.persistence.models import Base

config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
