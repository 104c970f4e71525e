"""``dosemap patients …``: register, list, show a timeline with rolling units."""

from __future__ import annotations

from datetime import UTC, datetime

import typer
from rich.console import Console
from rich.table import Table

from dosemap.cli.db import (
    ActorOpt,
    ClinicOpt,
    open_database,
    resolve_actor,
    resolve_clinic,
    resolve_patient,
)
from dosemap.services import patients as svc
from dosemap.services import reporting

app = typer.Typer(help="Patients: register, list, timeline.", no_args_is_help=True)
console = Console()


@app.command("add")
def add(
    chart_number: str = typer.Option(..., "--chart-number"),
    given_name: str = typer.Option(..., "--given-name"),
    family_name: str = typer.Option(..., "--family-name"),
    date_of_birth: str = typer.Option(..., "--dob", help="YYYY-MM-DD"),
    phone: str | None = typer.Option(None),
    email: str | None = typer.Option(None),
    fitzpatrick: int | None = typer.Option(None, help="Fitzpatrick type 1-6."),
    skin_type: str | None = typer.Option(None, help="dry, normal, oily, combination, sensitive"),
    clinic: str | None = ClinicOpt,
    actor: str | None = ActorOpt,
) -> None:
    """Register a patient."""
    data = svc.PatientInput.model_validate(
        {
            "chart_number": chart_number,
            "given_name": given_name,
            "family_name": family_name,
            "date_of_birth": date_of_birth,
            "phone": phone,
            "email": email,
            "fitzpatrick_type": fitzpatrick,
            "skin_type": skin_type,
        }
    )
    db = open_database()
    cid = resolve_clinic(db, clinic)
    p = svc.register_patient(db, cid, data, actor=resolve_actor(db, cid, actor))
    console.print(f"patient {p.id} chart {p.chart_number}")


@app.command("list")
def list_(
    search: str = typer.Option("", help="Start of a chart number or name."),
    clinic: str | None = ClinicOpt,
) -> None:
    """List patients."""
    db = open_database()
    cid = resolve_clinic(db, clinic)
    table = Table("chart", "name", "born", "Fitzpatrick", "skin", "id")
    for p in svc.find_patients(db, cid, search, limit=200):
        table.add_row(
            p.chart_number,
            f"{p.family_name}, {p.given_name}",
            str(p.date_of_birth),
            str(p.fitzpatrick_type or ""),
            p.skin_type or "",
            str(p.id),
        )
    console.print(table)


@app.command("show")
def show(patient: str, clinic: str | None = ClinicOpt) -> None:
    """A patient's timeline and rolling Botox-equivalent units (90 days, 12 months)."""
    db = open_database()
    cid = resolve_clinic(db, clinic)
    pid = resolve_patient(db, cid, patient)
    p = svc.get_patient(db, cid, pid)
    console.print(
        f"[bold]{p.family_name}, {p.given_name}[/] chart {p.chart_number} born {p.date_of_birth}"
    )
    table = Table("when", "what", "summary")
    for ev in reporting.patient_timeline(db, cid, pid):
        table.add_row(ev.at.strftime("%Y-%m-%d %H:%M"), ev.kind, ev.summary)
    console.print(table)
    now = datetime.now(UTC)
    for days in (90, 365):
        r = reporting.rolling_units(db, cid, pid, now, days)
        units = r.botox_equivalent_units
        console.print(f"last {days} days: {units} Botox-equivalent U in {r.sessions} session(s)")
    console.print(
        "[dim]Equivalents use published conversion ratios; "
        "labels say units are not interchangeable.[/]"
    )
