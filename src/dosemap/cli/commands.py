"""Registry of command groups: each group is its own module, attached here in help order."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Attach every command group to the root app.

    Imports happen here, not at module level, so that ``dosemap --help`` and the error path of
    ``main()`` do not pay for (or fail on) groups that are not used.
    """
    from dosemap.cli import catalog, check, demo, dilute, photos, plan, records, render, schema

    app.add_typer(demo.app, name="demo")
    app.command("catalog")(catalog.catalog)
    app.command("dilute")(dilute.dilute)
    app.command("plan")(plan.plan)
    app.command("check")(check.check)
    app.command("render")(render.render)
    app.add_typer(photos.app, name="photos")
    records.register(app)  # db, patients, sessions, vials, followups, audit, recall, backup …
    app.add_typer(schema.app, name="schema")
