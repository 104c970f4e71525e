"""Everything the editor's live panel shows about a plan, in one call.

Totals, draw-up, vials needed, units left and cost (recomputed from the points, never read from
the file), where each distinct µL per point falls on the chosen syringe, and every safety
finding of the same check ``dosemap check`` runs, with the acknowledgements that match them.

An acknowledgement records who accepted a warning, when and why. It matches a finding by code,
zone and point numbers, so a warning that changes (another point, another zone) needs a new one.
Blocks cannot be acknowledged: they stay until the plan no longer triggers them. Nothing is
dropped from the findings: an acknowledged warning is still listed, with its acknowledgement.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from dosemap.domain.atlas.mesh import FaceMesh
from dosemap.domain.dosing import syringe, syringe_marks
from dosemap.domain.intake import Intake, SessionContext
from dosemap.domain.library import Library
from dosemap.domain.library.models import Severity
from dosemap.domain.plan import Plan, PlanSummary, SessionPlan, as_session
from dosemap.domain.plan_edit import rebuild
from dosemap.domain.safety import Finding, evaluate

FindingKey = tuple[str, str | None, tuple[int, ...]]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Acknowledgement(_Model):
    """A clinician's acceptance of one warning: who, when, why."""

    code: str = Field(min_length=1, max_length=60)
    zone: str | None = None
    point_numbers: tuple[int, ...] = ()
    by: str = Field(min_length=1, max_length=200)
    at: AwareDatetime
    reason: str = Field(min_length=1, max_length=2000)

    @property
    def key(self) -> FindingKey:
        """What it acknowledges."""
        return (self.code, self.zone, self.point_numbers)


def finding_key(finding: Finding) -> FindingKey:
    """The code, zone and point numbers an acknowledgement must name to match ``finding``."""
    return (finding.code, finding.zone, finding.point_numbers)


class ReviewedFinding(_Model):
    """A finding and, for a warning, the acknowledgement that matches it (if any)."""

    finding: Finding
    acknowledgement: Acknowledgement | None = None


class SyringeLine(_Model):
    """One distinct µL per point, how many points get it, and how it reads on the syringe."""

    volume_ul: str
    points: int
    reading: str


class ProductTotals(_Model):
    """One product's plan of a session: its totals, recomputed from its points."""

    product: str
    protocol: str | None
    vial_units: Decimal
    summary: PlanSummary


class PlanReview(_Model):
    """The live panel: totals, draw-up, vials, syringe readings, findings, verdict.

    ``summary`` is the first plan's; ``products`` has every plan's (one per product of a
    session of several, never added across products)."""

    summary: PlanSummary
    products: tuple[ProductTotals, ...]
    summary_matches_plan: bool  # false for a hand-edited file whose totals are not its points'
    findings: tuple[ReviewedFinding, ...]
    blocks: int
    warnings: int
    notices: int
    unacknowledged_warnings: int
    blocked: bool
    verdict: str
    syringe_lines: tuple[SyringeLine, ...]
    #: Point number -> codes of the findings that name it (for marking points on the face).
    point_codes: dict[int, tuple[str, ...]]


def _verdict(blocks: int, warnings: int, unacknowledged: int, notices: int) -> str:
    tally = f"{blocks} block, {warnings} warn, {notices} info"
    if blocks:
        return f"BLOCKED: do not treat until every block is resolved ({tally})"
    if unacknowledged:
        return (
            f"No blocking finding; {unacknowledged} warning(s) to review and acknowledge ({tally})"
        )
    if warnings:
        return f"No blocking finding; every warning acknowledged ({tally})"
    return f"No blocking finding ({tally})"


def review_plan(
    plan: Plan | SessionPlan,
    library: Library,
    *,
    mesh: FaceMesh,
    intake: Intake | None = None,
    context: SessionContext | None = None,
    acknowledgements: Iterable[Acknowledgement] = (),
    syringe_id: str = "ml_1",
    at: datetime | None = None,
) -> PlanReview:
    """Review ``plan`` (one plan, or a session of several products: totals per product,
    findings for the whole session) as the editor shows it (see the module docstring).

    ``at``: acknowledgements made after it are left out (a review as of a time); ``None`` keeps all.
    """
    plans = as_session(plan).plans
    rebuilt = [rebuild(one, one.points, mesh, library) for one in plans]
    findings = evaluate(plan, library, intake=intake, context=context, mesh=mesh)
    acked = {a.key: a for a in acknowledgements if at is None or a.at <= at}
    reviewed = tuple(
        ReviewedFinding(
            finding=f,
            acknowledgement=acked.get(finding_key(f)) if f.severity is Severity.WARN else None,
        )
        for f in findings
    )
    count = Counter(f.severity for f in findings)
    unacknowledged = sum(
        1 for r in reviewed if r.finding.severity is Severity.WARN and r.acknowledgement is None
    )
    kind = syringe(syringe_id)
    volumes = Counter(p.volume_ul for one in plans for p in one.points)
    lines = tuple(
        SyringeLine(
            volume_ul=str(volume),
            points=n,
            reading=syringe_marks(volume, kind).describe()
            if volume <= kind.capacity_ul
            else f"{volume} µL is more than one {kind.name} holds",
        )
        for volume, n in sorted(volumes.items())
    )
    point_codes: dict[int, list[str]] = {}
    for f in findings:
        for number in f.point_numbers:
            point_codes.setdefault(number, []).append(f.code)
    blocks, warnings, notices = (count[Severity.BLOCK], count[Severity.WARN], count[Severity.INFO])
    return PlanReview(
        summary=rebuilt[0].summary,
        products=tuple(
            ProductTotals(
                product=one.product,
                protocol=one.protocol,
                vial_units=one.mix.stock_vial_units,
                summary=again.summary,
            )
            for one, again in zip(plans, rebuilt, strict=True)
        ),
        summary_matches_plan=all(
            again.summary == one.summary for one, again in zip(plans, rebuilt, strict=True)
        ),
        findings=reviewed,
        blocks=blocks,
        warnings=warnings,
        notices=notices,
        unacknowledged_warnings=unacknowledged,
        blocked=blocks > 0,
        verdict=_verdict(blocks, warnings, unacknowledged, notices),
        syringe_lines=lines,
        point_codes={n: tuple(c) for n, c in sorted(point_codes.items())},
    )
