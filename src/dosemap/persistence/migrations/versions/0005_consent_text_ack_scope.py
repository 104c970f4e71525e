"""consent text as signed; an acknowledgement names the finding's zone and points

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 08:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("consents", schema=None) as batch_op:
        # The text the patient signed (earlier consents keep only its version and SHA-256).
        batch_op.add_column(sa.Column("text", sa.Text(), nullable=True))
    with op.batch_alter_table("finding_acknowledgements", schema=None) as batch_op:
        # A finding is one code in one zone at some points (as the plan editor keys it); the
        # same code may be acknowledged once per zone and point set.
        batch_op.drop_constraint("uq_finding_acknowledgements_session_id_code", type_="unique")
        batch_op.add_column(sa.Column("zone", sa.String(length=60), nullable=True))
        batch_op.add_column(
            sa.Column("point_numbers", sa.String(length=2000), nullable=False, server_default="")
        )
        batch_op.create_index(
            batch_op.f("ix_finding_acknowledgements_session_id"), ["session_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("finding_acknowledgements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_finding_acknowledgements_session_id"))
        batch_op.drop_column("point_numbers")
        batch_op.drop_column("zone")
        batch_op.create_unique_constraint(
            "uq_finding_acknowledgements_session_id_code", ["session_id", "code"]
        )
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_column("text")
