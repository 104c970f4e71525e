"""web intake: kiosk passes, consent texts, photo jobs

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 08:24:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dosemap.persistence.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_texts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("procedure", sa.String(length=60), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("text_sha256", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_consent_texts_clinic_id_clinics")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_texts")),
        sa.UniqueConstraint(
            "clinic_id",
            "procedure",
            "version",
            name=op.f("uq_consent_texts_clinic_id_procedure_version"),
        ),
    )
    with op.batch_alter_table("consent_texts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consent_texts_clinic_id"), ["clinic_id"], unique=False)

    op.create_table(
        "kiosk_passes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "expires_at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "redeemed_at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("session_hash", sa.String(length=64), nullable=True),
        sa.Column(
            "session_expires_at",
            dosemap.persistence.types.UTCDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column("csrf_token", sa.String(length=64), nullable=True),
        sa.Column(
            "finished_at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_kiosk_passes_clinic_id_clinics")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["user_accounts.id"],
            name=op.f("fk_kiosk_passes_created_by_user_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_kiosk_passes_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kiosk_passes")),
        sa.UniqueConstraint("session_hash", name=op.f("uq_kiosk_passes_session_hash")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_kiosk_passes_token_hash")),
    )
    with op.batch_alter_table("kiosk_passes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kiosk_passes_clinic_id"), ["clinic_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_kiosk_passes_code_hash"), ["code_hash"], unique=False)

    op.create_table(
        "photo_jobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("photo_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("runner", sa.String(length=20), nullable=False),
        sa.Column("quality", dosemap.persistence.types.JSONType, nullable=False),
        sa.Column("result", dosemap.persistence.types.JSONType, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "queued_at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "started_at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "finished_at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'done', 'failed')", name=op.f("ck_photo_jobs_status")
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_photo_jobs_clinic_id_clinics")
        ),
        sa.ForeignKeyConstraint(
            ["photo_id"], ["photos.id"], name=op.f("fk_photo_jobs_photo_id_photos")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_photo_jobs")),
    )
    with op.batch_alter_table("photo_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_photo_jobs_clinic_id"), ["clinic_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_photo_jobs_photo_id"), ["photo_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("photo_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_photo_jobs_photo_id"))
        batch_op.drop_index(batch_op.f("ix_photo_jobs_clinic_id"))

    op.drop_table("photo_jobs")
    with op.batch_alter_table("kiosk_passes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kiosk_passes_code_hash"))
        batch_op.drop_index(batch_op.f("ix_kiosk_passes_clinic_id"))

    op.drop_table("kiosk_passes")
    with op.batch_alter_table("consent_texts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_texts_clinic_id"))

    op.drop_table("consent_texts")
