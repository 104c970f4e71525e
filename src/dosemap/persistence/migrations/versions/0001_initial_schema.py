"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-27 14:57:02.678304
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import dosemap.persistence.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    audit_head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    # The chain's genesis: concurrent first writers then queue on this row's lock instead of
    # racing to create it.
    op.bulk_insert(audit_head, [{"id": 1, "seq": 0, "hash": "0" * 64}])
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=True),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=80), nullable=False),
        sa.Column("before_digest", sa.String(length=64), nullable=True),
        sa.Column("after_digest", sa.String(length=64), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_log_hash")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_log_entity_entity_id"), ["entity", "entity_id"], unique=False
        )

    op.create_table(
        "clinics",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("jurisdiction", sa.String(length=40), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("beyond_use_policy", sa.String(length=40), nullable=False),
        sa.Column(
            "created_at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinics")),
    )
    op.create_table(
        "patients",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("chart_number", sa.String(length=40), nullable=False),
        sa.Column("given_name", sa.String(length=120), nullable=False),
        sa.Column("family_name", sa.String(length=120), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column("sex", sa.String(length=20), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("email", sa.String(length=200), nullable=True),
        sa.Column("fitzpatrick_type", sa.Integer(), nullable=True),
        sa.Column("skin_type", sa.String(length=20), nullable=True),
        sa.Column(
            "created_at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "fitzpatrick_type IS NULL OR (fitzpatrick_type BETWEEN 1 AND 6)",
            name=op.f("ck_patients_fitzpatrick"),
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_patients_clinic_id_clinics")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patients")),
        sa.UniqueConstraint(
            "clinic_id", "chart_number", name=op.f("uq_patients_clinic_id_chart_number")
        ),
    )
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_patients_clinic_id"), ["clinic_id"], unique=False)

    op.create_table(
        "procedure_policies",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("procedure", sa.String(length=60), nullable=False),
        sa.Column("credential_type", sa.String(length=20), nullable=False),
        sa.Column("jurisdiction", sa.String(length=40), nullable=False),
        sa.Column(
            "created_at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_procedure_policies_clinic_id_clinics")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_procedure_policies")),
        sa.UniqueConstraint(
            "clinic_id",
            "procedure",
            "credential_type",
            "jurisdiction",
            name=op.f("uq_procedure_policies_clinic_id_procedure_credential_type_jurisdiction"),
        ),
    )
    with op.batch_alter_table("procedure_policies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_procedure_policies_clinic_id"), ["clinic_id"], unique=False
        )

    op.create_table(
        "product_lots",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("product", sa.String(length=60), nullable=False),
        sa.Column("lot_number", sa.String(length=60), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column(
            "created_at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_product_lots_clinic_id_clinics")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_lots")),
        sa.UniqueConstraint(
            "clinic_id",
            "lot_number",
            "product",
            name=op.f("uq_product_lots_clinic_id_lot_number_product"),
        ),
    )
    with op.batch_alter_table("product_lots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_product_lots_clinic_id"), ["clinic_id"], unique=False)

    op.create_table(
        "staff",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "role IN ('admin', 'injector', 'front_desk')", name=op.f("ck_staff_role")
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_staff_clinic_id_clinics")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff")),
    )
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_clinic_id"), ["clinic_id"], unique=False)

    op.create_table(
        "consents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("procedure", sa.String(length=60), nullable=False),
        sa.Column("text_version", sa.String(length=40), nullable=False),
        sa.Column("text_sha256", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=200), nullable=False),
        sa.Column(
            "signed_at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("witness_name", sa.String(length=200), nullable=True),
        sa.Column(
            "withdrawn_at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "created_at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_consents_clinic_id_clinics")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_consents_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consents_clinic_id"), ["clinic_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_consents_patient_id_signed_at"),
            ["patient_id", "signed_at"],
            unique=False,
        )

    op.create_table(
        "credentials",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("staff_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("number", sa.String(length=80), nullable=False),
        sa.Column("jurisdiction", sa.String(length=40), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column(
            "created_at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_credentials_clinic_id_clinics")
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_credentials_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credentials")),
    )
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credentials_clinic_id"), ["clinic_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_credentials_staff_id"), ["staff_id"], unique=False)

    op.create_table(
        "intakes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("questionnaire_version", sa.String(length=20), nullable=False),
        sa.Column(
            "answered_at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "answers",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("recorded_by", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_intakes_clinic_id_clinics")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_intakes_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["staff.id"], name=op.f("fk_intakes_recorded_by_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intakes")),
    )
    with op.batch_alter_table("intakes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_intakes_clinic_id"), ["clinic_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_intakes_patient_id_answered_at"),
            ["patient_id", "answered_at"],
            unique=False,
        )

    op.create_table(
        "treatment_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("injector_id", sa.Uuid(), nullable=False),
        sa.Column("procedure", sa.String(length=60), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("product", sa.String(length=60), nullable=False),
        sa.Column(
            "plan",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "planned_units", dosemap.persistence.types.Amount(precision=18, scale=4), nullable=False
        ),
        sa.Column(
            "scheduled_at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "performed_at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "total_units", dosemap.persistence.types.Amount(precision=18, scale=4), nullable=True
        ),
        sa.Column(
            "botox_equivalent_units",
            dosemap.persistence.types.Amount(precision=18, scale=4),
            nullable=True,
        ),
        sa.Column("pain_score", sa.Integer(), nullable=True),
        sa.Column("numbing", sa.String(length=120), nullable=True),
        sa.Column("aftercare", sa.Text(), nullable=True),
        sa.Column("signed_at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("signed_by", sa.Uuid(), nullable=True),
        sa.Column("amendment_count", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status IN ('planned', 'charted', 'signed')", name=op.f("ck_treatment_sessions_status")
        ),
        sa.CheckConstraint(
            "pain_score IS NULL OR (pain_score BETWEEN 0 AND 10)",
            name=op.f("ck_treatment_sessions_pain_score"),
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_treatment_sessions_clinic_id_clinics")
        ),
        sa.ForeignKeyConstraint(
            ["injector_id"], ["staff.id"], name=op.f("fk_treatment_sessions_injector_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_treatment_sessions_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["signed_by"], ["staff.id"], name=op.f("fk_treatment_sessions_signed_by_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_treatment_sessions")),
    )
    with op.batch_alter_table("treatment_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_treatment_sessions_clinic_id_patient_id_performed_at"),
            ["clinic_id", "patient_id", "performed_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_treatment_sessions_clinic_id_performed_at"),
            ["clinic_id", "performed_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_treatment_sessions_injector_id"), ["injector_id"], unique=False
        )

    op.create_table(
        "vials",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("lot_id", sa.Uuid(), nullable=False),
        sa.Column("label", sa.String(length=40), nullable=False),
        sa.Column(
            "vial_units", dosemap.persistence.types.Amount(precision=18, scale=4), nullable=False
        ),
        sa.Column("diluent", sa.String(length=80), nullable=False),
        sa.Column(
            "diluent_ml", dosemap.persistence.types.Amount(precision=18, scale=4), nullable=False
        ),
        sa.Column(
            "reconstituted_at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("beyond_use_policy", sa.String(length=40), nullable=False),
        sa.Column(
            "beyond_use_at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "units_drawn", dosemap.persistence.types.Amount(precision=18, scale=4), nullable=False
        ),
        sa.Column("opened_by", sa.Uuid(), nullable=True),
        sa.Column(
            "discarded_at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("discard_reason", sa.String(length=200), nullable=True),
        sa.Column(
            "units_wasted", dosemap.persistence.types.Amount(precision=18, scale=4), nullable=True
        ),
        sa.Column(
            "created_at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("units_drawn <= vial_units", name=op.f("ck_vials_units_drawn_le_vial")),
        sa.CheckConstraint("units_drawn >= 0", name=op.f("ck_vials_units_drawn_nonneg")),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_vials_clinic_id_clinics")
        ),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["product_lots.id"], name=op.f("fk_vials_lot_id_product_lots")
        ),
        sa.ForeignKeyConstraint(["opened_by"], ["staff.id"], name=op.f("fk_vials_opened_by_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vials")),
    )
    with op.batch_alter_table("vials", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vials_clinic_id"), ["clinic_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_vials_clinic_id_discarded_at"),
            ["clinic_id", "discarded_at"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_vials_lot_id"), ["lot_id"], unique=False)

    op.create_table(
        "adverse_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("onset_at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("severity", sa.String(length=12), nullable=False),
        sa.Column("action", sa.Text(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "severity IN ('mild', 'moderate', 'severe')", name=op.f("ck_adverse_events_severity")
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_adverse_events_clinic_id_clinics")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_adverse_events_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["staff.id"], name=op.f("fk_adverse_events_recorded_by_staff")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["treatment_sessions.id"],
            name=op.f("fk_adverse_events_session_id_treatment_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adverse_events")),
    )
    with op.batch_alter_table("adverse_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_adverse_events_clinic_id"), ["clinic_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_adverse_events_patient_id_onset_at"),
            ["patient_id", "onset_at"],
            unique=False,
        )

    op.create_table(
        "amendments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("amended_by", sa.Uuid(), nullable=False),
        sa.Column(
            "amended_at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "before",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("before_digest", sa.String(length=64), nullable=False),
        sa.Column("after_digest", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["amended_by"], ["staff.id"], name=op.f("fk_amendments_amended_by_staff")
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_amendments_clinic_id_clinics")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["treatment_sessions.id"],
            name=op.f("fk_amendments_session_id_treatment_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_amendments")),
        sa.UniqueConstraint("session_id", "number", name=op.f("uq_amendments_session_id_number")),
    )
    with op.batch_alter_table("amendments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_amendments_clinic_id"), ["clinic_id"], unique=False)

    op.create_table(
        "chart_points",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("vial_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("zone", sa.String(length=60), nullable=False),
        sa.Column("x_mm", sa.Float(), nullable=False),
        sa.Column("y_mm", sa.Float(), nullable=False),
        sa.Column("z_mm", sa.Float(), nullable=False),
        sa.Column(
            "anchor",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("technique", sa.String(length=60), nullable=False),
        sa.Column("depth", sa.Text(), nullable=False),
        sa.Column(
            "volume_ul", dosemap.persistence.types.Amount(precision=18, scale=4), nullable=False
        ),
        sa.Column("units", dosemap.persistence.types.Amount(precision=18, scale=4), nullable=False),
        sa.Column("mix", sa.String(length=200), nullable=False),
        sa.CheckConstraint("units > 0", name=op.f("ck_chart_points_units_positive")),
        sa.CheckConstraint("volume_ul > 0", name=op.f("ck_chart_points_volume_ul_positive")),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_chart_points_clinic_id_clinics")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["treatment_sessions.id"],
            name=op.f("fk_chart_points_session_id_treatment_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["vial_id"], ["vials.id"], name=op.f("fk_chart_points_vial_id_vials")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chart_points")),
        sa.UniqueConstraint("session_id", "number", name=op.f("uq_chart_points_session_id_number")),
    )
    op.create_table(
        "followups",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("basis", sa.String(length=200), nullable=False),
        sa.Column(
            "completed_at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "created_at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('review', 'retreatment')", name=op.f("ck_followups_kind")),
        sa.CheckConstraint(
            "status IN ('open', 'done', 'cancelled')", name=op.f("ck_followups_status")
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_followups_clinic_id_clinics")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_followups_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["treatment_sessions.id"],
            name=op.f("fk_followups_session_id_treatment_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followups")),
    )
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_followups_clinic_id_status_due_on_id"),
            ["clinic_id", "status", "due_on", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_followups_patient_id_due_on"), ["patient_id", "due_on"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_followups_session_id"), ["session_id"], unique=False)

    op.create_table(
        "photos",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=60), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("view", sa.String(length=40), nullable=True),
        sa.Column("taken_at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_photos_clinic_id_clinics")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_photos_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["treatment_sessions.id"],
            name=op.f("fk_photos_session_id_treatment_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_photos")),
    )
    with op.batch_alter_table("photos", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_photos_clinic_id"), ["clinic_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_photos_patient_id_taken_at"), ["patient_id", "taken_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_photos_sha256"), ["sha256"], unique=False)

    op.create_table(
        "session_vial_usage",
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("vial_id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("units", dosemap.persistence.types.Amount(precision=18, scale=4), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_session_vial_usage_clinic_id_clinics")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["treatment_sessions.id"],
            name=op.f("fk_session_vial_usage_session_id_treatment_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["vial_id"], ["vials.id"], name=op.f("fk_session_vial_usage_vial_id_vials")
        ),
        sa.PrimaryKeyConstraint("session_id", "vial_id", name=op.f("pk_session_vial_usage")),
    )
    with op.batch_alter_table("session_vial_usage", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_session_vial_usage_vial_id"), ["vial_id"], unique=False
        )

    op.create_table(
        "outcome_measurements",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("photo_id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=True),
        sa.Column("zone", sa.String(length=60), nullable=True),
        sa.Column("metric", sa.String(length=60), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column(
            "measured_at", dosemap.persistence.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_outcome_measurements_clinic_id_clinics")
        ),
        sa.ForeignKeyConstraint(
            ["photo_id"], ["photos.id"], name=op.f("fk_outcome_measurements_photo_id_photos")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["treatment_sessions.id"],
            name=op.f("fk_outcome_measurements_session_id_treatment_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcome_measurements")),
    )
    with op.batch_alter_table("outcome_measurements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outcome_measurements_clinic_id"), ["clinic_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_outcome_measurements_photo_id"), ["photo_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_outcome_measurements_session_id"), ["session_id"], unique=False
        )

    # ### end Alembic commands ###


def downgrade() -> None:
    with op.batch_alter_table("outcome_measurements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outcome_measurements_session_id"))
        batch_op.drop_index(batch_op.f("ix_outcome_measurements_photo_id"))
        batch_op.drop_index(batch_op.f("ix_outcome_measurements_clinic_id"))

    op.drop_table("outcome_measurements")
    with op.batch_alter_table("session_vial_usage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_session_vial_usage_vial_id"))

    op.drop_table("session_vial_usage")
    with op.batch_alter_table("photos", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_photos_sha256"))
        batch_op.drop_index(batch_op.f("ix_photos_patient_id_taken_at"))
        batch_op.drop_index(batch_op.f("ix_photos_clinic_id"))

    op.drop_table("photos")
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_followups_session_id"))
        batch_op.drop_index(batch_op.f("ix_followups_patient_id_due_on"))
        batch_op.drop_index(batch_op.f("ix_followups_clinic_id_status_due_on_id"))

    op.drop_table("followups")
    op.drop_table("chart_points")
    with op.batch_alter_table("amendments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_amendments_clinic_id"))

    op.drop_table("amendments")
    with op.batch_alter_table("adverse_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_adverse_events_patient_id_onset_at"))
        batch_op.drop_index(batch_op.f("ix_adverse_events_clinic_id"))

    op.drop_table("adverse_events")
    with op.batch_alter_table("vials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vials_lot_id"))
        batch_op.drop_index(batch_op.f("ix_vials_clinic_id_discarded_at"))
        batch_op.drop_index(batch_op.f("ix_vials_clinic_id"))

    op.drop_table("vials")
    with op.batch_alter_table("treatment_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_treatment_sessions_injector_id"))
        batch_op.drop_index(batch_op.f("ix_treatment_sessions_clinic_id_performed_at"))
        batch_op.drop_index(batch_op.f("ix_treatment_sessions_clinic_id_patient_id_performed_at"))

    op.drop_table("treatment_sessions")
    with op.batch_alter_table("intakes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intakes_patient_id_answered_at"))
        batch_op.drop_index(batch_op.f("ix_intakes_clinic_id"))

    op.drop_table("intakes")
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credentials_staff_id"))
        batch_op.drop_index(batch_op.f("ix_credentials_clinic_id"))

    op.drop_table("credentials")
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consents_patient_id_signed_at"))
        batch_op.drop_index(batch_op.f("ix_consents_clinic_id"))

    op.drop_table("consents")
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_clinic_id"))

    op.drop_table("staff")
    with op.batch_alter_table("product_lots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_lots_clinic_id"))

    op.drop_table("product_lots")
    with op.batch_alter_table("procedure_policies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_procedure_policies_clinic_id"))

    op.drop_table("procedure_policies")
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patients_clinic_id"))

    op.drop_table("patients")
    op.drop_table("clinics")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_entity_entity_id"))

    op.drop_table("audit_log")
    op.drop_table("audit_head")
    # ### end Alembic commands ###
