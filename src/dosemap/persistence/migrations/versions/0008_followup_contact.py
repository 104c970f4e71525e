"""follow-up contacts: when the desk called or wrote to a patient about a follow-up, who, a note

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 08:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dosemap.persistence.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A table of its own rather than columns on followups: a follow-up's audited snapshot
    # (every column) must not change when the schema grows.
    op.create_table(
        "followup_contacts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("followup_id", sa.Uuid(), nullable=False),
        sa.Column(
            "contacted_at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("contacted_by", sa.String(length=80), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_followup_contacts_clinic_id_clinics")
        ),
        sa.ForeignKeyConstraint(
            ["followup_id"],
            ["followups.id"],
            name=op.f("fk_followup_contacts_followup_id_followups"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followup_contacts")),
    )
    with op.batch_alter_table("followup_contacts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_followup_contacts_clinic_id"), ["clinic_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_followup_contacts_followup_id_contacted_at"),
            ["followup_id", "contacted_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("followup_contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_followup_contacts_followup_id_contacted_at"))
        batch_op.drop_index(batch_op.f("ix_followup_contacts_clinic_id"))
    op.drop_table("followup_contacts")
