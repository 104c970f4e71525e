"""``dosemap sessions …``: create from a plan file, chart, sign, amend, show."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from pydantic import TypeAdapter
from rich.console import Console
from rich.table import Table
from rich.text import Text

from dosemap.cli.db import (
    ActorOpt,
    ClinicOpt,
    open_database,
    resolve_clinic,
    resolve_patient,
    resolve_staff,
    resolve_vial,
    resolve_writer,
)
from dosemap.cli.vials import parse_time
from dosemap.domain import display
from dosemap.domain.errors import InvalidInputError
from dosemap.domain.plan import Plan, SessionPlan, read_plan_document
from dosemap.persistence.db import Database
from dosemap.resources import load_library
from dosemap.services import sessions as svc
from dosemap.services._common import as_uuid

app = typer.Typer(help="Treatment sessions: plan, chart, sign, amend.", no_args_is_help=True)
# User values (a chart number "[/]") must never be read as markup: styles are set explicitly.
console = Console(markup=False)
_points = TypeAdapter(tuple[svc.ChartPointInput, ...])


def _read_json(path: Path, field: str) -> object:
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise InvalidInputError(
            field, f"cannot read {path.name}: {exc.strerror}", "a readable file"
        ) from None
    except ValueError as exc:
        raise InvalidInputError(field, f"{path.name} is not JSON ({exc})", "a JSON file") from None


@app.command("create")
def create(
    plan_file: Annotated[Path, typer.Argument(help="Plan file (JSON, from `dosemap plan`).")],
    patient: str = typer.Option(..., help="Chart number or patient id."),
    injector: str = typer.Option(..., help="Injector's name or staff id."),
    at: str | None = typer.Option(None, help="Scheduled at (ISO with offset; default now)."),
    clinic: str | None = ClinicOpt,
    actor: str | None = ActorOpt,
) -> None:
    """Create a planned session from a plan file."""
    plan = _read_plan(plan_file)
    db = open_database()
    cid = resolve_clinic(db, clinic)
    row = svc.plan_session(
        db,
        cid,
        patient_id=resolve_patient(db, cid, patient),
        injector_id=resolve_staff(db, cid, injector, "injector"),
        plan=plan,
        scheduled_at=parse_time(at, "at"),
        actor=resolve_writer(db, cid, actor),
    )
    figures = svc.session_products(db, cid, row.id)
    console.print(
        f"session {row.id} planned: {len(plan.points)} points, {svc.products_text(figures)}"
    )


@app.command("chart")
def chart(
    session: str,
    vial: str | None = typer.Option(
        None,
        help="Vial label or id: chart every planned point from it (a session of several "
        "products: one vial per product, comma-separated).",
    ),
    points: Annotated[
        Path | None, typer.Option(help="JSON list of chart points (instead of as planned).")
    ] = None,
    at: str | None = typer.Option(None, help="Performed at (ISO with offset; default now)."),
    pain: int | None = typer.Option(None, help="Pain score 0-10."),
    numbing: str | None = typer.Option(None),
    aftercare: str | None = typer.Option(None),
    clinic: str | None = ClinicOpt,
    actor: str | None = ActorOpt,
) -> None:
    """Record the chart as performed (before signing; re-charting replaces it)."""
    db = open_database()
    cid = resolve_clinic(db, clinic)
    sid = as_uuid(session, "session")
    row = svc.get_session(db, cid, sid)
    chart_input = _chart_input(
        db, cid, svc.session_plan(row), vial, points, at, pain, numbing, aftercare
    )
    done = svc.chart_session(
        db,
        cid,
        sid,
        chart_input,
        load_library(),
        expected_version=row.version,
        actor=resolve_writer(db, cid, actor),
    )
    charted = svc.products_text(svc.session_products(db, cid, done.id))
    botox = display.units(done.botox_equivalent_units or Decimal(0))
    console.print(
        f"session {done.id} charted: {len(chart_input.points)} points, {charted} "
        f"({botox} Botox-equivalent)"
    )


def _read_plan(path: Path) -> Plan | SessionPlan:
    """A plan file of either format (one plan, or a session of several products)."""
    from pydantic import ValidationError

    from dosemap.cli._errors import format_validation_error

    try:
        return read_plan_document(_read_json(path, "plan_file"))
    except ValidationError as exc:
        raise InvalidInputError("plan_file", format_validation_error(exc, str(path))) from None
    except ValueError as exc:
        raise InvalidInputError("plan_file.schema_version", str(exc)) from None


def _chart_input(
    db: Database,
    cid: uuid.UUID,
    planned: SessionPlan,
    vial: str | None,
    points: Path | None,
    at: str | None,
    pain: int | None,
    numbing: str | None,
    aftercare: str | None,
) -> svc.ChartInput:
    if (vial is None) == (points is None):
        raise InvalidInputError("vial", "give --vial (as planned) or --points FILE", "exactly one")
    if points is not None:
        chart_points = _points.validate_python(_read_json(points, "points"))
    else:
        assert vial is not None
        vials = [resolve_vial(db, cid, v.strip()) for v in vial.split(",") if v.strip()]
        if len(planned.products) == 1 and len(vials) == 1:
            chart_points = svc.chart_as_planned(planned, vials[0])
        else:  # several products: each plan's points from a vial of its product
            chart_points = svc.chart_as_planned(
                planned, svc.vials_for_points(db, cid, planned, vials)
            )
    return svc.ChartInput(
        performed_at=parse_time(at, "at"),
        points=chart_points,
        pain_score=pain,
        numbing=numbing,
        aftercare=aftercare,
    )


@app.command("sign")
def sign(
    session: str,
    signer: str = typer.Option(..., help="Name or staff id of who signs."),
    clinic: str | None = ClinicOpt,
) -> None:
    """Sign (lock) a charted session.

    Refused when a safety rule blocks, the credential does not cover it, or no consent is on file.
    """
    db = open_database()
    cid = resolve_clinic(db, clinic)
    sid = as_uuid(session, "session")
    row = svc.get_session(db, cid, sid)
    signer_id = resolve_staff(db, cid, signer, "signer")
    done = svc.sign_session(
        db,
        cid,
        sid,
        load_library(),
        signer_id=signer_id,
        expected_version=row.version,
        actor=str(signer_id),
    )
    console.print(f"session {done.id} signed at {done.signed_at:%Y-%m-%d %H:%M %Z}")


@app.command("amend")
def amend(
    session: str,
    reason: str = typer.Option(..., help="Why the signed record changes."),
    by: str = typer.Option(..., help="Name or staff id of who amends."),
    vial: str | None = typer.Option(None),
    points: Annotated[Path | None, typer.Option(help="JSON list of chart points.")] = None,
    at: str | None = typer.Option(None),
    pain: int | None = typer.Option(None),
    numbing: str | None = typer.Option(None),
    aftercare: str | None = typer.Option(None),
    clinic: str | None = ClinicOpt,
) -> None:
    """Amend a signed session; the record as it was is kept."""
    db = open_database()
    cid = resolve_clinic(db, clinic)
    sid = as_uuid(session, "session")
    row = svc.get_session(db, cid, sid)
    by_id = resolve_staff(db, cid, by, "by")
    performed = at or (row.performed_at.isoformat() if row.performed_at else None)
    chart_input = _chart_input(
        db, cid, svc.session_plan(row), vial, points, performed, pain, numbing, aftercare
    )
    a = svc.amend_session(
        db,
        cid,
        sid,
        chart_input,
        load_library(),
        reason=reason,
        amended_by=by_id,
        expected_version=row.version,
        actor=str(by_id),
    )
    console.print(f"session {sid} amendment {a.number} recorded")


@app.command("show")
def show(session: str, clinic: str | None = ClinicOpt) -> None:
    """A session with its chart, per zone."""
    db = open_database()
    cid = resolve_clinic(db, clinic)
    row = svc.get_session(db, cid, as_uuid(session, "session"))
    figures = svc.session_products(db, cid, row.id)
    # Each product with its own units: a Dysport unit is not a Botox unit.
    planned = " · ".join(f"{f.product} {display.units(f.planned_units)}" for f in figures)
    charted = " · ".join(
        f"{f.product} {display.units(f.total_units or Decimal(0))}" for f in figures
    )
    console.print(
        Text.assemble(
            (f"session {row.id}", "bold"),
            f" {row.status} {', '.join(f.product for f in figures)}; planned {planned}, "
            f"charted {charted}; amendments {row.amendment_count}",
        )
    )
    table = Table("#", "zone", "depth", "µL", "U", "vial")
    for p in row.points:
        table.add_row(
            str(p.number),
            p.zone,
            p.depth,
            display.number(p.volume_ul, display.VOLUME_UL_PLACES, mark_rounded=True),
            display.number(p.units, display.UNITS_PLACES, mark_rounded=True),
            str(p.vial_id)[:8],
        )
    console.print(table)


@app.command("findings")
def findings(session: str, clinic: str | None = ClinicOpt) -> None:
    """The core's safety findings for a session as charted (what signing checks)."""
    db = open_database()
    cid = resolve_clinic(db, clinic)
    table = Table("severity", "code", "finding")
    for f in svc.session_findings(db, cid, as_uuid(session, "session"), load_library()):
        colour = {"block": "red", "warn": "yellow"}.get(str(f.severity), "dim")
        table.add_row(Text(str(f.severity), style=colour), f.code, f.message)
    console.print(table)
