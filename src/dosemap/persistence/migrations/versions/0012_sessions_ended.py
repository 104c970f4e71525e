"""user_accounts.sessions_ended: every session of a login ended, in Redis too

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user_accounts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sessions_ended", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("user_accounts", schema=None) as batch_op:
        batch_op.drop_column("sessions_ended")
