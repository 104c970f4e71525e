"""access log: drop the (entity, entity_id) index; the log keeps (clinic_id, at)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 19:30:00

Every read of a patient (and every row of a list or search) inserts an access-log row, and each
index is written with it: on SQLite this index took ~40% of a ten-row batch's commit (a page
per patient listed). It served only the Audit page's filter when both the entity type and the
record id are given; the same filter without the type — and ``clinic_day.access_log`` for one
record — already walked the (clinic_id, at) index newest first, as every filter now does
(~0.5 s per million entries of the clinic, measured on SQLite, when few match).
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Not in a batch: on SQLite a batch may copy the table; DROP INDEX alone is instant.
    op.drop_index("ix_access_log_entity_entity_id", table_name="access_log")


def downgrade() -> None:
    op.create_index("ix_access_log_entity_entity_id", "access_log", ["entity", "entity_id"])
