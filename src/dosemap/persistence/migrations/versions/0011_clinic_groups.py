"""clinic groups: sites of one owner, and grants letting a login of one site work at another

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dosemap.persistence.types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "clinic_groups",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinic_groups")),
        sa.UniqueConstraint("name", name=op.f("uq_clinic_groups_name")),
    )
    # Membership in a table of its own: the clinics table (and its rows) stay as they were.
    op.create_table(
        "clinic_group_members",
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column(
            "joined_at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_clinic_group_members_clinic_id_clinics")
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["clinic_groups.id"],
            name=op.f("fk_clinic_group_members_group_id_clinic_groups"),
        ),
        sa.PrimaryKeyConstraint("clinic_id", name=op.f("pk_clinic_group_members")),
    )
    with op.batch_alter_table("clinic_group_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_clinic_group_members_group_id"), ["group_id"], unique=False
        )
    op.create_table(
        "site_grants",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("staff_id", sa.Uuid(), nullable=True),
        sa.Column("granted_by", sa.String(length=80), nullable=False),
        sa.Column(
            "granted_at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "expires_at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "revoked_at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("revoked_by", sa.String(length=80), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "role IN ('prescriber', 'injector', 'front_desk', 'auditor')",
            name=op.f("ck_site_grants_role"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["user_accounts.id"],
            name=op.f("fk_site_grants_account_id_user_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_site_grants_clinic_id_clinics")
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_site_grants_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site_grants")),
        sa.UniqueConstraint(
            "account_id", "clinic_id", name=op.f("uq_site_grants_account_id_clinic_id")
        ),
    )
    with op.batch_alter_table("site_grants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_site_grants_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_site_grants_clinic_id"), ["clinic_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("site_grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_site_grants_clinic_id"))
        batch_op.drop_index(batch_op.f("ix_site_grants_account_id"))
    op.drop_table("site_grants")
    with op.batch_alter_table("clinic_group_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clinic_group_members_group_id"))
    op.drop_table("clinic_group_members")
    op.drop_table("clinic_groups")
