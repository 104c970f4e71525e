"""``dosemap groups …``: clinic groups — several sites of one owner. Being in a group shares
nothing: a site's admin grants logins of the group's other sites a role there (Staff page)."""

from __future__ import annotations

import typer
from rich.console import Console

from dosemap.cli.db import ClinicOpt, open_database, resolve_clinic
from dosemap.services import sites

app = typer.Typer(
    help="Clinic groups: sites that may share staff where granted.", no_args_is_help=True
)
console = Console(markup=False)


@app.command("create")
def create(name: str) -> None:
    """Create an empty clinic group."""
    group = sites.create_group(open_database(), name, actor="cli")
    console.print(f"group {group.id} {group.name}")


@app.command("add")
def add(group: str, clinic: str | None = ClinicOpt) -> None:
    """Put a clinic (a site) in GROUP; a clinic is in one group at most."""
    db = open_database()
    sites.join_group(db, group, resolve_clinic(db, clinic), actor="cli")
    console.print(f"{group}: {', '.join(sites.group_members(db, group))}")


@app.command("show")
def show(group: str) -> None:
    """The clinics of GROUP."""
    for name in sites.group_members(open_database(), group):
        console.print(name)
