"""Editing a plan file: the same file ``dosemap plan`` writes and ``dosemap check`` reads.

Load a plan file, apply the editor's edits (:mod:`dosemap.domain.plan_edit`), review it for the
live panel (:mod:`dosemap.domain.plan_review`) and save it back byte for byte as the CLI would
(``model_dump_json(indent=2)`` and a newline), written to a temporary file and renamed, so a
reader never sees half a plan. Acknowledgements of warnings (who, when, why) are kept beside the
plan in ``<plan>.acknowledgements.json``, never inside it: the plan file stays the CLI's schema.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from dosemap.domain.errors import InvalidInputError
from dosemap.domain.intake import Intake, SessionContext
from dosemap.domain.library import Library
from dosemap.domain.library.models import Severity
from dosemap.domain.plan import Plan, SessionPlan, read_plan_document
from dosemap.domain.plan_edit import PlanEdit, apply_edits_to
from dosemap.domain.plan_review import Acknowledgement, PlanReview, finding_key, review_plan
from dosemap.domain.safety import evaluate
from dosemap.resources import template_mesh

EDITS = TypeAdapter(list[PlanEdit])
_ACKS = TypeAdapter(list[Acknowledgement])


def plan_file_text(plan: Plan | SessionPlan) -> str:
    """The plan file's text exactly as ``dosemap plan --out`` writes it."""
    return plan.model_dump_json(indent=2) + "\n"


def _first_error(exc: ValidationError, what: str) -> InvalidInputError:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or what
    return InvalidInputError(where, error["msg"])


def parse_edits(document: object) -> list[PlanEdit]:
    """The editor's edits from JSON (a list of ``{"op": ...}`` objects); field-level errors."""
    try:
        return EDITS.validate_python(document)
    except ValidationError as exc:
        raise _first_error(exc, "edits") from None


def load_plan(path: Path) -> Plan | SessionPlan:
    """Read a plan file of either format (one plan, or one per product of a session); a clear
    error naming the file and field otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError("plan", f"{path}: cannot read ({exc.strerror})") from None
    try:
        return read_plan_document(json.loads(text))
    except ValidationError as exc:
        raise _first_error(exc, "plan") from None
    except ValueError as exc:  # not JSON, or not a plan format
        raise InvalidInputError("plan", f"{path}: {exc}") from None


def _write_atomically(path: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def save_plan(path: Path, plan: Plan | SessionPlan) -> None:
    """Write the plan file (whole or not at all)."""
    _write_atomically(path, plan_file_text(plan))


def acknowledgements_path(plan_path: Path) -> Path:
    """Where a plan file's acknowledgements are kept."""
    return plan_path.with_name(plan_path.name + ".acknowledgements.json")


def load_acknowledgements(plan_path: Path) -> list[Acknowledgement]:
    """The acknowledgements kept beside ``plan_path`` (none when there is no file)."""
    path = acknowledgements_path(plan_path)
    if not path.exists():
        return []
    try:
        return _ACKS.validate_json(path.read_bytes())
    except ValidationError as exc:
        raise _first_error(exc, str(path)) from None


def check_acknowledgement(
    plan: Plan | SessionPlan,
    library: Library,
    acknowledgement: Acknowledgement,
    *,
    intake: Intake | None = None,
    context: SessionContext | None = None,
) -> None:
    """Refuse an acknowledgement of no current warning (or of a block, which must be fixed)."""
    findings = evaluate(plan, library, intake=intake, context=context, mesh=template_mesh())
    for finding in findings:
        if finding_key(finding) == acknowledgement.key:
            if finding.severity is Severity.BLOCK:
                raise InvalidInputError(
                    "code",
                    f"{finding.code} blocks",
                    "a warning (a block is resolved, not accepted)",
                )
            if finding.severity is Severity.WARN:
                return
    raise InvalidInputError(
        "code", f"no current warning {acknowledgement.code} with that zone and points", "a warning"
    )


def acknowledge(
    plan_path: Path,
    library: Library,
    acknowledgement: Acknowledgement,
    *,
    intake: Intake | None = None,
    context: SessionContext | None = None,
) -> list[Acknowledgement]:
    """Add an acknowledgement beside the plan file; all of them returned."""
    plan = load_plan(plan_path)
    check_acknowledgement(plan, library, acknowledgement, intake=intake, context=context)
    kept = [a for a in load_acknowledgements(plan_path) if a.key != acknowledgement.key]
    kept.append(acknowledgement)
    text = json.dumps([a.model_dump(mode="json") for a in kept], indent=2) + "\n"
    _write_atomically(acknowledgements_path(plan_path), text)
    return kept


@dataclass(frozen=True)
class Edited:
    """A plan after edits and its review."""

    plan: Plan | SessionPlan
    review: PlanReview


def edit_plan(
    plan: Plan | SessionPlan,
    edits: Sequence[PlanEdit],
    library: Library,
    *,
    intake: Intake | None = None,
    context: SessionContext | None = None,
    acknowledgements: Iterable[Acknowledgement] = (),
    plan_index: int = 0,
) -> Edited:
    """Apply ``edits`` (all or none) to the plan, or to a session's plan ``plan_index`` (the
    chosen product's), and review the result (totals per product, every finding)."""
    mesh = template_mesh()
    edited = apply_edits_to(plan, edits, library, mesh, plan_index=plan_index)
    review = review_plan(
        edited,
        library,
        mesh=mesh,
        intake=intake,
        context=context,
        acknowledgements=acknowledgements,
    )
    return Edited(edited, review)


def edit_plan_file(
    path: Path,
    edits: Sequence[PlanEdit],
    library: Library,
    *,
    intake: Intake | None = None,
    context: SessionContext | None = None,
    plan_index: int = 0,
) -> Edited:
    """Load ``path``, apply ``edits``, save it back (only when every edit applies), review."""
    result = edit_plan(
        load_plan(path),
        edits,
        library,
        intake=intake,
        context=context,
        acknowledgements=load_acknowledgements(path),
        plan_index=plan_index,
    )
    save_plan(path, result.plan)
    return result
