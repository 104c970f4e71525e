"""plan editor and chart mode: warning acknowledgements, chart taps

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 08:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import dosemap.persistence.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_UTC = dosemap.persistence.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "plan_acknowledgements",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("zone", sa.String(length=60), nullable=True),
        sa.Column(
            "point_numbers",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("acknowledged_by", sa.Uuid(), nullable=False),
        sa.Column("acknowledged_by_name", sa.String(length=200), nullable=False),
        sa.Column("acknowledged_at", _UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["acknowledged_by"],
            ["staff.id"],
            name=op.f("fk_plan_acknowledgements_acknowledged_by_staff"),
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_plan_acknowledgements_clinic_id_clinics")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["treatment_sessions.id"],
            name=op.f("fk_plan_acknowledgements_session_id_treatment_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_acknowledgements")),
    )
    with op.batch_alter_table("plan_acknowledgements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_plan_acknowledgements_clinic_id"), ["clinic_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_plan_acknowledgements_session_id_code"),
            ["session_id", "code"],
            unique=False,
        )

    op.create_table(
        "chart_taps",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("point_number", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=12), nullable=False),
        sa.Column(
            "volume_ul", dosemap.persistence.types.Amount(precision=18, scale=4), nullable=True
        ),
        sa.Column("vial_id", sa.Uuid(), nullable=True),
        sa.Column("tapped_at", _UTC(timezone=True), nullable=False),
        sa.Column("recorded_at", _UTC(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.CheckConstraint(
            "action IN ('done', 'skipped', 'undo')", name=op.f("ck_chart_taps_action")
        ),
        sa.CheckConstraint(
            "volume_ul IS NULL OR volume_ul > 0", name=op.f("ck_chart_taps_volume_ul_positive")
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_chart_taps_clinic_id_clinics")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["treatment_sessions.id"],
            name=op.f("fk_chart_taps_session_id_treatment_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["vial_id"], ["vials.id"], name=op.f("fk_chart_taps_vial_id_vials")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chart_taps")),
        sa.UniqueConstraint("session_id", "seq", name=op.f("uq_chart_taps_session_id_seq")),
    )
    with op.batch_alter_table("chart_taps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chart_taps_clinic_id"), ["clinic_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("chart_taps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chart_taps_clinic_id"))
    op.drop_table("chart_taps")
    with op.batch_alter_table("plan_acknowledgements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_acknowledgements_session_id_code"))
        batch_op.drop_index(batch_op.f("ix_plan_acknowledgements_clinic_id"))
    op.drop_table("plan_acknowledgements")
