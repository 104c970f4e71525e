"""Consent: versioned consent texts and consents signed on the tablet with a drawn signature.

A clinic's texts are stored by version and never changed (a new wording is a new version);
until a clinic publishes its own, dosemap's template (``data/consent/``) is offered and stored
as a version the first time it is signed. A signed consent keeps the version, the SHA-256 of
the exact text shown, the drawn signature (PNG), the time, the signer and the witness.
:func:`signed_consent` returns all of it, for the consent PDF.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime

from pydantic import Field

from dosemap.domain.errors import InvalidInputError
from dosemap.imaging.signature import check_signature_png
from dosemap.persistence.db import Database
from dosemap.persistence.errors import ConflictError, IntegrityError, NotFoundError
from dosemap.persistence.models import Consent, ConsentText
from dosemap.persistence.unit_of_work import UnitOfWork, reading, writing
from dosemap.resources import consent_template
from dosemap.services._common import Input, now
from dosemap.services.clinic_day import record_read
from dosemap.services.staff import MICRODOSE_PROCEDURE

DATA_URL_PREFIX = "data:image/png;base64,"


def text_sha256(text: str) -> str:
    """The SHA-256 of a consent text as signed (UTF-8)."""
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class ConsentTextView:
    """A consent text version as the page shows it."""

    procedure: str
    version: str
    title: str
    text: str
    sha256: str
    template: bool  # dosemap's template, not (yet) a version the clinic stored itself


@dataclass(frozen=True)
class ConsentLine:
    """One signed consent of a patient."""

    consent_id: uuid.UUID
    procedure: str
    text_version: str
    text_sha256: str
    signer: str
    witness: str | None
    signed_at: datetime
    withdrawn_at: datetime | None
    has_drawing: bool


@dataclass(frozen=True)
class SignedConsent:
    """Everything a consent document prints: the text as signed, the drawn signature, who,
    when, and the witness."""

    consent_id: uuid.UUID
    patient_id: uuid.UUID
    procedure: str
    title: str
    text: str
    text_version: str
    text_sha256: str
    signature_png: bytes | None
    signer: str
    witness: str | None
    signed_at: datetime
    withdrawn_at: datetime | None
    timezone: str  # the clinic's, for showing the time


class TextInput(Input):
    """A new version of a clinic's consent text."""

    procedure: str = Field(default=MICRODOSE_PROCEDURE, min_length=1, max_length=60)
    version: str = Field(min_length=1, max_length=40, pattern=r"^[\w.\-]+$")
    title: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=20, max_length=50_000)


#: The longest signature the pad may send (``data:image/png;base64,…``): room for the base64
#: of the largest drawing accepted (``imaging.signature.MAX_SIGNATURE_BYTES``, 512 KiB).
MAX_SIGNATURE_URL_CHARS = 800_000


class SignatureInput(Input):
    """What the Consent page posts."""

    text_version: str = Field(min_length=1, max_length=40)
    text_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    signer_name: str = Field(min_length=1, max_length=200)
    signature: str = Field(min_length=1, max_length=MAX_SIGNATURE_URL_CHARS)


def _template(procedure: str) -> ConsentTextView:
    try:
        version, title, text = consent_template(procedure)
    except LookupError:
        raise InvalidInputError("procedure", f"{procedure!r} has no consent text", None) from None
    return ConsentTextView(procedure, version, title, text, text_sha256(text), template=True)


def _view(row: ConsentText) -> ConsentTextView:
    return ConsentTextView(
        row.procedure, row.version, row.title, row.text, row.text_sha256, template=False
    )


def current_text(
    db: Database, clinic_id: uuid.UUID, procedure: str = MICRODOSE_PROCEDURE
) -> ConsentTextView:
    """The text a patient signs today: the clinic's newest version, else dosemap's template."""
    with reading(db) as uow:
        uow.clinics.get(clinic_id)
        row = uow.consent_texts.latest(clinic_id, procedure)
    return _view(row) if row is not None else _template(procedure)


def text_versions(
    db: Database, clinic_id: uuid.UUID, procedure: str = MICRODOSE_PROCEDURE
) -> list[ConsentTextView]:
    """Every version the clinic stored, newest first."""
    with reading(db) as uow:
        return [_view(r) for r in uow.consent_texts.all_of(clinic_id, procedure)]


def publish_text(
    db: Database, clinic_id: uuid.UUID, data: TextInput, *, actor: str
) -> ConsentTextView:
    """Store a new version of the clinic's text (a version name is used once)."""
    with writing(db) as uow:
        uow.clinics.get(clinic_id)
        if uow.consent_texts.version(clinic_id, data.procedure, data.version) is not None:
            raise InvalidInputError("version", f"{data.version!r} exists", "a new version name")
        row = _store_text(uow, clinic_id, data.procedure, data.version, data.title, data.text)
        uow.audit.record(
            clinic_id=clinic_id,
            actor=actor,
            action="create",
            entity="consent_text",
            entity_id=row.id,
            before=None,
            after=row,
        )
        return _view(row)


def _store_text(
    uow: UnitOfWork, clinic_id: uuid.UUID, procedure: str, version: str, title: str, text: str
) -> ConsentText:
    row = ConsentText(
        id=uuid.uuid4(),
        clinic_id=clinic_id,
        procedure=procedure,
        version=version,
        title=title,
        text=text,
        text_sha256=text_sha256(text),
        created_at=now(),
    )
    uow.consent_texts.add(row)
    return row


def decode_signature(data_url: str) -> bytes:
    """The PNG bytes of the pad's ``data:image/png;base64,…`` (checked: a PNG with ink)."""
    if not data_url.startswith(DATA_URL_PREFIX):
        raise InvalidInputError("signature", "is not a drawn signature", "a signature on the pad")
    try:
        png = base64.b64decode(data_url[len(DATA_URL_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInputError("signature", "is damaged", "a signature on the pad") from None
    check_signature_png(png, "signature")
    return png


def sign_consent(
    db: Database,
    clinic_id: uuid.UUID,
    patient_id: uuid.UUID,
    data: SignatureInput,
    *,
    witness: str,
    actor: str,
    procedure: str = MICRODOSE_PROCEDURE,
    at: datetime | None = None,
) -> Consent:
    """Store a consent signed on the tablet, in one unit of work with its audit entry.

    The text must be the version the page showed, unchanged (its SHA-256): if the clinic
    published a new version meanwhile, :class:`ConflictError` (the patient must read it).
    """
    png = decode_signature(data.signature)
    stamp = at or now()
    with writing(db) as uow:
        uow.patients.get(clinic_id, patient_id)
        stored = uow.consent_texts.version(clinic_id, procedure, data.text_version)
        latest = uow.consent_texts.latest(clinic_id, procedure)
        if stored is None:
            template = _template(procedure)
            if latest is not None or data.text_version != template.version:
                raise ConflictError(
                    "consent_text", data.text_version, "the consent text changed; read it again"
                )
            stored = _store_text(
                uow, clinic_id, procedure, template.version, template.title, template.text
            )
            uow.audit.record(
                clinic_id=clinic_id,
                actor=actor,
                action="create",
                entity="consent_text",
                entity_id=stored.id,
                before=None,
                after=stored,
            )
        elif latest is not None and latest.id != stored.id:
            raise ConflictError(
                "consent_text", data.text_version, "a newer consent text exists; read it again"
            )
        if stored.text_sha256 != data.text_sha256:
            raise ConflictError(
                "consent_text", data.text_version, "the text shown is not the stored text"
            )
        row = Consent(
            id=uuid.uuid4(),
            clinic_id=clinic_id,
            patient_id=patient_id,
            procedure=procedure,
            text_version=stored.version,
            text_sha256=stored.text_sha256,
            signature=data.signer_name,
            signature_png=png,
            text=stored.text,
            signed_at=stamp,
            witness_name=witness,
            created_at=stamp,
        )
        uow.patients.add(row)
        uow.audit.record(
            clinic_id=clinic_id,
            actor=actor,
            action="create",
            entity="consent",
            entity_id=row.id,
            before=None,
            after=row,
        )
        return row


def consents_of(db: Database, clinic_id: uuid.UUID, patient_id: uuid.UUID) -> list[ConsentLine]:
    """A patient's consents, newest first."""
    with reading(db) as uow:
        uow.patients.get(clinic_id, patient_id)
        rows = uow.consent_texts.signed_by(clinic_id, patient_id)
    return [ConsentLine(*row) for row in rows]


def signed_consent(
    db: Database,
    clinic_id: uuid.UUID,
    consent_id: uuid.UUID,
    *,
    patient_id: uuid.UUID | None = None,
    reader: uuid.UUID | None = None,
    via: str = "",
) -> SignedConsent:
    """One signed consent with its text and drawn signature (for the page and the PDF).

    The text is the stored version, checked against the SHA-256 kept with the signature; a
    consent signed before versions were stored (or on paper) has text ``""``. With
    ``patient_id``, another patient's consent is not found; with ``reader``, the read is
    access-logged.
    """
    with reading(db) as uow:
        found = uow.consent_texts.consent(clinic_id, consent_id)
        if found is None or (patient_id is not None and found[0].patient_id != patient_id):
            raise NotFoundError("consent", str(consent_id))
        row, text = found
        timezone = uow.clinics.get(clinic_id).timezone
    title, body = ("", "")
    if text is not None:
        if text.text_sha256 != row.text_sha256:
            raise IntegrityError(f"consent {consent_id}: its text does not match its SHA-256")
        title, body = text.title, text.text
    if reader is not None:
        record_read(
            db,
            clinic_id=clinic_id,
            user_id=reader,
            entity="consent",
            entity_id=row.id,
            via=via,
        )
    return SignedConsent(
        consent_id=row.id,
        patient_id=row.patient_id,
        procedure=row.procedure,
        title=title,
        text=body,
        text_version=row.text_version,
        text_sha256=row.text_sha256,
        signature_png=row.signature_png,
        signer=row.signature,
        witness=row.witness_name,
        signed_at=row.signed_at,
        withdrawn_at=row.withdrawn_at,
        timezone=timezone,
    )
