"""web accounts: the last TOTP time step accepted, so that a code is accepted once

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 11:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A code seen over a shoulder or in a proxy's log could otherwise be used again within its
    # 30 s window (RFC 6238 §5.2: accept each time step at most once).
    with op.batch_alter_table("user_accounts") as batch:
        batch.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("user_accounts") as batch:
        batch.drop_column("totp_last_step")
