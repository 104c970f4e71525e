"""``dosemap check``: run the safety rules over a plan file, with the patient's intake and the
session context if given. Exit 0 when nothing blocks, 1 when something blocks, 2 for bad input."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from pydantic import BaseModel, RootModel, ValidationError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from dosemap.cli._errors import format_validation_error
from dosemap.domain.errors import InvalidInputError
from dosemap.domain.intake import Intake, SessionContext
from dosemap.domain.library.models import Severity
from dosemap.domain.plan import (
    SESSION_PLAN_SCHEMA_VERSION,
    Plan,
    SessionPlan,
    read_plan_document,
)
from dosemap.domain.safety import Finding, evaluate

M = TypeVar("M", bound=BaseModel)

_STYLE = {Severity.BLOCK: "bold red", Severity.WARN: "yellow", Severity.INFO: "cyan"}
_HEADING = {Severity.BLOCK: "Blocks", Severity.WARN: "Warnings", Severity.INFO: "Notices"}


def read_model(path: Path, model: type[M], option: str) -> M:
    """Parse ``path`` as JSON into ``model``; one-line :class:`InvalidInputError` otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInputError(option, f"{path}: no such file", "an existing JSON file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(option, f"{path}: cannot read ({exc})", "a UTF-8 file") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            option,
            f"{path}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})",
            "a JSON document (see `dosemap schema`)",
        ) from None
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise InvalidInputError(option, format_validation_error(exc, str(path))) from None


def read_plan(path: Path, option: str) -> Plan | SessionPlan:
    """A plan file of either format: 1 (one plan) or 2 (a session of several plans)."""
    document = read_model(path, _Json, option).root
    version = document.get("schema_version", "1") if isinstance(document, dict) else None
    model: type[BaseModel] = SessionPlan if version == SESSION_PLAN_SCHEMA_VERSION else Plan
    if version not in ("1", SESSION_PLAN_SCHEMA_VERSION):
        raise InvalidInputError(
            f"{option}.schema_version", f"{version!r} is not a plan format", "'1' or '2'"
        )
    try:
        parsed = read_plan_document(document)
    except ValidationError as exc:
        raise InvalidInputError(option, format_validation_error(exc, str(path))) from None
    assert isinstance(parsed, model)
    return parsed


class _Json(RootModel[object]):
    """Any JSON document (parsed, not validated)."""


def point_ranges(numbers: Sequence[int]) -> str:
    """``1-4, 7, 9-10`` for a sorted list of point numbers.

    Examples
    --------
    >>> point_ranges([1, 2, 3, 4, 7, 9, 10])
    '1-4, 7, 9-10'
    """
    parts: list[str] = []
    start = previous = None
    for number in numbers:
        if previous is not None and number == previous + 1:
            previous = number
            continue
        if start is not None:
            parts.append(f"{start}" if start == previous else f"{start}-{previous}")
        start = previous = number
    if start is not None:
        parts.append(f"{start}" if start == previous else f"{start}-{previous}")
    return ", ".join(parts)


def counts(findings: Sequence[Finding]) -> dict[Severity, int]:
    """Number of findings per severity."""
    return {s: sum(1 for f in findings if f.severity is s) for s in Severity}


def verdict(findings: Sequence[Finding]) -> str:
    """The one-line verdict."""
    n = counts(findings)
    tally = f"{n[Severity.BLOCK]} block, {n[Severity.WARN]} warn, {n[Severity.INFO]} info"
    if n[Severity.BLOCK]:
        return f"BLOCKED: do not treat until every block is resolved ({tally})"
    if n[Severity.WARN]:
        return f"No blocking finding; review every warning before treating ({tally})"
    return f"No blocking finding ({tally})"


def render(findings: Sequence[Finding], console: Console) -> None:
    """Findings as one rich table per severity (blocks first), then the verdict."""
    for severity in Severity:
        chosen = [f for f in findings if f.severity is severity]
        if not chosen:
            continue
        style = _STYLE[severity]
        table = Table(
            title=Text(f"{_HEADING[severity]} ({len(chosen)})", style=style),
            title_justify="left",
            show_lines=True,
            expand=True,
        )
        table.add_column("Code / where / source", ratio=2, overflow="fold")
        table.add_column("Finding", ratio=5)
        for finding in chosen:
            left = Text(finding.code, style=style)
            if finding.zone:
                left.append(f"\n{finding.zone}")
            if finding.point_numbers:
                left.append(f"\npoints {point_ranges(finding.point_numbers)}")
            if finding.source or finding.tag:
                tag = f"[{finding.tag.value}] " if finding.tag else ""
                left.append(f"\n{tag}{finding.source or ''}", style="dim")
            right = Text(finding.message, style="bold")
            right.append(f"\n{finding.rationale}", style="dim")
            table.add_row(left, right)
        console.print(table)
    blocked = counts(findings)[Severity.BLOCK] > 0
    console.print(
        Text(verdict(findings), style=_STYLE[Severity.BLOCK] if blocked else "bold green")
    )


def as_json(findings: Sequence[Finding]) -> str:
    """The machine-readable report: verdict, counts and every finding."""
    n = counts(findings)
    payload = {
        "blocked": n[Severity.BLOCK] > 0,
        "verdict": verdict(findings),
        "counts": {s.value: n[s] for s in Severity},
        "findings": [f.model_dump(mode="json") for f in findings],
    }
    return json.dumps(payload, indent=2, ensure_ascii=False)


def check(
    plan: Annotated[
        Path,
        typer.Argument(help="Plan file (JSON, from `dosemap plan`; one plan or a session's)."),
    ],
    patient: Annotated[
        Path | None, typer.Option("--patient", help="Patient intake file (JSON).")
    ] = None,
    context: Annotated[
        Path | None,
        typer.Option("--context", help="Session context file (JSON): time, vials, hyaluronidase."),
    ] = None,
    library: Annotated[
        list[Path] | None,
        typer.Option("--library", help="A clinic library TOML file (repeatable)."),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print JSON instead of tables.")
    ] = False,
) -> None:
    """Check a plan against the safety rules: exit 0 if nothing blocks, 1 if something does.

    Findings come grouped by severity, each with its stable code (docs/findings.md), the
    numbers, the reason and the source. Exit 2 for bad input.
    """
    from dosemap.resources import load_library, template_mesh

    plan_model = read_plan(plan, "PLAN")
    intake = read_model(patient, Intake, "--patient") if patient else None
    session = read_model(context, SessionContext, "--context") if context else None
    findings = evaluate(
        plan_model,
        load_library(library or ()),
        intake=intake,
        context=session,
        mesh=template_mesh(),
    )
    if json_output:
        typer.echo(as_json(findings))
    else:
        render(findings, Console())
    raise typer.Exit(1 if counts(findings)[Severity.BLOCK] else 0)
