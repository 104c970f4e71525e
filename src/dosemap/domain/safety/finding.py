"""The finding a safety rule returns, and the catalogue of stable finding codes.

Code scheme: ``DM<group><nn>-<SLUG>``. The group digit names the kind of rule (1 dose ceilings,
2 danger zones, 3 per-point dose, 4 product/units consistency, 5 treatment history, 6 hyaluronic
acid, 7 vials, 8 intake, 9 notices). A code's meaning never changes and a retired code is never
reused; its severity is data (the library's ``findings`` records, a clinic may override them).
``docs/findings.md`` lists every code (a test keeps it in step with
:data:`CATALOGUE`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from dosemap.domain.evidence import EvidenceTag
from dosemap.domain.library.models import Severity

CODE_PATTERN = r"^DM[1-9][0-9]{2}-[A-Z0-9]+(-[A-Z0-9]+)*$"

SEVERITY_RANK: dict[Severity, int] = {Severity.BLOCK: 0, Severity.WARN: 1, Severity.INFO: 2}


class Finding(BaseModel):
    """One thing the check found, with the numbers, the reason and the source behind it.

    ``values`` holds the numbers the message quotes (Decimals; keys name their unit:
    ``zone_units``, ``ceiling_units``, ``ratio``). ``source`` is a library source id (or ``None``
    for a rule that only states what was not checked) and ``tag`` its evidence tag.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=CODE_PATTERN)
    severity: Severity
    title: str
    message: str
    values: dict[str, Decimal] = Field(default_factory=dict)
    zone: str | None = None
    point_numbers: tuple[int, ...] = ()
    rationale: str
    source: str | None = None
    tag: EvidenceTag | None = None

    def sort_key(self) -> tuple[int, str, str, tuple[int, ...], str]:
        """Severity (block first), code, zone, point numbers, then message as a tie-break."""
        return (
            SEVERITY_RANK[self.severity],
            self.code,
            self.zone or "",
            self.point_numbers,
            self.message,
        )


@dataclass(frozen=True, order=True)
class Code:
    """A catalogue entry: the fixed code and title, and what triggers it (for docs).

    The severity is data: the library's ``[findings.<dmNNN>]`` record (``60_safety.toml``,
    overridable by a clinic), or a product record's own severity for an intake code.
    """

    code: str
    title: str
    trigger: str

    @property
    def key(self) -> str:
        """The library key of this code: ``"dm101"``."""
        return self.code.split("-")[0].lower()

    def finding(
        self,
        message: str,
        *,
        severity: Severity,
        rationale: str,
        source: str | None,
        tag: EvidenceTag | None,
        values: dict[str, Decimal] | None = None,
        zone: str | None = None,
        point_numbers: tuple[int, ...] = (),
    ) -> Finding:
        """A :class:`Finding` with this entry's code, severity and title."""
        return Finding(
            code=self.code,
            severity=severity,
            title=self.title,
            message=message,
            values=values or {},
            zone=zone,
            point_numbers=tuple(sorted(point_numbers)),
            rationale=rationale,
            source=source,
            tag=tag,
        )


ZONE_CEILING = Code(
    "DM101-ZONE-CEILING",
    "Zone total above the preset's zone ceiling",
    "a zone's total units exceed the selected protocol's ceiling for that zone",
)
SESSION_CEILING = Code(
    "DM102-SESSION-CEILING",
    "Session total above the preset's ceiling",
    "the plan's total units exceed the selected protocol's session ceiling",
)
LABEL_SESSION_CEILING = Code(
    "DM103-LABEL-SESSION-CEILING",
    "Session total above the product's label ceiling",
    "the plan's total units exceed the product's labelled maximum per session",
)
CHEEK_CAP = Code(
    "DM104-CHEEK-CAP",
    "Cheek above 20 U per cheek",
    "one side's cheek zones total more than 20 U incobotulinumtoxinA-equivalent "
    "(facial palsy at 30 U in the Korean split-face INCO RCT)",
)
JAWLINE_SIDE_CAP = Code(
    "DM105-JAWLINE-SIDE-CAP",
    "Jawline above 20 U per side",
    "one side's jawline zones total more than 20 U onabotulinumtoxinA-equivalent "
    "(Nefertiti chapter: asymmetric smile)",
)
NECK_SESSION_CAP = Code(
    "DM106-NECK-JAWLINE-SESSION-CAP",
    "Neck and jawline above 40 U per session",
    "neck plus jawline zones total more than 40 U onabotulinumtoxinA-equivalent "
    "(Nefertiti chapter: dysphagia/dysphonia)",
)
CAP_CONVERSION_RANGE = Code(
    "DM107-CEILING-WITHIN-CONVERSION-RANGE",
    "Ceiling may be exceeded within the unit-conversion range",
    "a total is within a ceiling given in another product's units at the default conversion "
    "ratio but above it at the other end of the published ratio range",
)
CEILING_NOT_COMPARABLE = Code(
    "DM108-CEILING-NOT-COMPARABLE",
    "Ceiling in another product's units cannot be compared",
    "a ceiling is given in another product's units and the library has no conversion for one "
    "of the two products, so the total was not compared",
)
SUMMARY_MISMATCH = Code(
    "DM109-SUMMARY-MISMATCH",
    "Plan summary contradicts its points",
    "the plan summary's total or zone units differ from the sum over its points "
    "(a hand-edited or corrupted plan file)",
)
PRESET_EXCEEDS_CAP = Code(
    "DM110-PRESET-EXCEEDS-CAP",
    "The preset's published protocol exceeds a cap",
    "a ceiling or cap (DM101-DM106) is exceeded by a plan of a preset whose record says, with a "
    "cited note, that its published protocol exceeds that cap, and the plan's total is within "
    "the preset's published total: the clinician acknowledges it (above the published total "
    "the cap blocks as usual)",
)
DANGER_ZONE = Code(
    "DM201-DANGER-ZONE", "Point inside a danger zone", "a point lies inside a toxin danger zone"
)
DANGER_MARGIN = Code(
    "DM202-DANGER-MARGIN",
    "Point within a danger zone's margin",
    "a point lies outside a toxin danger zone but within its safety margin",
)
DANGER_BAND = Code(
    "DM203-DANGER-BAND",
    "Point within a danger zone's graded margin band",
    "a point lies outside a danger zone but within the margin band the library grades as a band "
    "(brow, central brow, orbital rim, lateral canthus, modiolus), short of the margin by more "
    "than the margin tolerance",
)
POINT_VOLUME_SLIP = Code(
    "DM301-POINT-VOLUME-SLIP",
    "Point volume ≥ 5× the technique's typical",
    "a point's volume is at least 5 times the technique's typical volume per point "
    "(a decimal slip)",
)
POINT_VOLUME_HIGH = Code(
    "DM302-POINT-VOLUME-HIGH",
    "Point volume ≥ 2× the technique's typical",
    "a point's volume is at least 2 (and under 5) times the technique's typical volume per point",
)
POINT_DOSE_SLIP = Code(
    "DM303-POINT-DOSE-SLIP",
    "Point dose ≥ 5× the typical per-point dose",
    "a point's units are at least 5 times the reference per-point dose (the preset's, or the "
    "highest library preset's for the technique)",
)
POINT_DOSE_HIGH = Code(
    "DM304-POINT-DOSE-HIGH",
    "Point dose ≥ 2× the typical per-point dose",
    "a point's units are at least 2 (and under 5) times the reference per-point dose",
)
POINT_DOSE_LOW = Code(
    "DM305-POINT-DOSE-LOW",
    "Point dose ≤ 1/5 of the typical per-point dose",
    "a point's units are at most the reference per-point dose divided by the library's "
    "dose_low_ratio (a decimal slip downwards: under-treatment)",
)
UNITS_LOOK_LIKE_OTHER = Code(
    "DM401-UNITS-LOOK-LIKE-OTHER-PRODUCT",
    "Units look like another product's",
    "the per-point dose is implausible for the plan's product but typical if read as another "
    "product's units (by the conversion ratio)",
)
VIAL_SIZE_NOT_LABELLED = Code(
    "DM402-VIAL-SIZE-NOT-LABELLED",
    "Vial size not sold for this product",
    "the plan's stock vial units are not among the product's labelled vial sizes",
)
MIX_PRODUCT_MISMATCH = Code(
    "DM403-MIX-PRODUCT-MISMATCH",
    "Plan and mix name different products",
    "the plan's product differs from its working mix's product",
)
HA_FLAG_MISMATCH = Code(
    "DM404-HA-FLAG-MISMATCH",
    "Mix contains hyaluronic acid but is not flagged",
    "an ingredient of the mix is a hyaluronic-acid adjunct but the mix's "
    "contains_hyaluronic_acid is false (HA danger zones are then checked as if it were true)",
)
POINT_UNITS_MISMATCH = Code(
    "DM405-POINT-UNITS-MISMATCH",
    "Point units do not follow from volume × concentration",
    "a point's units differ from its volume times the mix concentration by more than "
    "1% (and 0.01 U)",
)
ZONE_UNKNOWN = Code(
    "DM406-ZONE-UNKNOWN",
    "Point labelled with an unknown zone",
    "a point's zone is not a zone id of the face atlas (it would escape every per-zone cap)",
)
ZONE_MISMATCH = Code(
    "DM407-ZONE-MISMATCH",
    "Point is not in the zone it is labelled with",
    "a point's anchor puts it farther outside its labelled zone than the zone-label tolerance",
)
RETREATMENT_INTERVAL = Code(
    "DM501-RETREATMENT-INTERVAL",
    "Retreatment sooner than the minimum interval",
    "a prior toxin treatment is fewer days ago than the product's minimum retreatment interval",
)
BOOSTER_21_DAYS = Code(
    "DM502-BOOSTER-WITHIN-21-DAYS",
    "Booster within 21 days",
    "a prior toxin treatment is fewer than 21 days ago (antibody / non-response risk)",
)
CUMULATIVE_90_DAYS = Code(
    "DM503-CUMULATIVE-90-DAYS",
    "90-day cumulative dose above threshold",
    "Botox-equivalent units of this plan plus prior treatments in the 90 days before it exceed "
    "400 U (at the high end of the conversion range)",
)
PRIOR_PRODUCT_UNKNOWN = Code(
    "DM504-PRIOR-PRODUCT-UNKNOWN",
    "Prior treatment product unknown",
    "a prior treatment names a product the library does not hold; its units are counted 1:1",
)
CUMULATIVE_CLINIC = Code(
    "DM505-CUMULATIVE-CLINIC-THRESHOLD",
    "Rolling total above the clinic's cumulative threshold",
    "Botox-equivalent units of this plan plus the prior treatments in the cumulative window, at "
    "the high end of the conversion range, exceed the clinic's cumulative threshold",
)
ROLLING_TOTALS = Code(
    "DM506-ROLLING-TOTALS",
    "Rolling Botox-equivalent totals",
    "always with an intake: the rolling window's Botox-equivalent total (with its range) and "
    "the per-area totals including this plan",
)
HA_VASCULAR_ZONE = Code(
    "DM601-HA-VASCULAR-ZONE",
    "Hyaluronic acid in a vascular high-risk area",
    "the mix contains hyaluronic acid and a point lies in or near a vascular (filler) danger zone",
)
HA_NO_HYALURONIDASE = Code(
    "DM602-HA-NO-HYALURONIDASE",
    "Hyaluronic acid in a vascular high-risk area without hyaluronidase",
    "as DM601, and the session context records no hyaluronidase on hand",
)
VIAL_BEYOND_USE = Code(
    "DM701-VIAL-BEYOND-USE",
    "Reconstituted vial past its beyond-use time",
    "treatment time is after a vial's beyond-use time (its policy's hours after reconstitution, "
    "or the explicit beyond_use_at)",
)
LOT_EXPIRED = Code(
    "DM702-LOT-EXPIRED", "Expired lot", "the treatment date is after a vial's lot expiry date"
)
VIAL_PRODUCT_MISMATCH = Code(
    "DM703-VIAL-PRODUCT-MISMATCH",
    "Vial is not the plan's product",
    "a vial in the session context is a different product from the plan's",
)
NO_VIAL_FOR_PRODUCT = Code(
    "DM704-NO-VIAL-FOR-PRODUCT",
    "No vial of the plan's product listed",
    "the session context lists vials but none of the plan's product",
)
BEYOND_USE_UNCONFIRMED = Code(
    "DM705-BEYOND-USE-UNCONFIRMED",
    "Vial usable only under a weakly supported beyond-use policy",
    "a reconstituted vial is within its beyond-use time only because of a policy whose hours "
    "are tagged UNCONFIRMED or LOW-AUTHORITY (e.g. Daxxify 72 h)",
)


def _ci(number: int, slug: str, title: str, trigger: str) -> Code:
    return Code(f"DM8{number:02d}-{slug}", title, trigger)


HYPERSENSITIVITY = _ci(
    1,
    "HYPERSENSITIVITY",
    "Hypersensitivity to botulinum toxin",
    "intake: known hypersensitivity to a toxin product or a component",
)
INFECTION_AT_SITE = _ci(
    2,
    "INFECTION-AT-SITE",
    "Infection at an injection site",
    "intake: infection at the site, in a planned zone or location unknown",
)
INFECTION_ELSEWHERE = _ci(
    3,
    "INFECTION-ELSEWHERE",
    "Infection outside the planned zones",
    "intake: infection recorded only in zones the plan does not treat",
)
NEUROMUSCULAR = _ci(
    4,
    "NEUROMUSCULAR-DISEASE",
    "Neuromuscular disease",
    "intake: myasthenia gravis, Lambert-Eaton, ALS or similar",
)
AMINOGLYCOSIDES = _ci(
    5,
    "AMINOGLYCOSIDES",
    "Aminoglycosides or neuromuscular blockers",
    "intake: aminoglycosides or other drugs that potentiate the toxin",
)
PREGNANCY = _ci(6, "PREGNANCY", "Pregnancy", "intake: pregnant")
BREASTFEEDING = _ci(7, "BREASTFEEDING", "Breastfeeding", "intake: breastfeeding")
COW_MILK = _ci(
    8,
    "COW-MILK-PROTEIN",
    "Cow's-milk-protein allergy with a product containing it",
    "intake: cow's-milk-protein allergy and the product contains cow's milk protein (Dysport)",
)
AGE_LIMIT = _ci(
    9,
    "AGE-LIMIT",
    "Above the product's labelled age limit",
    "the patient's age on the treatment date is at or above a product's age limit (Letybo UK: 75)",
)
AGE_UNKNOWN = _ci(
    10,
    "AGE-UNKNOWN",
    "Age unknown for a product with an age limit",
    "the product has an age limit and the intake gives no age or date of birth, "
    "or the age from age_years alone may have reached the limit",
)
ANTICOAGULANTS = _ci(
    11,
    "ANTICOAGULANTS",
    "Anticoagulants: bruising",
    "intake: anticoagulants, antiplatelets or similar",
)
DRY_SKIN = _ci(
    12,
    "DRY-SKIN-OR-ECZEMA",
    "Dry skin or eczema: dryness",
    "intake: dry skin or eczema (a caution, UNCONFIRMED as a contraindication)",
)
INTAKE_UNANSWERED = _ci(
    13,
    "INTAKE-UNANSWERED",
    "Intake questions unanswered",
    "an intake question is not answered (null)",
)
INTAKE_MISSING = _ci(
    14,
    "INTAKE-MISSING",
    "No intake",
    "the check ran without an intake: contraindications, age and treatment "
    "history were not checked",
)
MEDICATION_NAMED = _ci(
    15,
    "MEDICATION-NAMED",
    "Medication list names a relevant drug",
    "a medication names a known aminoglycoside or anticoagulant while the "
    "matching intake answer is not yes",
)
AGE_OUTSIDE_LABEL = _ci(
    16,
    "AGE-OUTSIDE-LABEL",
    "Older than the label's studied population",
    "the patient's age is at or above the upper age of a product's labelled "
    "population (Dysport glabellar label: adults under 65)",
)
INTAKE_ZONE_UNKNOWN = _ci(
    17,
    "INTAKE-ZONE-UNKNOWN",
    "Intake names an unknown zone",
    "an intake's infection zones or a prior treatment's zones name a zone id the atlas does not "
    "know (an infection there counts as location unknown)",
)

OFF_LABEL = Code(
    "DM901-OFF-LABEL",
    "Intradermal use is off-label",
    "always: no label gives intradermal dosing and units are not interchangeable",
)
CONTEXT_MISSING = Code(
    "DM902-CONTEXT-MISSING",
    "No session context",
    "the check ran without a session context: vial expiry, beyond-use times "
    "and hyaluronidase were not checked",
)

SESSION_PRODUCTS = Code(
    "DM903-SESSION-PRODUCTS",
    "Several products in one session",
    "the session's plans use more than one product: each product's units and their sum in "
    "Botox-equivalent units with the conversion's range (labels: units are not interchangeable)",
)

CATALOGUE: tuple[Code, ...] = tuple(
    sorted(
        (value for value in dict(globals()).values() if isinstance(value, Code)),
        key=lambda c: c.code,
    )
)
"""Every finding code, in code order."""
