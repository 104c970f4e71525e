"""The ASGI entry point for uvicorn workers: ``dosemap.web.asgi:app``."""

from __future__ import annotations

from dosemap.web.app import create_app

app = create_app()
