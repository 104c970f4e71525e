"""follow-ups: when the patient was contacted about a follow-up, by whom, and a short note

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 08:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dosemap.persistence.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("contacted_at", dosemap.persistence.types.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("contacted_by", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("contact_note", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.drop_column("contact_note")
        batch_op.drop_column("contacted_by")
        batch_op.drop_column("contacted_at")
