"""The command table: every ``dosemap`` command, where it lives, and its one-line help.

A command's module is imported only when that command runs, so ``dosemap --help`` and
``dosemap dilute`` never load the database, imaging or drawing libraries that other commands
need (importing them all cost ~2.5 s a start). ``--help`` lists each command with the line below;
``tests/cli/test_start_up.py`` checks that it matches the command's own help.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperCommand, TyperGroup

if TYPE_CHECKING:  # typer's own click (vendored since typer 0.26); names for the type checker
    from typer._click import Command, Context


@dataclass(frozen=True)
class Entry:
    """Where a command is defined (``module:attribute``, a function or a Typer) and its help."""

    target: str
    help: str


# In help order. Records groups (db … audit, recall, backup, restore) need the database.
COMMANDS: dict[str, Entry] = {
    "catalog": Entry(
        "dosemap.cli.catalog:catalog",
        "List products, protocols, techniques, adjuncts, goals, conversions or sources.",
    ),
    "dilute": Entry(
        "dosemap.cli.dilute:dilute",
        "Print U/mL, U per 0.1 mL, U per µL, units per point, syringe marks, draw-up and more.",
    ),
    "plan": Entry(
        "dosemap.cli.plan:plan",
        "Plan micro-dose points on the metric template face and write the plan file.",
    ),
    "check": Entry(
        "dosemap.cli.check:check",
        "Check a plan against the safety rules: exit 0 if nothing blocks, 1 if something does.",
    ),
    "render": Entry(
        "dosemap.cli.render:render",
        "Draw PLAN: numbered points with units, zone outlines and totals, danger zones, scale bar.",
    ),
    "recall": Entry(
        "dosemap.cli.records:recall",
        "Every patient who received a lot, with contact details, vial and session.",
    ),
    "backup": Entry(
        "dosemap.cli.records:backup",
        "Back up the whole database (SQLite online backup or pg_dump) with a signed manifest.",
    ),
    "restore": Entry(
        "dosemap.cli.records:restore",
        "Replace the database with a backup, after verifying it in a scratch database.",
    ),
    "demo": Entry(
        "dosemap.cli.demo:app",
        "The demo: a full-face plan and a demo clinic (what `make run` runs).",
    ),
    "serve": Entry(
        "dosemap.cli.serve:serve",
        "Run the clinic web app (uvicorn); settings come from DOSEMAP_* variables.",
    ),
    "worker": Entry(
        "dosemap.cli.worker:worker",
        "Run photo analyses from the Redis job queue (DOSEMAP_REDIS_URL) until stopped.",
    ),
    "photos": Entry(
        "dosemap.cli.photos:app",
        "Patient photos: capture quality, iris scale, skin metrics, before/after.",
    ),
    "db": Entry("dosemap.cli.db:app", "Database: upgrade, status, clinics, staff and credentials."),
    "groups": Entry(
        "dosemap.cli.groups:app", "Clinic groups: sites that may share staff where granted."
    ),
    "patients": Entry("dosemap.cli.patients:app", "Patients: register, list, timeline."),
    "sessions": Entry("dosemap.cli.sessions:app", "Treatment sessions: plan, chart, sign, amend."),
    "vials": Entry("dosemap.cli.vials:app", "Product lots and reconstituted vials."),
    "followups": Entry(
        "dosemap.cli.records:followups_app", "Follow-ups: reviews and retreatments due."
    ),
    "audit": Entry("dosemap.cli.records:audit_app", "The tamper-evident audit log."),
    "export": Entry("dosemap.cli.export:app", "Export records: CSV, iCalendar, FHIR R4, PDF."),
    "import": Entry(
        "dosemap.cli.export:import_app",
        "Import records: a FHIR bundle written by dosemap export fhir.",
    ),
    "schema": Entry(
        "dosemap.cli.schema:app", "Print or write the JSON Schema of dosemap's file formats."
    ),
}


def _target(name: str) -> Any:
    module_name, _, attribute = COMMANDS[name].target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def load(name: str) -> Command:
    """Import command ``name`` and build it as ``app.add_typer``/``app.command`` would."""
    holder = typer.Typer(add_completion=False)
    _attach(holder, name, _target(name))
    return typer.main.get_group(holder).commands[name]


def _attach(app: typer.Typer, name: str, target: Any) -> None:
    if isinstance(target, typer.Typer):
        app.add_typer(target, name=name)
    else:
        app.command(name)(target)


def load_all(app: typer.Typer) -> None:
    """Attach every command to ``app`` now, importing them all (for tests that walk the tree)."""
    present = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
    for name in COMMANDS:
        if name not in present:
            _attach(app, name, _target(name))


class _Listed(TyperCommand):
    """Stands in for a command not imported yet: its name and help line, for ``--help``."""

    def __init__(self, name: str, help_line: str) -> None:
        super().__init__(name, short_help=help_line)

    def invoke(self, ctx: Context) -> Any:
        """Never a silent no-op: a stand-in that runs was reached around :class:`LazyGroup`."""
        raise RuntimeError(f"command {self.name!r} was run before it was loaded")


class LazyGroup(TyperGroup):
    """The root group: lists every command of :data:`COMMANDS`, imports only the one that runs."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        added = dict(self.commands)  # e.g. by load_all
        self.commands.clear()
        for name, entry in COMMANDS.items():
            self.commands[name] = added.pop(name) if name in added else _Listed(name, entry.help)
        self.commands.update(added)

    def resolve_command(
        self, ctx: Context, args: list[str]
    ) -> tuple[str | None, Command | None, list[str]]:
        """Import the command about to run in place of its stand-in, then resolve as usual."""
        if args and isinstance(self.commands.get(args[0]), _Listed):
            self.commands[args[0]] = load(args[0])
        return super().resolve_command(ctx, args)
