"""access tokens: scopes as text (every permission's name, space-separated, outgrew 200 chars)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A token scoped to every permission listed 24 names (~430 characters) and PostgreSQL
    # refused it; SQLite does not enforce lengths, so only one back end showed it.
    with op.batch_alter_table("access_tokens") as batch:
        batch.alter_column(
            "scopes", existing_type=sa.String(length=200), type_=sa.Text(), existing_nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("access_tokens") as batch:
        batch.alter_column(
            "scopes", existing_type=sa.Text(), type_=sa.String(length=200), existing_nullable=False
        )
