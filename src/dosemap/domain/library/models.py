"""Reference-library records: products, unit conversions, protocols, adjuncts, techniques, goals.

Every clinical number is a :class:`~dosemap.domain.evidence.Cited` value. Records are frozen
pydantic models so that the same classes validate the embedded data, a clinic's TOML file and
the published JSON Schema.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from dosemap.domain.evidence import Cited

ID_PATTERN = r"^[a-z0-9_]+$"


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ContraindicationCode(StrEnum):
    """Intake items that block or caution a toxin treatment (see ``clinical.md`` §2.2-2.5, §5)."""

    HYPERSENSITIVITY = "hypersensitivity"
    INFECTION_AT_SITE = "infection_at_site"
    NEUROMUSCULAR_DISEASE = "neuromuscular_disease"
    AMINOGLYCOSIDES = "aminoglycosides"
    PREGNANCY = "pregnancy"
    BREASTFEEDING = "breastfeeding"
    COW_MILK_PROTEIN_ALLERGY = "cow_milk_protein_allergy"
    AGE_LIMIT = "age_limit"
    ANTICOAGULANTS = "anticoagulants"
    DRY_SKIN_OR_ECZEMA = "dry_skin_or_eczema"
    RECENT_TOXIN = "recent_toxin"


class Severity(StrEnum):
    """Severity of a safety finding or of a contraindication."""

    BLOCK = "block"
    WARN = "warn"
    INFO = "info"


class LabelDilution(_Record):
    """One row of a product's label reconstitution table."""

    vial_units: Decimal = Field(gt=0)
    diluent_ml: Decimal = Field(gt=0)
    units_per_0_1_ml: Cited[Decimal]


class BeyondUsePolicy(_Record):
    """How long a reconstituted vial may be used, under one policy.

    ``label`` (e.g. 24 h) and ``consensus`` (ASDS 2015: >= 4 weeks) are separate policies a
    clinic chooses between; neither is presented as the only answer.
    """

    id: str = Field(pattern=ID_PATTERN)
    name: str
    hours: Cited[int]
    storage: str


class SharedBeyondUsePolicy(BeyondUsePolicy):
    """A beyond-use policy declared once for several products (``[beyond_use_policies.<id>]``).

    On load it is added to each listed product's ``beyond_use_policies``; a clinic uses it to add
    its own policy without restating the product.
    """

    products: tuple[str, ...] = Field(min_length=1)


class LabelIndication(_Record):
    """A labelled cosmetic (intramuscular) indication and its dose."""

    area: str
    units: Cited[Decimal]
    sites: int | None = None
    volume_ml: Decimal | None = None


class ProductContraindication(_Record):
    """A contraindication or caution that applies to a product."""

    code: ContraindicationCode
    severity: Severity
    text: Cited[str]


class Product(_Record):
    """A botulinum toxin product as it is bought and labelled."""

    id: str = Field(pattern=ID_PATTERN)
    name: str
    inn: str
    manufacturer: str
    vial_sizes_units: Cited[tuple[Decimal, ...]]
    diluent: str
    label_dilutions: tuple[LabelDilution, ...] = ()
    beyond_use_policies: tuple[BeyondUsePolicy, ...] = ()
    storage_unopened: Cited[str]
    label_indications: tuple[LabelIndication, ...] = ()
    session_ceiling_units: Cited[Decimal] | None = None
    min_retreatment_days: Cited[int]
    contraindications: tuple[ProductContraindication, ...] = ()
    warnings: tuple[Cited[str], ...] = ()
    contains_human_albumin: Cited[bool]
    contains_cow_milk_protein: Cited[bool]
    ready_to_use: bool = False
    age_limit: AgeLimit | None = None


class UnitConversion(_Record):
    """Units of ``product`` per one onabotulinumtoxinA (Botox) unit, with the published range.

    ``is_potency_ratio`` is false where the ratio compares label doses, not potency (Daxxify):
    conversions with it are shown but never used silently.
    """

    product: str = Field(pattern=ID_PATTERN)
    units_per_botox_unit: Cited[Decimal]
    low: Decimal = Field(gt=0)
    high: Decimal = Field(gt=0)
    is_potency_ratio: bool = True
    caveat: str = "Labels state that units are not interchangeable between products."


class StockDilution(_Record):
    """How a protocol reconstitutes the vial."""

    product: str = Field(pattern=ID_PATTERN)
    vial_units: Decimal = Field(gt=0)
    diluent_ml: Decimal = Field(gt=0)
    diluent: str = "preservative-free 0.9% saline"


class MixComponent(_Record):
    """One part of a working mix, in mL per 1 mL of finished mix or per batch."""

    adjunct: str = Field(pattern=ID_PATTERN)  # "stock" means the reconstituted toxin
    volume_ml: Decimal = Field(ge=0)


class LatticeKind(StrEnum):
    """The pattern points are laid in: ``hex`` (every neighbour at the spacing), ``square``
    (a regular grid, e.g. Diaspro's 1-cm grid), ``stamp`` (a device's square footprint edge to
    edge at its pitch)."""

    HEX = "hex"
    SQUARE = "square"
    STAMP = "stamp"


class CapNote(_Record):
    """A published protocol that exceeds a cap, said explicitly by its preset.

    While the plan's total is at most the preset's ``published_total_units``, the cap's finding
    is reported as DM110 (a warning the clinician acknowledges, quoting ``note``) instead of its
    block; above the published total the cap blocks as usual.
    """

    finding: str = Field(pattern=r"^dm1[0-9]{2}$")
    note: Cited[str]


class Protocol(_Record):
    """A published (or clinic-added) micro-dose protocol, offered as a selectable preset.

    ``lattice``: the cited point pattern; without it the technique's kind decides (needle: hex,
    stamp: stamp). ``published_total_units``: the total the source gave per session, in the
    stock product's units; ``cap_notes``: caps the published protocol exceeds (see
    :class:`CapNote`).
    """

    id: str = Field(pattern=ID_PATTERN)
    name: str
    summary: str
    source: str
    tag: str  # overall evidence tag, an EvidenceTag value
    stock: StockDilution
    working_units_per_ml: Cited[Decimal]
    working_mix: tuple[MixComponent, ...] = ()
    volume_per_point_ul: Cited[Decimal]
    spacing_mm: Cited[Decimal]
    technique: str = Field(pattern=ID_PATTERN)
    needle: Cited[str]
    zones: tuple[str, ...]
    goals: tuple[str, ...]
    zone_ceiling_units: dict[str, Cited[Decimal]] = Field(default_factory=dict)
    session_ceiling_units: Cited[Decimal] | None = None
    typical_total: Cited[str] | None = None
    onset_days: Cited[str] | None = None
    duration: Cited[str] | None = None
    lattice: Cited[LatticeKind] | None = None
    published_total_units: Cited[Decimal] | None = None
    cap_notes: tuple[CapNote, ...] = ()


class AdjunctKind(StrEnum):
    """What an adjunct is, for safety rules (HA carries vascular-occlusion risk)."""

    SALINE = "saline"
    ANAESTHETIC = "anaesthetic"
    HYALURONIC_ACID = "hyaluronic_acid"
    ANTIOXIDANT = "antioxidant"
    AUTOLOGOUS = "autologous"


class Adjunct(_Record):
    """A non-toxin ingredient of a working mix."""

    id: str = Field(pattern=ID_PATTERN)
    name: str
    kind: AdjunctKind
    description: Cited[str]


class TechniqueKind(StrEnum):
    """Needle injection or microinfusion stamp."""

    NEEDLE = "needle"
    STAMP = "stamp"


class Technique(_Record):
    """How the droplet is placed: depth, endpoint, and for stamps the device geometry."""

    id: str = Field(pattern=ID_PATTERN)
    name: str
    kind: TechniqueKind
    depth: Cited[str]
    depth_mm_low: Decimal = Field(ge=0)
    depth_mm_high: Decimal = Field(gt=0)
    endpoint: str
    typical_volume_per_point_ul: Cited[Decimal]
    needles_per_stamp: int | None = None
    needle_length_mm: Cited[Decimal] | None = None
    volume_per_stamp_ul: Cited[Decimal] | None = None
    stamp_pitch_mm: Decimal | None = None


class Goal(_Record):
    """A treatment goal, with the zones and presets suggested for it."""

    id: str = Field(pattern=ID_PATTERN)
    name: str
    zones: tuple[str, ...]
    protocols: tuple[str, ...]
    rationale: Cited[str]


# --------------------------------------------------------------------------- safety settings
# Every figure a safety rule or the planner compares against, in data (60_safety.toml), each
# cited and overridable by a clinic's file (a clinic's own figure is tagged CLINIC).

FINDING_ID_PATTERN = r"^dm[1-9][0-9]{2}$"


class FindingSeverity(_Record):
    """The severity a finding code is reported with (``[findings.dm101]``).

    The id is the code's number in lower case (``dm101`` for ``DM101-ZONE-CEILING``). Where a
    product's own record gives a severity (its contraindications), that one is used instead.
    """

    id: str = Field(pattern=FINDING_ID_PATTERN)
    severity: Cited[Severity]


class Figure(_Record):
    """One number a rule or the planner uses (``[figures.<id>]``): a value with its unit."""

    id: str = Field(pattern=ID_PATTERN)
    unit: str = Field(min_length=1)
    value: Cited[Decimal]


class MarginGrade(StrEnum):
    """How a breach of a danger zone's margin is reported (inside the zone always blocks).

    ``hard``: within the margin blocks too (DM202: lips, nostrils, eyelids); ``band``: within
    the margin warns (DM203: brow, central brow, orbital rim, modiolus).
    """

    HARD = "hard"
    BAND = "band"


class DangerMargin(_Record):
    """The margin kept around one danger zone of the atlas (``[danger_margins.<danger id>]``)."""

    id: str = Field(pattern=ID_PATTERN)
    margin_mm: Cited[Decimal]
    grade: MarginGrade


class ZoneCap(_Record):
    """A published cap on the units one group of zones receives in a session
    (``[zone_caps.<id>]``): DM104 cheek, DM105 jawline side, DM106 neck + jawline."""

    id: str = Field(pattern=ID_PATTERN)
    finding: str = Field(pattern=FINDING_ID_PATTERN)
    zones: tuple[str, ...] = Field(min_length=1)
    ceiling_units: Cited[Decimal]
    product: str = Field(pattern=ID_PATTERN)  # the product whose units the cap is stated in
    rationale: str


class DrugClass(_Record):
    """Medication names that mean an intake answer should be yes (``[drug_classes.<id>]``)."""

    id: str = Field(pattern=ID_PATTERN)
    name: str
    answer: ContraindicationCode
    names: Cited[tuple[str, ...]]


class AgeLimitKind(StrEnum):
    """A labelled age from which a product is contraindicated, or beyond its studied population."""

    CONTRAINDICATION = "contraindication"
    POPULATION = "population"


class AgeLimit(_Record):
    """A product's labelled age limit (years; at or above it the rule applies)."""

    years: Cited[int]
    kind: AgeLimitKind


Product.model_rebuild()
