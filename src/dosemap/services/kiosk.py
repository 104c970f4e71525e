"""The patient kiosk: a one-time pass that lets a patient answer their own questionnaire on a
tablet, and nothing else.

Staff open a pass for one patient; it is given to the tablet as a link (a long random token)
or a short code typed at ``/kiosk``. Only SHA-256 digests of the token, the code and the
kiosk session's cookie are stored. A pass expires unused after :data:`PASS_LIFETIME`, is
redeemed once (a second use is refused), and its kiosk session ends when the questionnaire is
saved or :data:`SESSION_LIFETIME` after redeeming, whichever comes first.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from dosemap.domain.errors import InvalidInputError
from dosemap.persistence.db import Database
from dosemap.persistence.models import IntakeRecord, KioskPass
from dosemap.persistence.unit_of_work import reading, writing
from dosemap.services._common import now
from dosemap.services.intake_forms import FormData, clinic_day, intake_from_form
from dosemap.services.signin import hash_token, new_token

#: How long a pass may wait to be used.
PASS_LIFETIME = timedelta(minutes=15)
#: How long the patient has to answer once the pass is redeemed.
SESSION_LIFETIME = timedelta(minutes=30)
#: Short codes: 8 characters without look-alikes (0/O, 1/I/L), about 39 bits; the code form
#: is throttled per address, and a code lives 15 minutes and works once.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8


@dataclass(frozen=True)
class NewPass:
    """A pass as staff see it once: the link token and the code are never stored in clear."""

    pass_id: uuid.UUID
    token: str
    code: str
    expires_at: datetime


@dataclass(frozen=True)
class KioskSession:
    """A tablet in kiosk mode: whose questionnaire it may show, until when."""

    pass_id: uuid.UUID
    clinic_id: uuid.UUID
    patient_id: uuid.UUID
    given_name: str
    csrf_token: str
    expires_at: datetime


def normalise_code(code: str) -> str:
    """A code as typed (spaces, dashes, lower case) in its stored form."""
    return "".join(c for c in code.upper() if c.isalnum())


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def open_pass(
    db: Database,
    clinic_id: uuid.UUID,
    patient_id: uuid.UUID,
    *,
    created_by: uuid.UUID,
    actor: str,
    at: datetime | None = None,
) -> NewPass:
    """Open a one-time kiosk pass for one patient of the clinic (audited)."""
    stamp = at or now()
    token = new_token("k_")
    code = _new_code()
    with writing(db) as uow:
        uow.patients.get(clinic_id, patient_id)
        row = KioskPass(
            id=uuid.uuid4(),
            clinic_id=clinic_id,
            patient_id=patient_id,
            created_by=created_by,
            created_at=stamp,
            expires_at=stamp + PASS_LIFETIME,
            token_hash=hash_token(token),
            code_hash=hash_token(code),
        )
        uow.kiosk.add(row)
        uow.audit.record(
            clinic_id=clinic_id,
            actor=actor,
            action="open",
            entity="kiosk_pass",
            entity_id=row.id,
            before=None,
            after=row,
        )
        return NewPass(row.id, token, code, row.expires_at)


def redeem(
    db: Database, *, token: str = "", code: str = "", at: datetime | None = None
) -> tuple[str, KioskSession]:
    """Use a pass (by link token or code) once; returns the kiosk cookie token and session.

    Raises :class:`InvalidInputError` on the ``code`` field for an unknown, expired or used
    pass — the same words for each, so a guess learns nothing.
    """
    stamp = at or now()
    if token:
        digest, by_token = hash_token(token), True
    else:
        typed = normalise_code(code)
        if len(typed) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in typed):
            raise InvalidInputError(
                "code", "is not a kiosk code", f"{CODE_LENGTH} letters and digits from staff"
            )
        digest, by_token = hash_token(typed), False
    cookie = new_token("ks_")
    with writing(db) as uow:
        row = uow.kiosk.usable(digest, by_token=by_token, at=stamp)
        if row is None:
            raise InvalidInputError(
                "code", "is not valid, expired or already used", "a new code from staff"
            )
        row.redeemed_at = stamp
        row.session_hash = hash_token(cookie)
        row.session_expires_at = min(stamp + SESSION_LIFETIME, row.expires_at + SESSION_LIFETIME)
        row.csrf_token = new_token()
        patient = uow.patients.get(row.clinic_id, row.patient_id)
        session = KioskSession(
            row.id,
            row.clinic_id,
            row.patient_id,
            patient.given_name,
            row.csrf_token,
            row.session_expires_at,
        )
        uow.audit.record(
            clinic_id=row.clinic_id,
            actor=f"kiosk:{row.id}",
            action="redeem",
            entity="kiosk_pass",
            entity_id=row.id,
            before=None,
            after=row,
        )
    return cookie, session


def kiosk_session(db: Database, cookie: str, at: datetime | None = None) -> KioskSession | None:
    """The live kiosk session of this cookie, or ``None`` (ended, expired or unknown)."""
    stamp = at or now()
    with reading(db) as uow:
        found = uow.kiosk.by_session(hash_token(cookie), at=stamp)
        if found is None:
            return None
        row, given_name = found
        return KioskSession(
            row.id,
            row.clinic_id,
            row.patient_id,
            given_name,
            row.csrf_token or "",
            row.session_expires_at or stamp,
        )


def submit_questionnaire(
    db: Database, session: KioskSession, form: FormData, *, at: datetime | None = None
) -> None:
    """Store the patient's answers and end the kiosk session, in one unit of work (a bad
    answer: nothing written, the session stays open so the patient can correct it; a second
    submission of an ended session is refused)."""
    stamp = at or now()
    day, born = clinic_day(db, session.clinic_id, session.patient_id, stamp)
    intake = intake_from_form(form, recorded_on=day, date_of_birth=born)
    with writing(db) as uow:
        row = uow.kiosk.get(session.clinic_id, session.pass_id)
        if row.finished_at is not None:
            raise InvalidInputError("kiosk", "this questionnaire was already handed in", None)
        row.finished_at = stamp
        record = IntakeRecord(
            id=uuid.uuid4(),
            clinic_id=session.clinic_id,
            patient_id=session.patient_id,
            questionnaire_version=intake.schema_version,
            answered_at=stamp,
            answers=intake.model_dump(mode="json"),
            recorded_by=None,  # the patient, on the tablet
            created_at=stamp,
        )
        uow.patients.add(record)
        uow.audit.record(
            clinic_id=session.clinic_id,
            actor=f"kiosk:{session.pass_id}",
            action="create",
            entity="intake",
            entity_id=record.id,
            before=None,
            after=record,
        )


def end_session(db: Database, session: KioskSession, *, at: datetime | None = None) -> None:
    """End a kiosk session (the questionnaire was saved, or the patient handed back)."""
    with writing(db) as uow:
        row = uow.kiosk.get(session.clinic_id, session.pass_id)
        if row.finished_at is None:
            row.finished_at = at or now()
