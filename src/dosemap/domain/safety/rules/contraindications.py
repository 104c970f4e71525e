"""Intake contraindications (blocks) and cautions (warnings), as they apply to the product."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from dosemap.domain.evidence import Cited, EvidenceTag
from dosemap.domain.intake import QUESTION_CODES
from dosemap.domain.library.models import ContraindicationCode, Product
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


@dataclass(frozen=True)
class AgeLimit:
    """An age from which a label contraindicates a product (or stops covering it)."""

    years: Cited[int]
    code: Code  # DM809 for a contraindication, DM816 for a population limit


AGE_LIMITS: dict[str, AgeLimit] = {
    "letybo": AgeLimit(
        Cited[int](
            value=75,
            source="letybo_uk_smpc",
            tag=EvidenceTag.LABEL,
            note="Letybo UK SmPC: adults under 75; contraindicated at 75 and over.",
        ),
        codes.AGE_LIMIT,
    ),
    "dysport": AgeLimit(
        Cited[int](
            value=65,
            source="dysport_hcp",
            tag=EvidenceTag.LABEL,
            note="Dysport glabellar-line label covers adults under 65; not a contraindication.",
        ),
        codes.AGE_OUTSIDE_LABEL,
    ),
}
"""Product id -> the labelled age limit. The library states these in words only."""


AMINOGLYCOSIDE_NAMES = (
    "amikacin", "gentamicin", "kanamycin", "neomycin", "netilmicin", "paromomycin",
    "plazomicin", "spectinomycin", "streptomycin", "tobramycin",
)  # fmt: skip
ANTICOAGULANT_NAMES = (
    "apixaban", "aspirin", "clopidogrel", "dabigatran", "edoxaban", "enoxaparin", "heparin",
    "prasugrel", "rivaroxaban", "ticagrelor", "warfarin",
)  # fmt: skip


def _product_entry(product: Product, code: ContraindicationCode) -> Cited[str] | None:
    for entry in product.contraindications:
        if entry.code == code:
            return entry.text
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
    entry = _product_entry(inputs.product, code)
    source = entry.source if entry else default.source
    tag = entry.tag if entry else default.tag
    rationale = _join_unique(entry.value, default.rationale) if entry else default.rationale
    return (finding_code or default.code).finding(
        f"{message} ({inputs.cite(source)})",
        rationale=rationale,
        source=source,
        tag=tag,
        zone=zone,
        point_numbers=points,
    )


def _infection(inputs: Inputs) -> Iterator[Finding]:
    answers = inputs.intake.answers if inputs.intake else None
    if answers is None or answers.infection_at_site is not True:
        return
    zones = set(answers.infection_zones)
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
        yield codes.INTAKE_UNANSWERED.finding(
            f"not answered: {', '.join(unanswered)}",
            rationale="An unanswered question is not a no: ask before treating.",
            source=None,
            tag=None,
        )


def age(inputs: Inputs) -> Iterator[Finding]:
    """DM809/DM810/DM816: a labelled age limit (Letybo UK: contraindicated from 75)."""
    limit = AGE_LIMITS.get(inputs.product.id)
    if limit is None or inputs.intake is None or inputs.reference_date is None:
        return
    years = limit.years
    when = inputs.reference_date.isoformat()
    ages = inputs.intake.age_range_on(inputs.reference_date)
    values = {"age_limit_years": Decimal(years.value)}
    if ages is not None and ages[0] >= years.value:
        yield limit.code.finding(
            f"age {ages[0]} on {when} ≥ {years.value} for {inputs.product.name} "
            f"({inputs.cite(years.source)})",
            rationale=years.note or "",
            source=years.source,
            tag=years.tag,
            values=values | {"age_years": Decimal(ages[0])},
        )
    elif limit.code is codes.AGE_LIMIT and (ages is None or ages[1] >= years.value):
        known = "no age or date of birth" if ages is None else f"age {ages[0]}-{ages[1]}"
        yield codes.AGE_UNKNOWN.finding(
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
    checks = (
        (CC.AMINOGLYCOSIDES, AMINOGLYCOSIDE_NAMES, "an aminoglycoside"),
        (CC.ANTICOAGULANTS, ANTICOAGULANT_NAMES, "an anticoagulant or antiplatelet"),
    )
    for code, names, kind in checks:
        if intake.answers.answer(code) is True:
            continue
        hits = sorted({m for m in intake.medications for name in names if name in m.lower()})
        if hits:
            default = DEFAULTS[code]
            answer = intake.answers.answer(code)
            state = "not answered" if answer is None else "answered no"
            yield codes.MEDICATION_NAMED.finding(
                f"medications list {', '.join(hits)} ({kind}) but {code.value} is {state}",
                rationale=default.rationale,
                source=default.source,
                tag=default.tag,
            )
