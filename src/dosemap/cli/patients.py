"""``dosemap patients …``: register, list, show a timeline with rolling units."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from dosemap.cli.db import (
    ActorOpt,
    ClinicOpt,
    open_database,
    resolve_clinic,
    resolve_patient,
    resolve_writer,
)
from dosemap.cli.vials import parse_time
from dosemap.domain.errors import InvalidInputError
from dosemap.domain.intake import Intake as IntakeAnswers
from dosemap.services import patients as svc
from dosemap.services import reporting
from dosemap.services.followups import AdverseEventInput, record_adverse_event
from dosemap.services.staff import MICRODOSE_PROCEDURE

app = typer.Typer(help="Patients: register, list, timeline.", no_args_is_help=True)
# User values (a chart number "[/]") must never be read as markup: styles are set explicitly.
console = Console(markup=False)


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
    p = svc.register_patient(db, cid, data, actor=resolve_writer(db, cid, actor))
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
        Text.assemble(
            (f"{p.family_name}, {p.given_name}", "bold"),
            f" chart {p.chart_number} born {p.date_of_birth}",
        )
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
        "Equivalents use published conversion ratios; labels say units are not interchangeable.",
        style="dim",
    )


@app.command("intake")
def intake(
    patient: str,
    answers_file: Annotated[Path, typer.Argument(help="Intake answers (JSON, `dosemap schema`).")],
    at: str | None = typer.Option(None, help="Answered at (ISO with offset; default now)."),
    clinic: str | None = ClinicOpt,
    actor: str | None = ActorOpt,
) -> None:
    """Record an answered intake questionnaire."""
    try:
        raw = answers_file.read_text()
    except OSError as exc:
        raise InvalidInputError("answers_file", f"cannot read: {exc.strerror}", "a file") from None
    answers = IntakeAnswers.model_validate_json(raw)
    db = open_database()
    cid = resolve_clinic(db, clinic)
    row = svc.record_intake(
        db,
        cid,
        resolve_patient(db, cid, patient),
        answers,
        answered_at=parse_time(at, "at"),
        actor=resolve_writer(db, cid, actor),
    )
    console.print(f"intake {row.id} recorded")


@app.command("consent")
def consent(
    patient: str,
    text_file: Annotated[Path, typer.Option("--text-file", help="The consent text signed.")],
    text_version: str = typer.Option(..., help="Version label of the consent text."),
    signature: str = typer.Option(..., help="Typed name or SHA-256 of the signature image."),
    witness: str | None = typer.Option(None),
    at: str | None = typer.Option(None, help="Signed at (ISO with offset; default now)."),
    procedure: str = typer.Option(MICRODOSE_PROCEDURE),
    clinic: str | None = ClinicOpt,
    actor: str | None = ActorOpt,
) -> None:
    """Record a signed consent."""
    try:
        text = text_file.read_text()
    except OSError as exc:
        raise InvalidInputError("text_file", f"cannot read: {exc.strerror}", "a file") from None
    data = svc.ConsentInput(
        procedure=procedure,
        text_version=text_version,
        text=text,
        signature=signature,
        signed_at=parse_time(at, "at"),
        witness_name=witness,
    )
    db = open_database()
    cid = resolve_clinic(db, clinic)
    row = svc.record_consent(
        db, cid, resolve_patient(db, cid, patient), data, actor=resolve_writer(db, cid, actor)
    )
    console.print(f"consent {row.id} recorded (text sha256 {row.text_sha256[:12]}…)")


@app.command("adverse")
def adverse(
    patient: str,
    kind: str = typer.Option(
        ..., help="bruising, swelling, asymmetry, ptosis, suspected_vascular_occlusion …"
    ),
    severity: str = typer.Option(..., help="mild, moderate or severe"),
    onset: str | None = typer.Option(None, help="Onset (ISO with offset; default now)."),
    session: str | None = typer.Option(None, help="Session id it followed."),
    action: str | None = typer.Option(None),
    outcome: str | None = typer.Option(None),
    clinic: str | None = ClinicOpt,
    actor: str | None = ActorOpt,
) -> None:
    """Record an adverse event."""
    data = AdverseEventInput.model_validate(
        {
            "kind": kind,
            "severity": severity,
            "onset_at": parse_time(onset, "onset"),
            "session_id": session,
            "action": action,
            "outcome": outcome,
        }
    )
    db = open_database()
    cid = resolve_clinic(db, clinic)
    row = record_adverse_event(
        db, cid, resolve_patient(db, cid, patient), data, actor=resolve_writer(db, cid, actor)
    )
    console.print(f"adverse event {row.id} recorded")
