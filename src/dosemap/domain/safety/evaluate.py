"""Run every safety rule over a plan and return the findings in a fixed order."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from dosemap.domain.atlas.mesh import FaceMesh
from dosemap.domain.intake import Intake, SessionContext
from dosemap.domain.plan import Plan, SessionPlan, as_session
from dosemap.domain.safety.finding import Finding
from dosemap.domain.safety.inputs import Inputs
from dosemap.domain.safety.rules import (
    ceilings,
    consistency,
    contraindications,
    history,
    notices,
    placement,
    point_dose,
    vials,
)

if TYPE_CHECKING:
    from dosemap.domain.library import Library

Rule = Callable[[Inputs], Iterable[Finding]]

#: Rules that read the whole session once (they add across the session's plans and products).
SESSION_RULES: tuple[Rule, ...] = (
    ceilings.label_ceiling,
    ceilings.literature_caps,
    history.retreatment,
    history.cumulative,
    vials.vials,
    contraindications.intake_zones,
    contraindications.medications,
    notices.not_checked,
    notices.session_products,
)

RULES: tuple[Rule, ...] = (
    ceilings.protocol_ceilings,
    ceilings.label_ceiling,
    ceilings.literature_caps,
    ceilings.summary_consistency,
    placement.danger_zones,
    placement.zone_labels,
    placement.ha_flag,
    point_dose.point_volumes,
    point_dose.point_doses,
    consistency.units_look_like_other_product,
    consistency.vial_size,
    consistency.mix_product,
    consistency.point_units,
    history.retreatment,
    history.cumulative,
    vials.vials,
    contraindications.answers,
    contraindications.intake_zones,
    contraindications.age,
    contraindications.medications,
    notices.off_label,
    notices.not_checked,
    notices.session_products,
)


def evaluate(
    plan: Plan | SessionPlan,
    library: Library,
    *,
    intake: Intake | None = None,
    context: SessionContext | None = None,
    mesh: FaceMesh,
) -> tuple[Finding, ...]:
    """Every finding for ``plan``: blocks first, then warnings, then notices.

    Parameters
    ----------
    plan
        The plan to check (its points, mix and summary), or a session of several plans
        (:class:`~dosemap.domain.plan.SessionPlan`: e.g. two products): each plan is checked on
        its own, and caps, label ceilings per product, history and vials across the session,
        in Botox-equivalent units with the conversion's range.
    library
        The reference library the plan's product, preset and techniques come from.
    intake
        The patient's answers; without it contraindications, age and history are not checked
        (and a DM814 warning says so).
    context
        The session (time, vials, hyaluronidase); without it vial and beyond-use checks are
        skipped (and a DM902 notice says so). Its treatment date is the reference date for
        intervals and age; else the intake's ``recorded_on``.
    mesh
        The face the plan's point positions are on (the template mesh for template plans), for
        the danger-zone rules.

    Returns
    -------
    tuple of Finding
        Sorted by severity (block, warn, info), code, zone, point numbers. Pure and
        deterministic: the same inputs give the same tuple.

    Raises
    ------
    UnknownNameError, InvalidInputError
        Only for input the library cannot interpret (an unknown product, preset, technique,
        vial product or beyond-use policy); a finding is never raised.
    """
    session = as_session(plan)
    parts = [
        Inputs.build(one, library, intake=intake, context=context, mesh=mesh)
        for one in session.plans
    ]
    if len(parts) > 1:
        parts = [dataclasses.replace(part, session=tuple(parts)) for part in parts]
    findings = [
        finding
        for part in parts
        for rule in RULES
        if rule not in SESSION_RULES
        for finding in rule(part)
    ]
    findings += [finding for rule in SESSION_RULES for finding in rule(parts[0])]
    # Two plans of one product give the same intake or notice finding once.
    unique = {
        (f.code, f.severity, f.zone, f.point_numbers, f.message): f for f in findings
    }.values()
    return tuple(sorted(unique, key=Finding.sort_key))
