"""keyed audit chain: per-field digests, signed content hash, key id

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 07:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    json_type = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("after_fields", json_type, nullable=True))
        batch.add_column(sa.Column("content_sha256", sa.String(length=64), nullable=True))
        # Entries written before the chain was keyed name no key: verify reports them.
        batch.add_column(
            sa.Column("key_id", sa.String(length=16), nullable=False, server_default="unkeyed")
        )
    with op.batch_alter_table("treatment_sessions") as batch:
        batch.add_column(sa.Column("signed_content_sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("treatment_sessions") as batch:
        batch.drop_column("signed_content_sha256")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("key_id")
        batch.drop_column("content_sha256")
        batch.drop_column("after_fields")
