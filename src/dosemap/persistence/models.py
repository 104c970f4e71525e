"""SQLAlchemy 2 typed models of the clinical record.

Every table but the audit log carries ``clinic_id``: a deployment may hold several clinics and
every query is scoped to one. Keys are UUIDs; timestamps are timezone-aware (UTC); doses and
volumes are exact decimals (:class:`~dosemap.persistence.types.Amount`). Mutable records carry
``version`` for optimistic locking (SQLAlchemy's ``version_id_col``).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from dosemap.persistence.types import Amount, JSONType, UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with the constraint naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: dict[Any, Any] = {  # noqa: RUF012
        datetime: UTCDateTime(),
        Decimal: Amount(),
        uuid.UUID: Uuid(),
        dict[str, Any]: JSONType,
    }


def _id() -> Mapped[uuid.UUID]:
    return mapped_column(primary_key=True, default=uuid.uuid4)


def _clinic_fk() -> Mapped[uuid.UUID]:
    return mapped_column(ForeignKey("clinics.id"), index=True)


class Versioned:
    """Mixin: optimistic locking via an integer version column."""

    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)


class Clinic(Versioned, Base):
    """One clinic (a deployment may hold several)."""

    __tablename__ = "clinics"
    __mapper_args__ = {"version_id_col": Versioned.version}  # noqa: RUF012

    id: Mapped[uuid.UUID] = _id()
    name: Mapped[str] = mapped_column(String(200))
    jurisdiction: Mapped[str] = mapped_column(String(40))  # e.g. "US-CA": scopes credential policy
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    beyond_use_policy: Mapped[str] = mapped_column(String(40), default="label")
    created_at: Mapped[datetime]
    # What documents print in their heading (PDFs) and how much a follow-up calendar may say.
    address: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(40))
    logo_png: Mapped[bytes | None] = mapped_column(LargeBinary)
    calendar_detail: Mapped[str] = mapped_column(String(20), default="chart")


class Staff(Versioned, Base):
    """A person who works at a clinic: admin, injector or front desk."""

    __tablename__ = "staff"
    __mapper_args__ = {"version_id_col": Versioned.version}  # noqa: RUF012
    __table_args__ = (CheckConstraint("role IN ('admin', 'injector', 'front_desk')", name="role"),)

    id: Mapped[uuid.UUID] = _id()
    clinic_id: Mapped[uuid.UUID] = _clinic_fk()
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]

    credentials: Mapped[list[Credential]] = relationship(back_populates="staff")


class Credential(Versioned, Base):
    """A licence: type (MD, DO, NP, PA, RN …), number, jurisdiction and expiry."""

    __tablename__ = "credentials"
    __mapper_args__ = {"version_id_col": Versioned.version}  # noqa: RUF012

    id: Mapped[uuid.UUID] = _id()
    clinic_id: Mapped[uuid.UUID] = _clinic_fk()
    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"), index=True)
    type: Mapped[str] = mapped_column(String(20))
    number: Mapped[str] = mapped_column(String(80))
    jurisdiction: Mapped[str] = mapped_column(String(40))
    expires_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime]

    staff: Mapped[Staff] = relationship(back_populates="credentials")


class ProcedurePolicy(Base):
    """Clinic policy: which credential type may perform which procedure, in which jurisdiction."""

    __tablename__ = "procedure_policies"
    __table_args__ = (
        UniqueConstraint("clinic_id", "procedure", "credential_type", "jurisdiction"),
    )

    id: Mapped[uuid.UUID] = _id()
    clinic_id: Mapped[uuid.UUID] = _clinic_fk()
    procedure: Mapped[str] = mapped_column(String(60))
    credential_type: Mapped[str] = mapped_column(String(20))
    jurisdiction: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime]


class Patient(Versioned, Base):
    """A patient of one clinic."""

    __tablename__ = "patients"
    __mapper_args__ = {"version_id_col": Versioned.version}  # noqa: RUF012
    __table_args__ = (
        UniqueConstraint("clinic_id", "chart_number"),
        CheckConstraint(
            "fitzpatrick_type IS NULL OR (fitzpatrick_type BETWEEN 1 AND 6)", name="fitzpatrick"
        ),
    )

    id: Mapped[uuid.UUID] = _id()
    clinic_id: Mapped[uuid.UUID] = _clinic_fk()
    chart_number: Mapped[str] = mapped_column(String(40))
    given_name: Mapped[str] = mapped_column(String(120))
    family_name: Mapped[str] = mapped_column(String(120))
    date_of_birth: Mapped[date] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(20))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(200))
    fitzpatrick_type: Mapped[int | None] = mapped_column(Integer)
    skin_type: Mapped[str | None] = mapped_column(String(20))  # dry, normal, oily, combination…
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class IntakeRecord(Base):
    """One answered intake questionnaire as stored (immutable; a new one is a new row).

    ``answers`` holds the core's :class:`~dosemap.domain.intake.Intake` as JSON.
    """

    __tablename__ = "intakes"
    __table_args__ = (Index(None, "patient_id", "answered_at"),)

    id: Mapped[uuid.UUID] = _id()
    clinic_id: Mapped[uuid.UUID] = _clinic_fk()
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    questionnaire_version: Mapped[str] = mapped_column(String(20))
    answered_at: Mapped[datetime]
    answers: Mapped[dict[str, Any]]
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime]


class Consent(Base):
    """A signed consent: which text version, signature, time and witness."""

    __tablename__ = "consents"
    __table_args__ = (Index(None, "patient_id", "signed_at"),)

    id: Mapped[uuid.UUID] = _id()
    clinic_id: Mapped[uuid.UUID] = _clinic_fk()
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    procedure: Mapped[str] = mapped_column(String(60))
    text_version: Mapped[str] = mapped_column(String(40))
    text_sha256: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(200))  # typed name or sha256 of a signature image
    signed_at: Mapped[datetime]
    witness_name: Mapped[str | None] = mapped_column(String(200))
    withdrawn_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    signature_png: Mapped[bytes | None] = mapped_column(LargeBinary)  # the drawn signature, if any
    text: Mapped[str | None] = mapped_column(Text)  # the text as signed (older rows: None)


class ProductLot(Versioned, Base):
    """A manufacturer's lot of one product."""

    __tablename__ = "product_lots"
    __mapper_args__ = {"version_id_col": Versioned.version}  # noqa: RUF012
    __table_args__ = (
        UniqueConstraint("clinic_id", "lot_number", "product"),
        Index(None, "clinic_id", "expires_on"),  # lots expiring soon (the Today page)
    )

    id: Mapped[uuid.UUID] = _id()
    clinic_id: Mapped[uuid.UUID] = _clinic_fk()
    product: Mapped[str] = mapped_column(String(60))
    lot_number: Mapped[str] = mapped_column(String(60))
    expires_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime]


class Vial(Versioned, Base):
    """A reconstituted (opened) vial from one lot."""

    __tablename__ = "vials"
    __mapper_args__ = {"version_id_col": Versioned.version}  # noqa: RUF012
    __table_args__ = (
        CheckConstraint("units_drawn >= 0", name="units_drawn_nonneg"),
        CheckConstraint("units_drawn <= vial_units", name="units_drawn_le_vial"),
        Index(None, "clinic_id", "discarded_at"),
    )

    id: Mapped[uuid.UUID] = _id()
    clinic_id: Mapped[uuid.UUID] = _clinic_fk()
    lot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("product_lots.id"), index=True)
    label: Mapped[str] = mapped_column(String(40))  # what is written on the vial, e.g. "V-0042"
    vial_units: Mapped[Decimal]
    diluent: Mapped[str] = mapped_column(String(80))
    diluent_ml: Mapped[Decimal]
    reconstituted_at: Mapped[datetime]
    beyond_use_policy: Mapped[str] = mapped_column(String(40))
    beyond_use_at: Mapped[datetime]
    units_drawn: Mapped[Decimal]
    opened_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    discarded_at: Mapped[datetime | None]
    discard_reason: Mapped[str | None] = mapped_column(String(200))
    units_wasted: Mapped[Decimal | None]
    created_at: Mapped[datetime]

    lot: Mapped[ProductLot] = relationship()


class TreatmentSession(Versioned, Base):
    """A treatment: the plan as planned, then the chart as performed; signing locks it."""

    __tablename__ = "treatment_sessions"
    __mapper_args__ = {"version_id_col": Versioned.version}  # noqa: RUF012
    __table_args__ = (
        CheckConstraint("status IN ('planned', 'charted', 'signed')", name="status"),
        CheckConstraint("pain_score IS NULL OR (pain_score BETWEEN 0 AND 10)", name="pain_score"),
        Index(None, "clinic_id", "patient_id", "performed_at"),
        Index(None, "clinic_id", "performed_at"),
        Index(None, "clinic_id", "scheduled_at"),  # the web app's Today page
    )

    id: Mapped[uuid.UUID] = _id()
    clinic_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clinics.id"))
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    injector_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"), index=True)
    procedure: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(12))
    # The lead (first) product and its figures; every product's are in ``session_products``.
    product: Mapped[str] = mapped_column(String(60))
    plan: Mapped[dict[str, Any]]
    planned_units: Mapped[Decimal]
    scheduled_at: Mapped[datetime]
    performed_at: Mapped[datetime | None]
    total_units: Mapped[Decimal | None]
    botox_equivalent_units: Mapped[Decimal | None]
    pain_score: Mapped[int | None] = mapped_column(Integer)
    numbing: Mapped[str | None] = mapped_column(String(120))
    aftercare: Mapped[str | None] = mapped_column(Text)
    signed_at: Mapped[datetime | None]
    signed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    # SHA-256 of the clinical content signed (or last amended): see services.sessions.
    signed_content_sha256: Mapped[str | None] = mapped_column(String(64))
    amendment_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    points: Mapped[list[ChartPoint]] = relationship(
        back_populates="session", order_by="ChartPoint.number", cascade="all, delete-orphan"
    )


class SessionProduct(Base):
    """One product of a session and its own figures, in that product's units (units of two
    products are never added: a Dysport unit is not a Botox unit). A session of one product has
    one row; sessions recorded before migration 0013 have none (their figures are the session
    record's own ``product``/``planned_units``/``total_units``, or derived from the plan and the
    vial usage for a session of several products: ``services.sessions.product_figures``)."""

    __tablename__ = "session_products"
    __table_args__ = (
        CheckConstraint("planned_units >= 0", name="planned_units_nonneg"),
        CheckConstraint("total_units IS NULL OR total_units >= 0", name="total_units_nonneg"),
    )

    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("treatment_sessions.id"), primary_key=True
    )
    product: Mapped[str] = mapped_column(String(60), primary_key=True)
    clinic_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clinics.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # the product's place in the plan, from 0
    planned_points: Mapped[int] = mapped_column(Integer)
    planned_units: Mapped[Decimal]
    charted_points: Mapped[int | None] = mapped_column(Integer)  # None until charted
    total_units: Mapped[Decimal | None]  # units charted of this product; None until charted


class ChartPoint(Base):
    """One droplet as performed: the plan point's fields plus the vial it came from."""

    __tablename__ = "chart_points"
    __table_args__ = (
        UniqueConstraint("session_id", "number"),
        CheckConstraint("volume_ul > 0", name="volume_ul_positive"),
        CheckConstraint("units > 0", name="units_positive"),
    )

    id: Mapped[uuid.UUID] = _id()
    clinic_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clinics.id"))
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("treatment_sessions.id"))
    vial_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vials.id"))
    number: Mapped[int] = mapped_column(Integer)
    zone: Mapped[str] = mapped_column(String(60))
    x_mm: Mapped[float] = mapped_column(Float)
    y_mm: Mapped[float] = mapped_column(Float)
    z_mm: Mapped[float] = mapped_column(Float)
    anchor: Mapped[dict[str, Any]]  # {"vertices": [..3], "weights": [..3]}
    technique: Mapped[str] = mapped_column(String(60))
    depth: Mapped[str] = mapped_column(Text)
    volume_ul: Mapped[Decimal]
    units: Mapped[Decimal]
    mix: Mapped[str] = mapped_column(String(200))

    session: Mapped[TreatmentSession] = relationship(back_populates="points")


class SessionVialUsage(Base):
    """Units charted from one vial in one session (kept with the chart; recall reads this)."""

    __tablename__ = "session_vial_usage"

    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("treatment_sessions.id"), primary_key=True
    )
    vial_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vials.id"), primary_key=True, index=True)
    clinic_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clinics.id"))
    points: Mapped[int] = mapped_column(Integer)
    units: Mapped[Decimal]


class Amendment(Base):
    """A change to a signed session: the reason and the record as it was before."""

    __tablename__ = "amendments"
    __table_args__ = (UniqueConstraint("session_id", "number"),)

    id: Mapped[uuid.UUID] = _id()
    clinic_id: Mapped[uuid.UUID] = _clinic_fk()
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("treatment_sessions.id"))
    number: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    amended_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    amended_at: Mapped[datetime]
    before: Mapped[dict[str, Any]]
    before_digest: Mapped[str] = mapped_column(String(64))
    after_digest: Mapped[str] = mapped_column(String(64))


class FindingAcknowledgement(Base):
    """A clinician's acknowledgement of a (non-blocking) safety finding on a session: who,
    when and why. A blocking finding is resolved, never acknowledged."""

    __tablename__ = "finding_acknowledgements"

    id: Mapped[uuid.UUID] = _id()
    clinic_id: Mapped[uuid.UUID] = _clinic_fk()
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("treatment_sessions.id"), index=True)
    code: Mapped[str] = mapped_column(String(60))
    zone: Mapped[str | None] = mapped_column(String(60))
    point_numbers: Mapped[str] = mapped_column(String(2000), default="")  # "3 4 5": as found
    severity: Mapped[str] = mapped_column(String(12))
    title: Mapped[str] = mapped_column(String(400))
    acknowledged_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    acknowledged_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)


class AdverseEvent(Versioned, Base):
    """Something that went wrong after a session."""

    __tablename__ = "adverse_events"
    __mapper_args__ = {"version_id_col": Versioned.version}  # noqa: RUF012
    __table_args__ = (
        CheckConstraint("severity IN ('mild', 'moderate', 'severe')", name="severity"),
        Index(None, "patient_id", "onset_at"),
    )

    id: Mapped[uuid.UUID] = _id()
    clinic_id: Mapped[uuid.UUID] = _clinic_fk()
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    session_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("treatment_sessions.id"))
    kind: Mapped[str] = mapped_column(String(60))
    onset_at: Mapped[datetime]
    severity: Mapped[str] = mapped_column(String(12))
    action: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime]


class FollowUp(Versioned, Base):
    """A review or retreatment due date, computed from a session and adjustable."""

    __tablename__ = "followups"
    __mapper_args__ = {"version_id_col": Versioned.version}  # noqa: RUF012
    __table_args__ = (
        CheckConstraint("kind IN ('review', 'retreatment')", name="kind"),
        CheckConstraint("status IN ('open', 'done', 'cancelled')", name="status"),
        Index(None, "clinic_id", "status", "due_on", "id"),
        Index(None, "patient_id", "due_on"),
    )

    id: Mapped[uuid.UUID] = _id()
    clinic_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clinics.id"))
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("treatment_sessions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="open")
    basis: Mapped[str] = mapped_column(String(200))  # why this date: the cited duration or a person
    completed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class FollowUpContact(Base):
    """The desk called or wrote to a patient about a follow-up (append-only; the follow-up
    stays open until it is done). A table of its own, so that the follow-ups' audited
    snapshots are unchanged by it."""

    __tablename__ = "followup_contacts"
    __table_args__ = (Index(None, "followup_id", "contacted_at"),)

    id: Mapped[uuid.UUID] = _id()
    clinic_id: Mapped[uuid.UUID] = _clinic_fk()
    followup_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("followups.id"))
    contacted_at: Mapped[datetime]
    contacted_by: Mapped[str] = mapped_column(String(80))  # the audit log's actor
    note: Mapped[str | None] = mapped_column(String(200))


class PhotoRecord(Base):
    """Metadata of a content-addressed photo file (the bytes live on disk, named by SHA-256).

    The picture itself, once read, is a :class:`~dosemap.imaging.intake.Photo`.
    """

    __tablename__ = "photos"
    __table_args__ = (Index(None, "patient_id", "taken_at"),)

    id: Mapped[uuid.UUID] = _id()
    clinic_id: Mapped[uuid.UUID] = _clinic_fk()
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    session_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("treatment_sessions.id"))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    media_type: Mapped[str] = mapped_column(String(60))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    view: Mapped[str | None] = mapped_column(String(40))  # frontal, left_oblique …
    taken_at: Mapped[datetime]
    created_at: Mapped[datetime]


class OutcomeMeasurement(Base):
    """A measurement taken from a photo, linked to a session and a zone."""

    __tablename__ = "outcome_measurements"

    id: Mapped[uuid.UUID] = _id()
    clinic_id: Mapped[uuid.UUID] = _clinic_fk()
    photo_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("photos.id"), index=True)
    session_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("treatment_sessions.id"), index=True
    )
    zone: Mapped[str | None] = mapped_column(String(60))
    metric: Mapped[str] = mapped_column(String(60))
    value: Mapped[float] = mapped_column(Float)  # a photo measurement, not a dose
    unit: Mapped[str] = mapped_column(String(20))
    measured_at: Mapped[datetime]


class AuditEntry(Base):
    """One append-only, hash-chained audit entry: who, when, what, before/after digests."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "entity", "entity_id"),)

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    clinic_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(60))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(80))
    before_digest: Mapped[str | None] = mapped_column(String(64))
    after_digest: Mapped[str | None] = mapped_column(String(64))
    # One short keyed digest per field of the record after the write (names what changed).
    after_fields: Mapped[dict[str, Any] | None]
    # What a signature covers (sign and amend entries): the signed content's SHA-256.
    content_sha256: Mapped[str | None] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(16))  # which audit key the hash is under
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(Base):
    """The chain's last sequence number and hash; locking this row serialises audit appends."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class PlanAcknowledgement(Base):
    """A clinician's acceptance of one warning on a session's plan: who, when, why.

    It names the finding by code, zone and point numbers; a warning that changes needs a new one.
    """

    __tablename__ = "plan_acknowledgements"
    __table_args__ = (Index(None, "session_id", "code"),)

    id: Mapped[uuid.UUID] = _id()
    clinic_id: Mapped[uuid.UUID] = _clinic_fk()
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("treatment_sessions.id"))
    code: Mapped[str] = mapped_column(String(60))
    zone: Mapped[str | None] = mapped_column(String(60))
    point_numbers: Mapped[dict[str, Any]]  # {"numbers": [...]}
    reason: Mapped[str] = mapped_column(Text)
    acknowledged_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    acknowledged_by_name: Mapped[str] = mapped_column(String(200))
    acknowledged_at: Mapped[datetime]


class ChartTap(Base):
    """One tap in chart mode, kept as sent: written once under the id the device made for it.

    A device that lost the answer sends the same tap again; the id makes the second write a no-op.
    ``seq`` is the order the server took them in; the chart is replayed from the taps in it.
    """

    __tablename__ = "chart_taps"
    __table_args__ = (
        UniqueConstraint("session_id", "seq"),
        CheckConstraint("action IN ('done', 'skipped', 'undo')", name="action"),
        CheckConstraint("volume_ul IS NULL OR volume_ul > 0", name="volume_ul_positive"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # made by the device
    clinic_id: Mapped[uuid.UUID] = _clinic_fk()
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("treatment_sessions.id"))
    seq: Mapped[int] = mapped_column(Integer)
    point_number: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(12))
    volume_ul: Mapped[Decimal | None]
    vial_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("vials.id"))
    tapped_at: Mapped[datetime]  # the device's clock
    recorded_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(80))


# --- The web app's accounts, sessions, access log and tokens (migration 0002) -------------------


class UserAccount(Versioned, Base):
    """A login to the web app: one person at one clinic, with one role.

    ``staff_id`` links the account to the staff member it acts as (an auditor may have none).
    Usernames are unique across the deployment, so a login names one clinic.
    """

    __tablename__ = "user_accounts"
    __mapper_args__ = {"version_id_col": Versioned.version}  # noqa: RUF012
    __table_args__ = (
        CheckConstraint(
            "role IN ('admin', 'prescriber', 'injector', 'front_desk', 'auditor')", name="role"
        ),
    )

    id: Mapped[uuid.UUID] = _id()
    clinic_id: Mapped[uuid.UUID] = _clinic_fk()
    staff_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    #: The last TOTP time step (Unix time // 30) accepted: a code is accepted once.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    #: How many times every session of the login was ended (deactivation, role change):
    #: a session kept outside the database (Redis) began at a count and ends when it moves.
    sessions_ended: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class WebSession(Base):
    """A signed-in browser: the SHA-256 of its cookie token, never the token itself."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_accounts.id"), index=True)
    clinic_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clinics.id"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    pending_totp: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]  # the absolute lifetime's end


class AccessLogEntry(Base):
    """One read of a patient's record: who, when, what (beside the audit chain of writes)."""

    __tablename__ = "access_log"
    # One index: every read inserts a row, and each index is written with it. The Audit
    # page's filters walk this one newest first (migration 0014 says what that costs).
    __table_args__ = (Index(None, "clinic_id", "at"),)

    id: Mapped[uuid.UUID] = _id()
    at: Mapped[datetime]
    clinic_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clinics.id"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_accounts.id"))
    action: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(80))
    via: Mapped[str] = mapped_column(String(80))  # the page or API route that showed it


class AccessToken(Base):
    """A personal access token for scripts: hashed at rest, scoped, revocable."""

    __tablename__ = "access_tokens"

    id: Mapped[uuid.UUID] = _id()
    clinic_id: Mapped[uuid.UUID] = _clinic_fk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(Text)  # space-separated permission names
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class ClinicWebPolicy(Base):
    """A clinic's sign-in policy: which roles must use a second factor (TOTP)."""

    __tablename__ = "clinic_web_policies"

    clinic_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clinics.id"), primary_key=True)
    totp_required_roles: Mapped[str] = mapped_column(String(200), default="")


# --- The web app's intake, consent and photo pages (migration 0004) ------------------------------


class KioskPass(Base):
    """A one-time pass that opens the patient kiosk for one patient's questionnaire.

    Only SHA-256 digests of the link token, the short code and the kiosk session's cookie are
    kept; the pass is redeemed once and its session ends when the answers are saved.
    """

    __tablename__ = "kiosk_passes"

    id: Mapped[uuid.UUID] = _id()
    clinic_id: Mapped[uuid.UUID] = _clinic_fk()
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_accounts.id"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    code_hash: Mapped[str] = mapped_column(String(64), index=True)
    redeemed_at: Mapped[datetime | None]
    session_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    session_expires_at: Mapped[datetime | None]
    csrf_token: Mapped[str | None] = mapped_column(String(64))
    finished_at: Mapped[datetime | None]


class ConsentText(Base):
    """One version of a clinic's consent text for a procedure (never changed once stored: a
    new wording is a new version). A signed consent names its version and SHA-256."""

    __tablename__ = "consent_texts"
    __table_args__ = (UniqueConstraint("clinic_id", "procedure", "version"),)

    id: Mapped[uuid.UUID] = _id()
    clinic_id: Mapped[uuid.UUID] = _clinic_fk()
    procedure: Mapped[str] = mapped_column(String(60))
    version: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    text_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class PhotoJob(Base):
    """A photo's analysis run outside the request: its capture quality (measured at upload)
    and the landmarks and skin metrics the job adds, with the job's state."""

    __tablename__ = "photo_jobs"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status"),
    )

    id: Mapped[uuid.UUID] = _id()
    clinic_id: Mapped[uuid.UUID] = _clinic_fk()
    photo_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("photos.id"), index=True)
    status: Mapped[str] = mapped_column(String(12))
    runner: Mapped[str] = mapped_column(String(20))  # "pool" (in-process) or "rq"
    quality: Mapped[dict[str, Any]]
    result: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(Text)
    queued_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


# --- Clinic groups: sites that may share staff where a site grants it (migration 0011) ----------


class ClinicGroup(Base):
    """Several clinics (sites) of one owner. Being in a group shares nothing by itself: a
    site's records open to a person of a sibling site only through a :class:`SiteGrant`."""

    __tablename__ = "clinic_groups"

    id: Mapped[uuid.UUID] = _id()
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime]


class ClinicGroupMember(Base):
    """A clinic's group (at most one). A table of its own, not a column on ``clinics``: a
    clinic's row stays as it was, and a clinic in no group has no row."""

    __tablename__ = "clinic_group_members"

    clinic_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clinics.id"), primary_key=True)
    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clinic_groups.id"), index=True)
    joined_at: Mapped[datetime]


class SiteGrant(Versioned, Base):
    """A login of one site may work at another site of the same group (``clinic_id``), with
    ``role`` there, until ``expires_at`` or revocation. One row per (login, site): granting
    again renews it; the audit chain keeps every change."""

    __tablename__ = "site_grants"
    __mapper_args__ = {"version_id_col": Versioned.version}  # noqa: RUF012
    __table_args__ = (
        UniqueConstraint("account_id", "clinic_id"),
        CheckConstraint("role IN ('prescriber', 'injector', 'front_desk', 'auditor')", name="role"),
    )

    id: Mapped[uuid.UUID] = _id()
    clinic_id: Mapped[uuid.UUID] = _clinic_fk()  # the site granting access
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_accounts.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    # The staff member of this site the person acts as here (credentials are per site).
    staff_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    granted_by: Mapped[str] = mapped_column(String(80))
    granted_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(80))
