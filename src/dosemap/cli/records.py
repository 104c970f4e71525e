"""Records commands: ``recall``, ``followups due``, ``audit verify``, ``backup``, ``restore``,
``demo seed``; listed in :mod:`dosemap.cli.commands`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from dosemap.cli.db import ActorOpt, ClinicOpt, open_database, resolve_clinic, resolve_writer
from dosemap.config import load_settings
from dosemap.persistence.errors import IntegrityError
from dosemap.services import backup as backup_service
from dosemap.services import demo as demo_service
from dosemap.services import followups as followup_service
from dosemap.services import reporting

# User values (a chart number "[/]") must never be read as markup: styles are set explicitly.
console = Console(markup=False)
followups_app = typer.Typer(help="Follow-ups: reviews and retreatments due.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
demo_app = typer.Typer(help="Demo data.", no_args_is_help=True)


def recall(lot_number: str, clinic: str | None = ClinicOpt) -> None:
    """Every patient who received a lot, with contact details, vial and session."""
    db = open_database()
    cid = resolve_clinic(db, clinic)
    hits = reporting.lot_recall(db, cid, lot_number)
    table = Table(
        "patient",
        "chart",
        "phone",
        "email",
        "session",
        "treated",
        "vial",
        "U",
        title=f"lot {lot_number}",
    )
    for h in hits:
        when = f"{h.performed_at:%Y-%m-%d}" if h.performed_at else ""
        table.add_row(
            h.patient_name,
            h.chart_number,
            h.phone or "",
            h.email or "",
            str(h.session_id)[:8],
            when,
            h.vial_label,
            str(h.units),
        )
    console.print(table)
    console.print(
        f"{len({h.patient_id for h in hits})} patient(s), {len(hits)} session-vial record(s)"
    )


@followups_app.command("due")
def followups_due(
    within: int = typer.Option(
        14, min=0, max=3660, help="Include follow-ups due in the next N days (0-3660)."
    ),
    clinic: str | None = ClinicOpt,
) -> None:
    """Open reviews and retreatments due (and overdue)."""
    db = open_database()
    cid = resolve_clinic(db, clinic)
    today = datetime.now(UTC).date()
    table = Table("due", "kind", "patient", "chart", "phone", "basis")
    for d in followup_service.followups_due(db, cid, today + timedelta(days=within)):
        style = "red" if d.due_on < today else ""
        table.add_row(
            Text(f"{d.due_on}", style=style),
            d.kind,
            d.patient_name,
            d.chart_number,
            d.phone or "",
            d.basis,
        )
    console.print(table)


@audit_app.command("verify")
def audit_verify(
    checkpoints: Annotated[
        Path | None,
        typer.Option(
            help="Checkpoint file or folder (default: $DOSEMAP_AUDIT_CHECKPOINTS or data dir)."
        ),
    ] = None,
) -> None:
    """Check the keyed chain, every audited record against its last entry, and the log against
    the latest checkpoint; names every difference (table, record, field)."""
    from dosemap.services import audit as audit_service

    db = open_database()
    report = audit_service.verify(db, checkpoints)
    for warning in report.warnings:
        console.print(f"warning: {warning}", style="yellow")
    if not report.ok:
        for problem in report.problems:
            console.print(str(problem), style="red")
        raise IntegrityError(f"audit trail does not verify: {len(report.problems)} problem(s)")
    console.print(
        f"audit trail intact: {report.entries} entries, {report.records_checked} records match "
        f"their last entry, head {report.head_hash[:16]}…"
    )


@audit_app.command("checkpoint")
def audit_checkpoint(
    to: Annotated[
        Path | None,
        typer.Option(
            "--to", help="File (.json) or folder (default: $DOSEMAP_AUDIT_CHECKPOINTS or data dir)."
        ),
    ] = None,
) -> None:
    """Write a signed checkpoint of the log's head (and genesis) outside the database."""
    from dosemap.services import audit as audit_service

    db = open_database()
    cp, path = audit_service.checkpoint(db, to)
    console.print(f"checkpoint at entry {cp.seq} written to {path}")


@audit_app.command("rotate-key")
def audit_rotate_key(
    clinic: str | None = ClinicOpt,
    actor: str | None = ActorOpt,
) -> None:
    """Make a new audit key current; earlier entries stay verifiable with the old one."""
    from dosemap.services import audit as audit_service

    db = open_database()
    cid = resolve_clinic(db, clinic)
    kid, env_value = audit_service.rotate_key(
        db, actor=resolve_writer(db, cid, actor), clinic_id=cid
    )
    console.print(f"audit key {kid} is now current")
    if env_value is not None:
        console.print(
            "the key comes from DOSEMAP_AUDIT_KEY: set it to the value below (old keys first)",
            highlight=False,
        )
        typer.echo(env_value)


def backup(
    destination: Annotated[
        Path | None,
        typer.Argument(
            help="Backup file, or a folder for a dated one (default: data dir/backups)."
        ),
    ] = None,
) -> None:
    """Back up the whole database (SQLite online backup or pg_dump) with a signed manifest."""
    db = open_database()
    settings = load_settings()
    target = backup_service.backup_target(
        db, destination or backup_service.default_backup_name(db, settings.backups_dir)
    )
    m = backup_service.backup(db, target, checkpoints=settings.checkpoints_location)
    console.print(
        f"backup {target} ({m.format}); audit head entry {m.audit_head_seq}",
        highlight=False,
    )


def restore(
    source: Annotated[Path, typer.Argument(help="Backup file written by `dosemap backup`.")],
    yes: bool = typer.Option(False, "--yes", help="Confirm replacing the current database."),
) -> None:
    """Replace the database with a backup, after verifying it in a scratch database."""
    if not yes:
        from dosemap.domain.errors import InvalidInputError

        raise InvalidInputError("yes", "restore replaces every current record", "--yes to confirm")
    db = open_database(check_schema=False)
    report = backup_service.restore(db, source, checkpoints=load_settings().checkpoints_location)
    console.print(
        f"restored {source}; audit trail intact ({report.entries} entries); "
        f"{report.records_checked} records match their last entry",
        highlight=False,
    )


@demo_app.command("seed")
def seed_command(
    patients: int = typer.Option(40, min=1, max=2000),
    months: int = typer.Option(18, min=1, max=60),
    seed: int = typer.Option(7),
) -> None:
    """Seed the demo clinic (once; a second run does nothing)."""
    db = open_database()
    with Progress(
        TextColumn("seeding demo clinic"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("sessions", total=None)

        def step(_stage: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        summary = demo_service.seed_demo_clinic(
            db, patients=patients, months=months, seed=seed, progress=step
        )
    verb = "seeded" if summary.created else "already there"
    console.print(
        f"{demo_service.DEMO_CLINIC} {verb}: {summary.patients} patients, "
        f"{summary.sessions} sessions ({summary.signed} signed), "
        f"{summary.followups_due} follow-ups due in 2 weeks"
    )
