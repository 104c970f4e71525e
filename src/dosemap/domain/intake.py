"""What the safety check knows about the patient and the session, besides the plan.

:class:`Intake` is the patient questionnaire (``dosemap check --patient INTAKE.json``);
:class:`SessionContext` is what is on the tray at the time of treatment (``--context``). Both are
plain pydantic models so that the records layer can build them from its rows, and both double as
published JSON Schema file formats (``dosemap schema``).

Answers are ``True`` (yes), ``False`` (no) or ``None`` (not asked / not known). An unanswered item
is not treated as a "no": the check reports it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from dosemap.domain.library.models import ContraindicationCode

INTAKE_SCHEMA_VERSION = "1"
CONTEXT_SCHEMA_VERSION = "1"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class ContraindicationAnswers(_Model):
    """The patient's answer to each intake question (``None`` = not asked or not known).

    The two remaining :class:`~dosemap.domain.library.models.ContraindicationCode` items are not
    questions: ``age_limit`` comes from :attr:`Intake.date_of_birth` / :attr:`Intake.age_years`,
    ``recent_toxin`` from :attr:`Intake.prior_treatments`.
    """

    hypersensitivity: bool | None = None
    """Known allergy to any botulinum toxin product or a formulation component."""
    infection_at_site: bool | None = None
    """Infection or inflammation (e.g. pustular acne) where injections are planned."""
    infection_zones: tuple[str, ...] = ()
    """Atlas zone ids of the infection, if known; empty = location not recorded."""
    neuromuscular_disease: bool | None = None
    """Myasthenia gravis, Lambert-Eaton syndrome, ALS or another neuromuscular disorder."""
    aminoglycosides: bool | None = None
    """Taking aminoglycosides or another drug that interferes with neuromuscular transmission."""
    pregnancy: bool | None = None
    breastfeeding: bool | None = None
    cow_milk_protein_allergy: bool | None = None
    """Allergy to cow's milk protein (not lactose intolerance)."""
    anticoagulants: bool | None = None
    """Anticoagulants, antiplatelets, NSAIDs or supplements that raise bruising."""
    dry_skin_or_eczema: bool | None = None
    """Dry or dehydrated skin, eczema or atopic dermatitis."""

    @model_validator(mode="after")
    def _zones_need_infection(self) -> ContraindicationAnswers:
        if self.infection_zones and self.infection_at_site is not True:
            raise ValueError("infection_zones given but infection_at_site is not true")
        return self

    def answer(self, code: ContraindicationCode) -> bool | None:
        """The answer for one code (``None`` for codes that are not questions)."""
        value = getattr(self, code.value, None)
        return value if isinstance(value, bool) else None


QUESTION_CODES: tuple[ContraindicationCode, ...] = tuple(
    code for code in ContraindicationCode if code.value in ContraindicationAnswers.model_fields
)
"""The contraindication codes that are intake questions, in enum order."""


class PriorTreatment(_Model):
    """A botulinum toxin treatment the patient had before (any product, any indication)."""

    treated_on: date
    product: str = Field(min_length=1)
    """Library product id (``botox_cosmetic``); an unknown id is reported, not rejected."""
    units: Decimal = Field(gt=0, le=2000)
    """Units of ``product`` given in total at that visit."""
    zones: tuple[str, ...] = ()


class Intake(_Model):
    """A patient's intake answers as of ``recorded_on``."""

    schema_version: str = INTAKE_SCHEMA_VERSION
    recorded_on: date
    """The day the answers were taken; the reference date when no session context is given."""
    date_of_birth: date | None = None
    age_years: int | None = Field(default=None, ge=0, le=130)
    """Age when recorded, for intakes that record age instead of date of birth."""
    answers: ContraindicationAnswers = Field(default_factory=ContraindicationAnswers)
    medications: tuple[str, ...] = ()
    prior_treatments: tuple[PriorTreatment, ...] = ()

    @model_validator(mode="after")
    def _dates_in_order(self) -> Intake:
        if self.date_of_birth is not None and self.date_of_birth > self.recorded_on:
            raise ValueError("date_of_birth is after recorded_on")
        for treatment in self.prior_treatments:
            if treatment.treated_on > self.recorded_on:
                raise ValueError(f"prior treatment on {treatment.treated_on} is after recorded_on")
        return self

    def age_range_on(self, day: date) -> tuple[int, int] | None:
        """Youngest and oldest whole-year age the patient can be on ``day``.

        Exact (``(a, a)``) from a date of birth; from ``age_years`` only, the patient may have
        had a birthday since ``recorded_on``, so the range is one year wide except on the
        anniversaries of ``recorded_on``. ``None`` if neither is known.

        Examples
        --------
        >>> i = Intake(recorded_on=date(2026, 1, 1), date_of_birth=date(1951, 6, 1))
        >>> i.age_range_on(date(2026, 5, 31)), i.age_range_on(date(2026, 6, 1))
        ((74, 74), (75, 75))
        >>> Intake(recorded_on=date(2026, 1, 1), age_years=74).age_range_on(date(2026, 3, 1))
        (74, 75)
        """
        if self.date_of_birth is not None:
            born = self.date_of_birth
            age = day.year - born.year - ((day.month, day.day) < (born.month, born.day))
            return age, age
        if self.age_years is None:
            return None
        start = self.recorded_on
        full_years = day.year - start.year - ((day.month, day.day) < (start.month, start.day))
        youngest = self.age_years + max(full_years, 0)
        on_anniversary = (day.month, day.day) == (start.month, start.day)
        return youngest, youngest if on_anniversary or day <= start else youngest + 1


class VialInUse(_Model):
    """A vial (or ready-to-use container) that will be drawn from in this session."""

    product: str = Field(min_length=1)
    lot: str = Field(min_length=1)
    lot_expiry: date
    """Manufacturer's expiry; the lot may be used on that day, not after."""
    reconstituted_at: AwareDatetime | None = None
    """``None`` for a vial not yet reconstituted or a ready-to-use product."""
    beyond_use_policy: str | None = None
    """Id of one of the product's beyond-use policies (``label``, ``consensus`` …)."""
    beyond_use_at: AwareDatetime | None = None
    """Explicit beyond-use time; if a policy is also given, the earlier of the two applies."""

    @model_validator(mode="after")
    def _reconstituted_needs_limit(self) -> VialInUse:
        if self.reconstituted_at is not None:
            if self.beyond_use_policy is None and self.beyond_use_at is None:
                raise ValueError("a reconstituted vial needs beyond_use_policy or beyond_use_at")
            if self.beyond_use_at is not None and self.beyond_use_at < self.reconstituted_at:
                raise ValueError("beyond_use_at is before reconstituted_at")
        return self


class SessionContext(_Model):
    """The treatment session: when, with which vials, and whether hyaluronidase is on hand."""

    schema_version: str = CONTEXT_SCHEMA_VERSION
    treatment_at: AwareDatetime
    vials: tuple[VialInUse, ...] = ()
    hyaluronidase_on_hand: bool | None = None
    """``None`` = not recorded; HA findings then warn instead of block."""
    recorded_treatments: tuple[PriorTreatment, ...] = ()
    """The patient's earlier sessions in the clinic's own record. They always count; the
    intake's self-reported ``prior_treatments`` are added to them (:func:`merge_history`)."""

    @model_validator(mode="after")
    def _vials_reconstituted_before_treatment(self) -> SessionContext:
        for vial in self.vials:
            if vial.reconstituted_at is not None and vial.reconstituted_at > self.treatment_at:
                raise ValueError(f"vial lot {vial.lot} reconstituted after treatment_at")
        for treatment in self.recorded_treatments:
            if treatment.treated_on > self.treatment_at.date():
                raise ValueError(
                    f"recorded treatment on {treatment.treated_on} is after treatment_at"
                )
        return self


def merge_history(
    recorded: tuple[PriorTreatment, ...], reported: tuple[PriorTreatment, ...]
) -> tuple[PriorTreatment, ...]:
    """The record's own treatments plus the self-reported ones that are not the same treatment.

    A self-reported treatment of the same product on the same day as a recorded one is taken to
    be that treatment (the record's figures are kept); every other one is added.

    Examples
    --------
    >>> a = PriorTreatment(treated_on=date(2026, 1, 5), product="dysport", units=Decimal(30))
    >>> b = PriorTreatment(treated_on=date(2026, 1, 5), product="dysport", units=Decimal(25))
    >>> c = PriorTreatment(treated_on=date(2025, 9, 1), product="xeomin", units=Decimal(20))
    >>> [t.units for t in merge_history((a,), (b, c))]
    [Decimal('20'), Decimal('30')]
    """
    seen = {(t.product, t.treated_on) for t in recorded}
    extra = tuple(t for t in reported if (t.product, t.treated_on) not in seen)
    return tuple(sorted(recorded + extra, key=lambda t: (t.treated_on, t.product)))
