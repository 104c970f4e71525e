"""``dosemap export …``: the clinic's records as CSV, iCalendar, FHIR R4 and PDF files.

Each command calls one function of :mod:`dosemap.services.exports` and writes the bytes it
returns (to ``--out``, or a file of the suggested name in the current folder; ``-`` writes to
standard output). Every export is recorded in the audit log.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from dosemap.cli.db import ActorOpt, ClinicOpt, open_database, resolve_actor, resolve_clinic
from dosemap.cli.db import resolve_patient as _resolve_patient
from dosemap.cli.vials import parse_time
from dosemap.domain.errors import InvalidInputError
from dosemap.services.exports import ExportFile

app = typer.Typer(help="Export records: CSV, iCalendar, FHIR R4, PDF.", no_args_is_help=True)
console = Console(stderr=True)

OutOpt = typer.Option(
    None, "--out", "-o", help="File to write (default: the suggested name here; - for stdout)."
)
PatientOpt = typer.Option(None, "--patient", help="Chart number or id (default: every patient).")
SinceOpt = typer.Option(None, "--since", help="Only records from this ISO time (with offset).")


def _write(file: ExportFile, out: Path | None) -> None:
    if out is not None and str(out) == "-":
        sys.stdout.buffer.write(file.content)
        sys.stdout.buffer.flush()
        return
    target = out or Path(file.filename)
    # Written whole or not at all: a half-written export must never look like a good one.
    partial = target.with_name(target.name + ".part")
    partial.write_bytes(file.content)
    partial.replace(target)
    console.print(f"wrote {target} ({len(file.content):,} bytes, {file.media_type})")


def _day(text: str | None, field: str, default: date) -> date:
    if text is None:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInputError(field, f"not a day: {text!r}", "YYYY-MM-DD") from None


@app.command("csv")
def csv_command(
    table: str = typer.Argument(..., help="sessions, points, vials or adverse_events"),
    patient: str | None = PatientOpt,
    since: str | None = SinceOpt,
    out: Path | None = OutOpt,
    clinic: str | None = ClinicOpt,
    actor: str | None = ActorOpt,
) -> None:
    """One table as CSV, with the stable columns docs/exports.md lists."""
    from dosemap.services.exports import csv_files

    if table not in csv_files.TABLES:
        raise InvalidInputError("table", f"is {table!r}", ", ".join(csv_files.TABLES))
    db = open_database()
    cid = resolve_clinic(db, clinic)
    who = resolve_actor(db, cid, actor)
    patient_id = _resolve_patient(db, cid, patient) if patient else None
    start = parse_time(since, "since") if since else None
    if table == "vials":
        if patient or since:
            raise InvalidInputError("table", "vials is the whole vial log", "no --patient/--since")
        file = csv_files.vials_csv(db, cid, actor=who)
    elif table == "sessions":
        file = csv_files.sessions_csv(db, cid, actor=who, patient_id=patient_id, since=start)
    elif table == "points":
        file = csv_files.points_csv(db, cid, actor=who, patient_id=patient_id, since=start)
    else:
        file = csv_files.adverse_events_csv(db, cid, actor=who, patient_id=patient_id, since=start)
    _write(file, out)


@app.command("ical")
def ical_command(
    start: str | None = typer.Option(None, "--from", help="First due day (default: today)."),
    until: str | None = typer.Option(None, "--until", help="Last due day (default: +90 days)."),
    detail: str | None = typer.Option(
        None, help="none, chart, name or clinical (at most what the clinic allows)."
    ),
    out: Path | None = OutOpt,
    clinic: str | None = ClinicOpt,
    actor: str | None = ActorOpt,
) -> None:
    """Open follow-ups as an iCalendar file, one all-day event each."""
    from dosemap.services.exports import calendar
    from dosemap.services.staff import CalendarDetail

    today = datetime.now(UTC).date()
    first = _day(start, "from", today)
    last = _day(until, "until", first + timedelta(days=90))
    if detail is not None and detail not in calendar.CALENDAR_DETAIL:
        raise InvalidInputError("detail", f"is {detail!r}", ", ".join(calendar.CALENDAR_DETAIL))
    chosen: CalendarDetail | None = detail  # type: ignore[assignment]  # checked just above
    db = open_database()
    cid = resolve_clinic(db, clinic)
    file = calendar.followups_ical(
        db,
        cid,
        actor=resolve_actor(db, cid, actor),
        due_from=first,
        due_until=last,
        detail=chosen,
    )
    _write(file, out)


@app.command("fhir")
def fhir_command(
    patient: str | None = PatientOpt,
    since: str | None = SinceOpt,
    out: Path | None = OutOpt,
    clinic: str | None = ClinicOpt,
    actor: str | None = ActorOpt,
) -> None:
    """A FHIR R4 Bundle: one patient, the patients treated since a time, or the whole clinic."""
    from dosemap.services.exports.fhir_export import fhir_bundle

    db = open_database()
    cid = resolve_clinic(db, clinic)
    file = fhir_bundle(
        db,
        cid,
        actor=resolve_actor(db, cid, actor),
        patient_id=_resolve_patient(db, cid, patient) if patient else None,
        since=parse_time(since, "since") if since else None,
    )
    _write(file, out)


import_app = typer.Typer(
    help="Import records: a FHIR bundle written by dosemap export fhir.", no_args_is_help=True
)


@import_app.command("fhir")
def import_fhir_command(
    bundle: Annotated[Path, typer.Argument(help="A bundle written by `dosemap export fhir`.")],
    actor: str | None = typer.Option(None, "--as", help="Who imports, for the audit log."),
) -> None:
    """Write a bundle's clinic and records into this database (the clinic must not be here)."""
    from dosemap.services.exports.fhir_import import import_bundle

    try:
        content = bundle.read_bytes()
    except OSError as exc:
        raise InvalidInputError(
            "bundle", f"cannot read {bundle} ({exc.strerror})", "a readable file"
        ) from None
    db = open_database()
    done = import_bundle(db, content, actor=actor or "cli")
    console.print(
        f"imported clinic {done.clinic_id}: {done.patients} patients, {done.sessions} sessions, "
        f"{done.chart_points} chart points ({done.records} records)"
    )


PDF_KINDS = ("record", "aftercare", "consent", "vials")


@app.command("pdf")
def pdf_command(
    kind: Annotated[str, typer.Argument(help="record, aftercare, consent or vials")],
    ref: Annotated[
        str | None,
        typer.Argument(help="Session id (record, aftercare) or consent id (consent)."),
    ] = None,
    paper: str = typer.Option("a4", help="a4 or letter"),
    out: Path | None = OutOpt,
    clinic: str | None = ClinicOpt,
    actor: str | None = ActorOpt,
) -> None:
    """A PDF: treatment record, aftercare sheet, consent form or the lot and vial log."""
    from dosemap.resources import load_library
    from dosemap.services._common import as_uuid
    from dosemap.services.exports import pdf_documents as docs
    from dosemap.services.exports.pdf_engine import paper_size

    if kind not in PDF_KINDS:
        raise InvalidInputError("kind", f"is {kind!r}", ", ".join(PDF_KINDS))
    paper_size(paper)  # refused before anything is read
    if kind != "vials" and ref is None:
        what = "consent id" if kind == "consent" else "session id"
        raise InvalidInputError("ref", f"{kind} needs a {what}", f"a {what}")
    db = open_database()
    cid = resolve_clinic(db, clinic)
    who = resolve_actor(db, cid, actor)
    if kind == "vials":
        file = docs.vial_log_pdf(db, cid, actor=who, paper=paper)
    elif kind == "consent":
        file = docs.consent_pdf(db, cid, as_uuid(str(ref), "ref"), actor=who, paper=paper)
    else:
        make = docs.treatment_record_pdf if kind == "record" else docs.aftercare_pdf
        file = make(db, cid, as_uuid(str(ref), "ref"), load_library(), actor=who, paper=paper)
    _write(file, out)
