"""The intake questionnaire as a form: its questions in the patient's words, the posted form
turned into the core's :class:`~dosemap.domain.intake.Intake`, and what the safety rules find
in the answers.

The staff Intake page and the patient kiosk share this module, so both ask the same questions
and refuse the same bad answers (naming the form field: ``answers.pregnancy``,
``prior_treatments.0.units``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from dosemap.domain.atlas.zones import ZONE_ORDER, ZONES
from dosemap.domain.errors import InvalidInputError
from dosemap.domain.intake import Intake
from dosemap.domain.library import Library
from dosemap.domain.plan import Plan
from dosemap.domain.safety.finding import Finding
from dosemap.domain.safety.inputs import Inputs
from dosemap.domain.safety.rules import contraindications
from dosemap.persistence.db import Database
from dosemap.persistence.unit_of_work import reading
from dosemap.resources import load_library, template_mesh
from dosemap.services._common import now
from dosemap.services.clinic_day import record_read
from dosemap.services.patients import record_intake

#: The questions, in the order asked, as a patient reads them (field of ``answers`` -> text).
QUESTIONS: tuple[tuple[str, str], ...] = (
    (
        "hypersensitivity",
        "Have you ever had an allergic reaction to a botulinum toxin (Botox, Dysport, "
        "Xeomin, …) or any of its ingredients?",
    ),
    (
        "infection_at_site",
        "Do you have an infection, cold sore or inflamed spots (e.g. pustular acne) on your "
        "face right now?",
    ),
    (
        "neuromuscular_disease",
        "Do you have myasthenia gravis, Lambert-Eaton syndrome, ALS or another nerve or "
        "muscle disease?",
    ),
    (
        "aminoglycosides",
        "Are you taking an antibiotic such as gentamicin or another aminoglycoside, or a "
        "medicine that affects nerve-muscle signals?",
    ),
    ("pregnancy", "Are you pregnant, or could you be?"),
    ("breastfeeding", "Are you breastfeeding?"),
    (
        "cow_milk_protein_allergy",
        "Are you allergic to cow's milk protein (not lactose intolerance)?",
    ),
    (
        "anticoagulants",
        "Do you take blood thinners, aspirin, ibuprofen or supplements such as fish oil or ginkgo?",
    ),
    ("dry_skin_or_eczema", "Do you have dry skin, eczema or atopic dermatitis?"),
)
ANSWER_VALUES: Mapping[str, bool | None] = {"yes": True, "no": False, "unsure": None, "": None}
#: How many earlier treatments the form offers rows for.
PRIOR_ROWS = 3
MAX_MEDICATIONS = 40


def zone_choices() -> list[tuple[str, str]]:
    """(zone id, name) of the atlas zones, for "where is the infection" and prior treatments."""
    return [(z, ZONES[z].name) for z in ZONE_ORDER]


def product_choices(library: Library | None = None) -> list[tuple[str, str]]:
    """(product id, name) of the library's products, by name."""
    lib = library or load_library()
    return sorted(((p.id, p.name) for p in lib.products.values()), key=lambda p: p[1])


FormData = Mapping[str, Sequence[str]]


def _one(form: FormData, key: str) -> str:
    values = form.get(key, ())
    return values[-1].strip() if values else ""


def _day(text: str, field: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInputError(field, f"{text!r} is not a date", "YYYY-MM-DD") from None


def intake_from_form(
    form: FormData, *, recorded_on: date, date_of_birth: date | None, library: Library | None = None
) -> Intake:
    """The posted questionnaire as the core's :class:`Intake`.

    Raises :class:`InvalidInputError` or pydantic's ``ValidationError``, both naming the form
    field (``answers.pregnancy``, ``prior_treatments.1.units``).
    """
    answers: dict[str, Any] = {}
    for key, _ in QUESTIONS:
        field = f"answers.{key}"
        raw = _one(form, field)
        if raw not in ANSWER_VALUES:
            raise InvalidInputError(field, f"{raw!r} is not an answer", "yes, no or unsure")
        answers[key] = ANSWER_VALUES[raw]
    known_zones = set(ZONE_ORDER)
    zones = tuple(z for z in form.get("answers.infection_zones", ()) if z)
    for z in zones:
        if z not in known_zones:
            raise InvalidInputError("answers.infection_zones", f"{z!r} is not a zone", "a zone")
    if zones and answers["infection_at_site"] is not True:
        raise InvalidInputError(
            "answers.infection_zones",
            "places an infection, but the infection question is not answered yes",
            "answer yes, or leave the places empty",
        )
    answers["infection_zones"] = zones
    medications = [line.strip() for line in _one(form, "medications").splitlines() if line.strip()]
    if len(medications) > MAX_MEDICATIONS:
        raise InvalidInputError(
            "medications", f"{len(medications)} lines", f"at most {MAX_MEDICATIONS}"
        )
    if any(len(m) > 200 for m in medications):
        raise InvalidInputError("medications", "a line is longer than 200 characters", "≤ 200")
    products = {p for p, _ in product_choices(library)}
    prior: list[dict[str, Any]] = []
    for i in range(PRIOR_ROWS):
        prefix = f"prior_treatments.{i}"
        treated = _one(form, f"{prefix}.treated_on")
        product = _one(form, f"{prefix}.product")
        units_text = _one(form, f"{prefix}.units")
        if not (treated or product or units_text):
            continue  # an empty row
        day = _day(treated, f"{prefix}.treated_on")
        if day is None:
            raise InvalidInputError(f"{prefix}.treated_on", "is missing", "the day of treatment")
        if day > recorded_on:
            raise InvalidInputError(
                f"{prefix}.treated_on", "is after today's questionnaire", f"≤ {recorded_on}"
            )
        if product not in products:
            raise InvalidInputError(
                f"{prefix}.product", "is not a product", "one of the listed products"
            )
        try:
            units = Decimal(units_text)
        except InvalidOperation:
            raise InvalidInputError(f"{prefix}.units", f"{units_text!r}", "a number") from None
        if not units.is_finite():
            raise InvalidInputError(f"{prefix}.units", f"{units_text!r}", "a number")
        prior.append({"treated_on": day, "product": product, "units": units})
    data = {
        "recorded_on": recorded_on,
        "date_of_birth": date_of_birth,
        "answers": answers,
        "medications": tuple(medications),
        "prior_treatments": tuple(prior),
    }
    return Intake.model_validate(data)


def form_from_intake(intake: Intake) -> dict[str, str]:
    """An intake as form values (to show the latest answers pre-filled)."""
    out: dict[str, str] = {}
    for key, _ in QUESTIONS:
        value = getattr(intake.answers, key)
        out[f"answers.{key}"] = "unsure" if value is None else ("yes" if value else "no")
    out["medications"] = "\n".join(intake.medications)
    for i, t in enumerate(intake.prior_treatments[:PRIOR_ROWS]):
        out[f"prior_treatments.{i}.treated_on"] = t.treated_on.isoformat()
        out[f"prior_treatments.{i}.product"] = t.product
        out[f"prior_treatments.{i}.units"] = f"{t.units:f}"
    for z in intake.answers.infection_zones:
        out[f"answers.infection_zones.{z}"] = "on"
    return out


def intake_findings(
    intake: Intake, product_id: str, library: Library | None = None
) -> list[Finding]:
    """What the safety rules find in the answers alone, for ``product_id`` (contraindications,
    age limits, medications): the same rules the plan check runs, before any plan exists."""
    lib = library or load_library()
    product = lib.product(product_id)
    # No plan yet: the rules below read the answers and the product, never the points.
    empty = Plan.model_construct(points=(), product=product_id, protocol=None)  # type: ignore[call-arg]
    inputs = Inputs(
        plan=empty,
        library=lib,
        intake=intake,
        context=None,
        mesh=template_mesh(),
        product=product,
        protocol=None,
        zone_units={},
        total_units=Decimal(0),
        reference_date=intake.recorded_on,
    )
    rules = (contraindications.answers, contraindications.age, contraindications.medications)
    found = [f for rule in rules for f in rule(inputs)]
    return sorted(found, key=Finding.sort_key)


@dataclass(frozen=True)
class IntakeView:
    """What the Intake page shows: whose questionnaire, and the latest answers."""

    patient_id: uuid.UUID
    given_name: str
    family_name: str
    chart_number: str
    date_of_birth: date
    timezone: str
    latest: Intake | None
    latest_at: datetime | None


def intake_view(
    db: Database,
    clinic_id: uuid.UUID,
    patient_id: uuid.UUID,
    *,
    reader: uuid.UUID,
    via: str,
    at: datetime,
) -> IntakeView:
    """The patient's latest intake for the Intake page (the read is access-logged)."""
    with reading(db) as uow:
        p = uow.patients.get(clinic_id, patient_id)
        timezone = uow.clinics.get(clinic_id).timezone
        row = uow.patients.latest_intake(clinic_id, patient_id, at)
    latest = None
    if row is not None:
        try:
            latest = Intake.model_validate(row.answers)
        except ValidationError:
            latest = None  # stored by an older questionnaire the form cannot show
    record_read(
        db, clinic_id=clinic_id, user_id=reader, entity="intake", entity_id=patient_id, via=via
    )
    return IntakeView(
        patient_id=p.id,
        given_name=p.given_name,
        family_name=p.family_name,
        chart_number=p.chart_number,
        date_of_birth=p.date_of_birth,
        timezone=timezone,
        latest=latest,
        latest_at=row.answered_at if row is not None else None,
    )


def clinic_day(
    db: Database, clinic_id: uuid.UUID, patient_id: uuid.UUID, at: datetime
) -> tuple[date, date]:
    with reading(db) as uow:
        p = uow.patients.get(clinic_id, patient_id)
        tz = uow.clinics.get(clinic_id).timezone
    return at.astimezone(ZoneInfo(tz)).date(), p.date_of_birth


def record_intake_form(
    db: Database,
    clinic_id: uuid.UUID,
    patient_id: uuid.UUID,
    form: FormData,
    *,
    actor: str,
    recorded_by: uuid.UUID | None,
    at: datetime | None = None,
) -> Intake:
    """Check the posted questionnaire and store it (one unit of work, audited); a bad answer
    raises naming its field and nothing is written."""
    stamp = at or now()
    day, born = clinic_day(db, clinic_id, patient_id, stamp)
    intake = intake_from_form(form, recorded_on=day, date_of_birth=born)
    record_intake(
        db,
        clinic_id,
        patient_id,
        intake,
        answered_at=stamp,
        actor=actor,
        recorded_by=recorded_by,
    )
    return intake
