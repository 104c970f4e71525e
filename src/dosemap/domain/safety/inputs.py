"""Everything a rule reads, resolved once: the plan, its product and preset, totals, dates."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING

from dosemap.domain.atlas.mesh import FaceMesh
from dosemap.domain.errors import UnknownNameError
from dosemap.domain.evidence import EvidenceTag
from dosemap.domain.intake import Intake, PriorTreatment, SessionContext, merge_history
from dosemap.domain.library.models import Product, Protocol, Severity
from dosemap.domain.plan import Plan
from dosemap.domain.safety.finding import Code, Finding

if TYPE_CHECKING:
    from dosemap.domain.library import Library


@dataclass(frozen=True)
class Inputs:
    """The resolved inputs of one evaluation.

    ``zone_units`` and ``total_units`` are summed from the plan's points (not read from its
    summary, which a hand-edited file could contradict). ``reference_date`` is the treatment
    date from the context, else the intake's ``recorded_on``, else ``None``.
    ``prior_treatments`` is the record's own earlier sessions (the context's
    ``recorded_treatments``) merged with the intake's self-reported ones.
    """

    plan: Plan
    library: Library
    intake: Intake | None
    context: SessionContext | None
    mesh: FaceMesh
    product: Product
    protocol: Protocol | None
    zone_units: Mapping[str, Decimal]
    total_units: Decimal
    reference_date: date | None
    prior_treatments: tuple[PriorTreatment, ...] = ()
    session: tuple[Inputs, ...] = ()
    """Every plan of the session (this one included), for the rules that add across products:
    caps, the label ceiling per product, history, vials. Empty: a session of this plan alone."""

    @property
    def plans(self) -> tuple[Inputs, ...]:
        """The session's plans' inputs (just this one for a single plan)."""
        return self.session or (self,)

    @property
    def products(self) -> tuple[str, ...]:
        """The session's product ids, each once, in plan order."""
        return tuple(dict.fromkeys(part.product.id for part in self.plans))

    def session_points_in(self, zones: frozenset[str] | set[str]) -> tuple[int, ...]:
        """Point numbers, across the session's plans, of the points in any of ``zones``."""
        return tuple(n for part in self.plans for n in part.points_in(zones))

    @classmethod
    def build(
        cls,
        plan: Plan,
        library: Library,
        *,
        intake: Intake | None,
        context: SessionContext | None,
        mesh: FaceMesh,
    ) -> Inputs:
        """Resolve the plan's product and preset; :class:`UnknownNameError` if the library
        does not hold them (a plan from another library cannot be checked against this one)."""
        try:
            product = library.product(plan.product)
        except UnknownNameError as exc:
            raise UnknownNameError("product", plan.product, exc.known) from None
        protocol = None
        if plan.protocol is not None:
            try:
                protocol = library.protocol(plan.protocol)
            except UnknownNameError as exc:
                raise UnknownNameError("protocol", plan.protocol, exc.known) from None
        zone_units: defaultdict[str, Decimal] = defaultdict(Decimal)
        for point in plan.points:
            zone_units[point.zone] += point.units
        if context is not None:
            reference_date: date | None = context.treatment_at.date()
        elif intake is not None:
            reference_date = intake.recorded_on
        else:
            reference_date = None
        return cls(
            plan=plan,
            library=library,
            intake=intake,
            context=context,
            mesh=mesh,
            product=product,
            protocol=protocol,
            zone_units=MappingProxyType(dict(sorted(zone_units.items()))),
            # Summed point by point, as the planner sums it (28-digit rounding agrees).
            total_units=sum((p.units for p in plan.points), Decimal(0)),
            reference_date=reference_date,
            prior_treatments=merge_history(
                context.recorded_treatments if context is not None else (),
                intake.prior_treatments if intake is not None else (),
            ),
        )

    def severity(self, code: Code) -> Severity:
        """The code's severity from the library (``[findings.<dmNNN>]``, clinic-overridable)."""
        return self.library.finding_severity(code.code).value

    def figure(self, figure_id: str) -> Decimal:
        """A figure of the library's safety settings (``60_safety.toml``)."""
        return self.library.figure(figure_id).value

    def finding(
        self,
        code: Code,
        message: str,
        *,
        rationale: str,
        source: str | None,
        tag: EvidenceTag | None,
        values: dict[str, Decimal] | None = None,
        zone: str | None = None,
        point_numbers: tuple[int, ...] = (),
        severity: Severity | None = None,
    ) -> Finding:
        """A finding of ``code`` at its library severity (or ``severity``, where a product's
        own record sets it)."""
        return code.finding(
            message,
            severity=severity if severity is not None else self.severity(code),
            rationale=rationale,
            source=source,
            tag=tag,
            values=values,
            zone=zone,
            point_numbers=point_numbers,
        )

    def points_in(self, zones: frozenset[str] | set[str]) -> tuple[int, ...]:
        """Point numbers of the points in any of ``zones``."""
        return tuple(p.number for p in self.plan.points if p.zone in zones)

    def cite(self, source_id: str | None) -> str:
        """A short name of a library source for a message: ``"Wu WTL 2015"``, else its id."""
        if source_id is None:
            return "no source"
        source = self.library.sources.get(source_id)
        if source is None:
            return source_id
        authors = source.citation.split(". ")[0].strip().rstrip(".")
        year = re.search(r"\b(19|20)\d\d\b", source.citation)
        if len(authors) > 40 or year is None:
            return source_id  # a title or a publisher names a source worse than its id
        return authors if year.group(0) in authors else f"{authors} {year.group(0)}"
