"""web app: user accounts, web sessions, access log, access tokens, sign-in policy

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 07:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dosemap.persistence.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_UTC = dosemap.persistence.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "user_accounts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("staff_id", sa.Uuid(), nullable=True),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("totp_secret", sa.String(length=64), nullable=True),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", _UTC(timezone=True), nullable=True),
        sa.Column("created_at", _UTC(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "role IN ('admin', 'prescriber', 'injector', 'front_desk', 'auditor')",
            name=op.f("ck_user_accounts_role"),
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_user_accounts_clinic_id_clinics")
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_user_accounts_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_accounts")),
        sa.UniqueConstraint("username", name=op.f("uq_user_accounts_username")),
    )
    with op.batch_alter_table("user_accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_accounts_clinic_id"), ["clinic_id"])

    op.create_table(
        "web_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("pending_totp", sa.Boolean(), nullable=False),
        sa.Column("created_at", _UTC(timezone=True), nullable=False),
        sa.Column("last_seen_at", _UTC(timezone=True), nullable=False),
        sa.Column("expires_at", _UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_web_sessions_clinic_id_clinics")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_accounts.id"], name=op.f("fk_web_sessions_user_id_user_accounts")
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_web_sessions")),
    )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_sessions_user_id"), ["user_id"])

    op.create_table(
        "access_log",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("at", _UTC(timezone=True), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=80), nullable=False),
        sa.Column("via", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_access_log_clinic_id_clinics")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_accounts.id"], name=op.f("fk_access_log_user_id_user_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_log")),
    )
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_log_clinic_id_at"), ["clinic_id", "at"])
        batch_op.create_index(batch_op.f("ix_access_log_entity_entity_id"), ["entity", "entity_id"])

    op.create_table(
        "access_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.String(length=200), nullable=False),
        sa.Column("created_at", _UTC(timezone=True), nullable=False),
        sa.Column("expires_at", _UTC(timezone=True), nullable=True),
        sa.Column("last_used_at", _UTC(timezone=True), nullable=True),
        sa.Column("revoked_at", _UTC(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_access_tokens_clinic_id_clinics")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_accounts.id"],
            name=op.f("fk_access_tokens_user_id_user_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_access_tokens_token_hash")),
    )
    with op.batch_alter_table("access_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_tokens_clinic_id"), ["clinic_id"])
        batch_op.create_index(batch_op.f("ix_access_tokens_user_id"), ["user_id"])

    op.create_table(
        "clinic_web_policies",
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("totp_required_roles", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_clinic_web_policies_clinic_id_clinics")
        ),
        sa.PrimaryKeyConstraint("clinic_id", name=op.f("pk_clinic_web_policies")),
    )

    # The Today page's questions: sessions scheduled on a day, lots expiring soon.
    with op.batch_alter_table("treatment_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_treatment_sessions_clinic_id_scheduled_at"),
            ["clinic_id", "scheduled_at"],
        )
    with op.batch_alter_table("product_lots", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_product_lots_clinic_id_expires_on"), ["clinic_id", "expires_on"]
        )


def downgrade() -> None:
    with op.batch_alter_table("product_lots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_lots_clinic_id_expires_on"))
    with op.batch_alter_table("treatment_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_treatment_sessions_clinic_id_scheduled_at"))
    op.drop_table("clinic_web_policies")
    op.drop_table("access_tokens")
    op.drop_table("access_log")
    op.drop_table("web_sessions")
    op.drop_table("user_accounts")
