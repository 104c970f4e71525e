"""The treatment plan: what the planner makes, what ``dosemap check`` reads, what a session charts.

These pydantic models are the plan-file format and double as its published JSON Schema
(``dosemap schema``). Doses and volumes are ``Decimal``; positions are millimetres (floats,
rounded to 0.01 mm so that the same input serialises byte for byte the same).

Coordinate frame of ``position_mm``: the metric template face (MediaPipe canonical face model)
in millimetres; x grows towards the patient's LEFT (the viewer's right in a frontal view), y grows
upwards, z grows out of the face towards the viewer.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

PLAN_SCHEMA_VERSION = "1"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MeshAnchor(_Model):
    """A point fixed to the face mesh: a triangle of landmark indices and barycentric weights.

    Because it names landmarks, not pixels, it maps exactly onto any other landmark set of the
    same topology (a photo's 468/478 MediaPipe landmarks, the next visit) without re-planning:
    ``p = w0 * L[v0] + w1 * L[v1] + w2 * L[v2]``.
    """

    vertices: tuple[int, int, int]
    weights: tuple[float, float, float]


class MixComponentAmount(_Model):
    """One ingredient of the working mix and its share of every droplet."""

    ingredient: str  # "stock:<product id>" for the reconstituted toxin, else an adjunct id
    fraction: Decimal = Field(ge=0, le=1)


class WorkingMix(_Model):
    """The solution in the syringe."""

    product: str
    stock_vial_units: Decimal = Field(gt=0)
    stock_diluent_ml: Decimal = Field(gt=0)
    units_per_ml: Decimal = Field(gt=0)
    components: tuple[MixComponentAmount, ...]
    contains_hyaluronic_acid: bool


class PlannedPoint(_Model):
    """One needle entry (or one stamp for a microinfusion device)."""

    number: int = Field(ge=1)
    zone: str
    position_mm: tuple[float, float, float]
    anchor: MeshAnchor
    technique: str
    depth: str
    volume_ul: Decimal = Field(gt=0)
    units: Decimal = Field(gt=0)


class ZoneSummary(_Model):
    """Per-zone totals."""

    zone: str
    area_mm2: float = Field(ge=0)
    points: int = Field(ge=0)
    volume_ul: Decimal = Field(ge=0)
    units: Decimal = Field(ge=0)
    treatable_area_mm2: float | None = Field(default=None, ge=0)  # area left after danger margins


class DrawUpLine(_Model):
    """How much of one ingredient to draw up for the whole plan (with the dead-space allowance)."""

    ingredient: str
    volume_ml: Decimal = Field(ge=0)


class PlanSummary(_Model):
    """Totals the injector reads before starting."""

    needle_entries: int = Field(ge=0)
    total_units: Decimal = Field(ge=0)
    total_volume_ul: Decimal = Field(ge=0)
    zones: tuple[ZoneSummary, ...]
    draw_up: tuple[DrawUpLine, ...]
    vials_needed: int = Field(ge=0)
    units_left_in_vials: Decimal = Field(ge=0)
    estimated_cost: Decimal | None = None
    currency: str | None = None


class PlanRequest(_Model):
    """What the injector asked for. Stored in the plan so it can be re-planned and audited."""

    zones: tuple[str, ...] = ()
    goals: tuple[str, ...] = ()
    protocol: str | None = None
    product: str | None = None
    technique: str | None = None
    vial_units: Decimal | None = Field(default=None, gt=0)
    diluent_ml: Decimal | None = Field(default=None, gt=0)
    working_units_per_ml: Decimal | None = Field(default=None, gt=0)
    volume_per_point_ul: Decimal | None = Field(default=None, gt=0)
    spacing_mm: Decimal | None = Field(default=None, gt=0)
    zone_target_units: dict[str, Decimal] = Field(default_factory=dict)
    adjuncts: dict[str, Decimal] = Field(default_factory=dict)  # adjunct id -> mL per mL of mix
    vial_price: Decimal | None = Field(default=None, ge=0)  # price of one vial, for the cost
    currency: str | None = None
    dead_space_ul: Decimal | None = Field(default=None, ge=0)  # hub + needle; default: library
    # Top of the forehead zone, mm above the brow at the midline; None: where the face mesh ends
    # (landmark 10). Higher is extrapolated above the mesh; the hairline is checked on the patient.
    forehead_height_mm: Decimal | None = Field(default=None, gt=0)


class Plan(_Model):
    """A complete micro-dose plan."""

    schema_version: str = PLAN_SCHEMA_VERSION
    request: PlanRequest
    protocol: str | None
    protocol_citation: str | None
    product: str
    technique: str
    spacing_mm: Decimal
    mix: WorkingMix
    points: tuple[PlannedPoint, ...]
    summary: PlanSummary
    notes: tuple[str, ...] = ()  # what the planner left out or changed, for the injector to read
    # Danger-zone id -> the margin (mm) the planner kept, from the library it planned with (the
    # clinic's overrides included), so pictures of the plan show what it was planned with.
    # Empty in plan files written before it was recorded.
    danger_margins_mm: dict[str, Decimal] = Field(default_factory=dict)
    # The dead space (µL) the draw-up allows for: the request's, else the library's figure.
    dead_space_ul: Decimal | None = Field(default=None, ge=0)
    # The point pattern: "hex", "square" or "stamp" (the preset's cited lattice, else the
    # technique's); None in plan files written before it was recorded.
    lattice: str | None = None


SESSION_PLAN_SCHEMA_VERSION: Literal["2"] = "2"


class SessionPlan(_Model):
    """A session's plan file, format 2: one plan per product (or preset) in one session.

    Each plan keeps its own product, working mix, points and summary (units are never added
    across products; the safety check adds them in Botox-equivalent units with the conversion's
    range). Point numbers run on across the plans, so every needle entry of the session has its
    own number. A format-1 file (one :class:`Plan`) reads as a session of one plan
    (:func:`read_plan_document`).
    """

    schema_version: Literal["2"] = SESSION_PLAN_SCHEMA_VERSION
    plans: tuple[Plan, ...] = Field(min_length=1)
    notes: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _numbers_run_on(self) -> SessionPlan:
        seen: set[int] = set()
        for index, plan in enumerate(self.plans):
            for point in plan.points:
                if point.number in seen:
                    raise ValueError(
                        f"plans[{index}]: point number {point.number} repeats another plan's "
                        "(numbers run on across the session's plans)"
                    )
                seen.add(point.number)
        return self

    @property
    def products(self) -> tuple[str, ...]:
        """The session's products, in plan order, each once."""
        return tuple(dict.fromkeys(plan.product for plan in self.plans))

    @property
    def points(self) -> tuple[PlannedPoint, ...]:
        """Every point of every plan, in plan order."""
        return tuple(point for plan in self.plans for point in plan.points)

    def units_by_product(self) -> dict[str, Decimal]:
        """Total units per product (each in its own product's units)."""
        totals: dict[str, Decimal] = {}
        for plan in self.plans:
            totals[plan.product] = totals.get(plan.product, Decimal(0)) + sum(
                (p.units for p in plan.points), Decimal(0)
            )
        return totals

    def plan_of(self, number: int) -> Plan | None:
        """The plan that holds point ``number``."""
        for plan in self.plans:
            if any(p.number == number for p in plan.points):
                return plan
        return None


def combine_plans(plans: Sequence[Plan | SessionPlan]) -> SessionPlan:
    """One session of ``plans`` (a session's own plans are taken in order), the points of each
    plan renumbered to run on after the previous plan's."""
    flat = [p for item in plans for p in as_session(item).plans]
    combined: list[Plan] = []
    offset = 0
    for plan in flat:
        first = min((p.number for p in plan.points), default=1)
        shift = offset + 1 - first
        points = tuple(p.model_copy(update={"number": p.number + shift}) for p in plan.points)
        combined.append(plan.model_copy(update={"points": points}))
        offset = max((p.number for p in points), default=offset)
    return SessionPlan(plans=tuple(combined))


def as_session(plan: Plan | SessionPlan) -> SessionPlan:
    """``plan`` as a session (a single plan is a session of one)."""
    return plan if isinstance(plan, SessionPlan) else SessionPlan(plans=(plan,))


def read_plan_document(document: object) -> Plan | SessionPlan:
    """A plan file's JSON: format 1 (one :class:`Plan`, no or ``"1"`` schema_version) or
    format 2 (a :class:`SessionPlan`).

    Raises
    ------
    pydantic.ValidationError
        The document is not a valid plan of its format.
    ValueError
        An unknown ``schema_version``.
    """
    version = (
        document.get("schema_version", PLAN_SCHEMA_VERSION) if isinstance(document, dict) else None
    )
    if version == PLAN_SCHEMA_VERSION:
        return Plan.model_validate(document)
    if version == SESSION_PLAN_SCHEMA_VERSION:
        return SessionPlan.model_validate(document)
    raise ValueError(
        f"schema_version {version!r} is not a plan format "
        f"(allowed: {PLAN_SCHEMA_VERSION!r} or {SESSION_PLAN_SCHEMA_VERSION!r})"
    )
