"""session products: each product of a session with its own planned and charted units

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 19:00:00

Sessions already recorded get no rows: a row would change the audited snapshot (and the signed
content) of a session written before it existed. Readers derive those sessions' per-product
figures from the plan and the vial usage (``services.sessions.product_figures``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dosemap.persistence.types

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_AMOUNT = dosemap.persistence.types.Amount(precision=18, scale=4)


def upgrade() -> None:
    op.create_table(
        "session_products",
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("product", sa.String(length=60), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("planned_points", sa.Integer(), nullable=False),
        sa.Column("planned_units", _AMOUNT, nullable=False),
        sa.Column("charted_points", sa.Integer(), nullable=True),
        sa.Column("total_units", _AMOUNT, nullable=True),
        sa.CheckConstraint(
            "planned_units >= 0", name=op.f("ck_session_products_planned_units_nonneg")
        ),
        sa.CheckConstraint(
            "total_units IS NULL OR total_units >= 0",
            name=op.f("ck_session_products_total_units_nonneg"),
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_session_products_clinic_id_clinics")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["treatment_sessions.id"],
            name=op.f("fk_session_products_session_id_treatment_sessions"),
        ),
        sa.PrimaryKeyConstraint("session_id", "product", name=op.f("pk_session_products")),
    )
    with op.batch_alter_table("session_products", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_session_products_clinic_id"), ["clinic_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("session_products", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_session_products_clinic_id"))
    op.drop_table("session_products")
