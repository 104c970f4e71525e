"""``dosemap serve``: the clinic web app (uvicorn)."""

from __future__ import annotations

import ipaddress
import os
from typing import Annotated

import typer

LOOPBACK_NAMES = {"localhost"}


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Server processes (use PostgreSQL for several).")
    ] = 1,
    demo: Annotated[
        bool,
        typer.Option(help="Seed the demo clinic and its logins first, and print one per role."),
    ] = False,
    request_log: Annotated[
        bool,
        typer.Option(
            help="Print uvicorn's line per request (client address and path). Off by default:"
            " paths carry record ids, the reverse proxy logs requests, and every read of a"
            " patient's record is in dosemap's own access log."
        ),
    ] = False,
) -> None:
    """Run the clinic web app (uvicorn); settings come from DOSEMAP_* variables."""
    import uvicorn

    from dosemap.config import load_settings
    from dosemap.persistence.db import Database
    from dosemap.services.database import upgrade_schema

    settings = load_settings()
    db = Database.from_url(settings.database_url)
    upgrade_schema(db)
    if demo:
        _seed_demo(db, host, port)
    db.dispose()
    if "DOSEMAP_WEB_SECURE_COOKIES" not in os.environ:
        # Plain http on 127.0.0.1 (a demo, or behind a local TLS proxy): Secure cookies would
        # not be sent back. Any other address is assumed to sit behind HTTPS.
        os.environ["DOSEMAP_WEB_SECURE_COOKIES"] = "0" if _is_loopback(host) else "1"
    uvicorn.run(
        "dosemap.web.asgi:app",
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        server_header=False,
        log_level="info",
        access_log=request_log,
    )


def _seed_demo(db: object, host: str, port: int) -> None:
    from rich.console import Console

    from dosemap.persistence.db import Database
    from dosemap.services.demo import seed_demo_clinic
    from dosemap.services.web_demo import seed_demo_logins

    assert isinstance(db, Database)
    console = Console(highlight=False)
    summary = seed_demo_clinic(db)
    logins = seed_demo_logins(db)
    verb = "seeded" if summary.created else "found"
    console.print(f"Demo clinic {verb}: {summary.patients} patients, {summary.sessions} sessions")
    console.print(f"\n  dosemap is at [bold]http://{host}:{port}/[/bold]  (Ctrl-C stops it)\n")
    console.print("  one login per role (demo data only):")
    for login in logins:
        console.print(f"    {login.role:<11} {login.username:<11} {login.password}")
    console.print()
