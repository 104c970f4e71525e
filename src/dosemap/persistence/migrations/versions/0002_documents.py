"""documents: clinic heading and calendar detail, drawn consent signatures, finding
acknowledgements

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 07:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dosemap.persistence.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clinics", schema=None) as batch_op:
        batch_op.add_column(sa.Column("address", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("phone", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("logo_png", sa.LargeBinary(), nullable=True))
        # Existing clinics keep calendars to chart numbers and visit kinds (no names, no doses).
        batch_op.add_column(
            sa.Column(
                "calendar_detail", sa.String(length=20), nullable=False, server_default="chart"
            )
        )
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signature_png", sa.LargeBinary(), nullable=True))

    op.create_table(
        "finding_acknowledgements",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("severity", sa.String(length=12), nullable=False),
        sa.Column("title", sa.String(length=400), nullable=False),
        sa.Column("acknowledged_by", sa.Uuid(), nullable=False),
        sa.Column(
            "acknowledged_at",
            dosemap.persistence.types.UTCDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["acknowledged_by"],
            ["staff.id"],
            name=op.f("fk_finding_acknowledgements_acknowledged_by_staff"),
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinics.id"],
            name=op.f("fk_finding_acknowledgements_clinic_id_clinics"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["treatment_sessions.id"],
            name=op.f("fk_finding_acknowledgements_session_id_treatment_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finding_acknowledgements")),
        sa.UniqueConstraint(
            "session_id", "code", name=op.f("uq_finding_acknowledgements_session_id_code")
        ),
    )
    with op.batch_alter_table("finding_acknowledgements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_finding_acknowledgements_clinic_id"), ["clinic_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("finding_acknowledgements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_finding_acknowledgements_clinic_id"))
    op.drop_table("finding_acknowledgements")
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_column("signature_png")
    with op.batch_alter_table("clinics", schema=None) as batch_op:
        batch_op.drop_column("calendar_detail")
        batch_op.drop_column("logo_png")
        batch_op.drop_column("phone")
        batch_op.drop_column("address")
