"""Intake contraindications (blocks) and cautions (warnings), as they apply to the product."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from dosemap.domain.evidence import EvidenceTag
from dosemap.domain.intake import QUESTION_CODES
from dosemap.domain.library.models import (
    AgeLimitKind,
    ContraindicationCode,
    Product,
    ProductContraindication,
)
from dosemap.domain.library.zones import KNOWN_ZONES, ZONE_ORDER
from dosemap.domain.safety import finding as codes
from dosemap.domain.safety.finding import Code, Finding
from dosemap.domain.safety.inputs import Inputs

CC = ContraindicationCode


@dataclass(frozen=True)
class Default:
    """What a positive answer means when the product's library record does not list the code."""

    code: Code
    source: str
    tag: EvidenceTag
    rationale: str


DEFAULTS: dict[ContraindicationCode, Default] = {
    CC.HYPERSENSITIVITY: Default(
        codes.HYPERSENSITIVITY,
        "botox_pi_interactions",
        EvidenceTag.LABEL,
        "Every BoNT-A label: contraindicated with known hypersensitivity to any botulinum toxin "
        "product or a formulation component.",
    ),
    CC.INFECTION_AT_SITE: Default(
        codes.INFECTION_AT_SITE,
        "botox_pi_interactions",
        EvidenceTag.LABEL,
        "Every BoNT-A label: contraindicated with infection at the proposed injection site(s).",
    ),
    CC.NEUROMUSCULAR_DISEASE: Default(
        codes.NEUROMUSCULAR,
        "botox_pi_interactions",
        EvidenceTag.LABEL,
        "Pre-existing neuromuscular disorders (MG, LEMS, ALS) raise the risk of severe "
        "systemic effects at typical doses (US label warning; Letybo UK: contraindication).",
    ),
    CC.AMINOGLYCOSIDES: Default(
        codes.AMINOGLYCOSIDES,
        "botox_pi_interactions",
        EvidenceTag.LABEL,
        "Aminoglycosides and other drugs that interfere with neuromuscular transmission may "
        "potentiate the toxin.",
    ),
    CC.PREGNANCY: Default(
        codes.PREGNANCY,
        "jeuveau_label",
        EvidenceTag.ESTABLISHED,
        "Labels: data insufficient in pregnancy; aesthetic practice and trials exclude "
        "pregnant patients.",
    ),
    CC.BREASTFEEDING: Default(
        codes.BREASTFEEDING,
        "jeuveau_label",
        EvidenceTag.ESTABLISHED,
        "Labels: no information on lactation; aesthetic practice and trials exclude "
        "breastfeeding patients.",
    ),
    CC.COW_MILK_PROTEIN_ALLERGY: Default(
        codes.COW_MILK,
        "dysport_patient_pages",
        EvidenceTag.LABEL,
        "Dysport contains cow's milk protein.",
    ),
    CC.ANTICOAGULANTS: Default(
        codes.ANTICOAGULANTS,
        "hamman_2013",
        EvidenceTag.ESTABLISHED,
        "Anticoagulants and antiplatelets raise bruising (filler bruising 19-24%, up to 68%). "
        "Prescription anticoagulants are not stopped without the prescriber.",
    ),
    CC.DRY_SKIN_OR_ECZEMA: Default(
        codes.DRY_SKIN,
        "min_2015",
        EvidenceTag.UNCONFIRMED,
        "The seed article warns that micro-dose toxin can dry the skin: it lowers sebum and "
        "sweat (Min 2015; Park 2021). No primary source lists dry skin or eczema as a "
        "contraindication: UNCONFIRMED, a clinician-judgement caution only.",
    ),
}


AGE_CODES: dict[AgeLimitKind, Code] = {
    AgeLimitKind.CONTRAINDICATION: codes.AGE_LIMIT,
    AgeLimitKind.POPULATION: codes.AGE_OUTSIDE_LABEL,
}
"""Which finding a product's labelled age limit (``age_limit`` in its record) gives."""


def _product_entry(product: Product, code: ContraindicationCode) -> ProductContraindication | None:
    for entry in product.contraindications:
        if entry.code == code:
            return entry
    return None


def _join_unique(first: str, second: str) -> str:
    """``first`` then the sentences of ``second`` it does not already say (no repeated advice)."""
    said = first.strip()
    extra = [
        sentence.strip().rstrip(".") + "."
        for sentence in second.split(". ")
        if sentence.strip().rstrip(".") and sentence.strip().rstrip(".") not in said
    ]
    return " ".join([said, *extra]) if extra else said


def _positive(
    inputs: Inputs,
    code: ContraindicationCode,
    message: str,
    *,
    finding_code: Code | None = None,
    zone: str | None = None,
    points: tuple[int, ...] = (),
) -> Finding:
    """A finding for a "yes" answer, cited from the product's record where it lists the code."""
    default = DEFAULTS[code]
    record = _product_entry(inputs.product, code)
    entry = record.text if record else None
    source = entry.source if entry else default.source
    tag = entry.tag if entry else default.tag
    rationale = _join_unique(entry.value, default.rationale) if entry else default.rationale
    chosen = finding_code or default.code
    # The product's own record sets the severity of a "yes" answer (label contraindication:
    # block; warning or precaution: warn); the findings table is the default.
    severity = record.severity if record is not None and chosen is default.code else None
    return inputs.finding(
        (finding_code or default.code),
        f"{message} ({inputs.cite(source)})",
        rationale=rationale,
        source=source,
        tag=tag,
        zone=zone,
        point_numbers=points,
        severity=severity,
    )


def _infection(inputs: Inputs) -> Iterator[Finding]:
    answers = inputs.intake.answers if inputs.intake else None
    if answers is None or answers.infection_at_site is not True:
        return
    zones = set(answers.infection_zones)
    unknown = sorted(zones - KNOWN_ZONES)
    if unknown:
        # A zone the atlas does not know cannot be ruled out of the plan: location unknown.
        yield _positive(
            inputs,
            CC.INFECTION_AT_SITE,
            f"infection recorded in {', '.join(unknown)}, not a known zone: location unknown",
        )
        return
    if not zones:
        yield _positive(inputs, CC.INFECTION_AT_SITE, "infection recorded, location not given")
        return
    treated = zones & set(inputs.zone_units)
    if treated:
        for zone in sorted(treated):
            yield _positive(
                inputs,
                CC.INFECTION_AT_SITE,
                f"{zone}: infection recorded in a planned zone",
                zone=zone,
                points=inputs.points_in({zone}),
            )
    else:
        yield _positive(
            inputs,
            CC.INFECTION_AT_SITE,
            f"infection recorded in {', '.join(sorted(zones))}, outside the planned zones",
            finding_code=codes.INFECTION_ELSEWHERE,
        )


def intake_zones(inputs: Inputs) -> Iterator[Finding]:
    """DM817: an intake field that names zones names one the atlas does not know."""
    intake = inputs.intake
    if intake is None:
        return
    named = [("infection_zones", z) for z in intake.answers.infection_zones]
    named += [
        (f"prior_treatments[{i}].zones", z)
        for i, treatment in enumerate(intake.prior_treatments)
        for z in treatment.zones
    ]
    unknown = [(field, z) for field, z in named if z not in KNOWN_ZONES]
    if unknown:
        listed = "; ".join(f"{field}: {z!r}" for field, z in unknown)
        yield inputs.finding(
            codes.INTAKE_ZONE_UNKNOWN,
            f"intake names unknown zone(s): {listed} (known: {', '.join(ZONE_ORDER)})",
            rationale="A zone name the software cannot place escapes the per-zone checks; an "
            "infection there is treated as at an unknown location.",
            source=None,
            tag=None,
        )


def answers(inputs: Inputs) -> Iterator[Finding]:
    """DM801-DM808, DM811-DM813: "yes" answers, and questions left unanswered."""
    intake = inputs.intake
    if intake is None:
        return
    product = inputs.product
    yield from _infection(inputs)
    unanswered: list[str] = []
    for code in QUESTION_CODES:
        if code is CC.COW_MILK_PROTEIN_ALLERGY and not product.contains_cow_milk_protein.value:
            continue  # only products containing cow's milk protein (Dysport) are affected
        answer = intake.answers.answer(code)
        if answer is None:
            unanswered.append(code.value)
        elif answer and code is not CC.INFECTION_AT_SITE:
            what = code.value.replace("_", " ")
            yield _positive(inputs, code, f"intake: {what} with {product.name}")
    if unanswered:
        yield inputs.finding(
            codes.INTAKE_UNANSWERED,
            f"not answered: {', '.join(unanswered)}",
            rationale="An unanswered question is not a no: ask before treating.",
            source=None,
            tag=None,
        )


def age(inputs: Inputs) -> Iterator[Finding]:
    """DM809/DM810/DM816: a labelled age limit (Letybo UK: contraindicated from 75)."""
    limit = inputs.product.age_limit
    if limit is None or inputs.intake is None or inputs.reference_date is None:
        return
    years = limit.years
    code = AGE_CODES[limit.kind]
    when = inputs.reference_date.isoformat()
    ages = inputs.intake.age_range_on(inputs.reference_date)
    values = {"age_limit_years": Decimal(years.value)}
    if ages is not None and ages[0] >= years.value:
        yield inputs.finding(
            code,
            f"age {ages[0]} on {when} ≥ {years.value} for {inputs.product.name} "
            f"({inputs.cite(years.source)})",
            rationale=years.note or "",
            source=years.source,
            tag=years.tag,
            values=values | {"age_years": Decimal(ages[0])},
        )
    elif code is codes.AGE_LIMIT and (ages is None or ages[1] >= years.value):
        known = "no age or date of birth" if ages is None else f"age {ages[0]}-{ages[1]}"
        yield inputs.finding(
            codes.AGE_UNKNOWN,
            f"{known} on {when}; {inputs.product.name} is contraindicated from "
            f"{years.value} ({inputs.cite(years.source)})",
            rationale=years.note or "",
            source=years.source,
            tag=years.tag,
            values=values,
        )


def medications(inputs: Inputs) -> Iterator[Finding]:
    """DM815: a listed medication names a drug whose intake question is not answered yes."""
    intake = inputs.intake
    if intake is None:
        return
    for class_id in sorted(inputs.library.drug_classes):
        drugs = inputs.library.drug_classes[class_id]
        code, kind = drugs.answer, drugs.name
        if intake.answers.answer(code) is True:
            continue
        names = drugs.names.value
        hits = sorted({m for m in intake.medications for name in names if name in m.lower()})
        if hits:
            default = DEFAULTS.get(code)
            why = default.rationale if default else (drugs.names.note or "")
            answer = intake.answers.answer(code)
            state = "not answered" if answer is None else "answered no"
            yield inputs.finding(
                codes.MEDICATION_NAMED,
                f"medications list {', '.join(hits)} ({kind}) but {code.value} is {state}",
                rationale=why,
                source=drugs.names.source,
                tag=drugs.names.tag,
            )
