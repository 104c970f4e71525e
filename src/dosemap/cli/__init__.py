"""The ``dosemap`` command line: a thin shell over the core and the services.

Each command lives in its own module, listed in :mod:`dosemap.cli.commands` and imported only
when it runs, so that a command loads nothing it does not use. Every error a person can cause
ends as one line on stderr naming the field and what is allowed, exit status 2, no traceback.
"""

from __future__ import annotations

import sys

import typer

from dosemap.cli.commands import LazyGroup, load_all
from dosemap.domain.errors import DosemapError

app = typer.Typer(
    name="dosemap",
    cls=LazyGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def dosemap() -> None:
    """Plan, chart and follow up micro-dose neuromodulator treatments."""


def _register() -> None:
    """Load every command now, for tests that walk the whole tree; ``main`` never needs to."""
    load_all(app)


def _one_line(exc: Exception) -> str | None:
    """The message of an error a person caused, or None for a bug (which keeps its traceback)."""
    if isinstance(exc, DosemapError):
        return str(exc)
    # A ValidationError can only come from a command that has imported pydantic already.
    pydantic = sys.modules.get("pydantic")
    if pydantic is not None and isinstance(exc, pydantic.ValidationError):
        from dosemap.cli._errors import format_validation_error

        return format_validation_error(exc)
    return None


def main() -> None:
    """Console-script entry point."""
    try:
        app(standalone_mode=True)
    except Exception as exc:
        message = _one_line(exc)
        if message is None:
            raise
        typer.echo(f"error: {message}", err=True)
        sys.exit(2)
