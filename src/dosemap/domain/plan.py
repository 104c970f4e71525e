"""The treatment plan: what the planner makes, what ``dosemap check`` reads, what a session charts.

These pydantic models are the plan-file format and double as its published JSON Schema
(``dosemap schema``). Doses and volumes are ``Decimal``; positions are millimetres (floats,
rounded to 0.01 mm so that the same input serialises byte for byte the same).

Coordinate frame of ``position_mm``: the metric template face (MediaPipe canonical face model)
in millimetres; x grows towards the patient's LEFT (the viewer's right in a frontal view), y grows
upwards, z grows out of the face towards the viewer.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

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
