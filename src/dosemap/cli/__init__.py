"""The ``dosemap`` command line: a thin shell over the core and the services.

Each command group lives in its own module and is registered below. Every error a person can
cause ends as one line on stderr naming the field and what is allowed, exit status 2, no traceback.
"""

from __future__ import annotations

import sys

import typer
from pydantic import ValidationError

from dosemap.cli._errors import format_validation_error
from dosemap.domain.errors import DosemapError

app = typer.Typer(
    name="dosemap",
    help="Plan, chart and follow up micro-dose neuromodulator treatments.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    # Imported here so that `dosemap --help` stays fast and a broken optional group
    # (e.g. imaging without its system libraries) names itself instead of hiding the rest.
    from dosemap.cli import commands

    commands.register(app)


def main() -> None:
    """Console-script entry point."""
    _register()
    try:
        app(standalone_mode=True)
    except DosemapError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except ValidationError as exc:
        typer.echo(f"error: {format_validation_error(exc)}", err=True)
        sys.exit(2)
