"""Registry of command groups. One line per group; each group is its own module."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Attach every command group to the root app."""
    from dosemap.cli import schema

    app.add_typer(schema.app, name="schema")
    app.command("catalog")(__import__("dosemap.cli.catalog", fromlist=["x"]).catalog)
    app.command("dilute")(__import__("dosemap.cli.dilute", fromlist=["x"]).dilute)
    app.command("check")(__import__("dosemap.cli.check", fromlist=["check"]).check)
    app.add_typer(__import__("dosemap.cli.photos", fromlist=["app"]).app, name="photos")
    app.command("plan")(__import__("dosemap.cli.plan", fromlist=["plan"]).plan)
    __import__("dosemap.cli.records", fromlist=["register"]).register(app)
    app.command("render")(__import__("dosemap.cli.render", fromlist=["render"]).render)
