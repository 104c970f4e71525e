"""The ASGI entry point for uvicorn workers: ``dosemap.web.asgi:app``."""

from __future__ import annotations

from dosemap.web.app import create_app
from dosemap.web.serving_gc import settle_for_serving

app = create_app()
# Each worker imports this module once: what start-up built stays out of the collector's way.
settle_for_serving()
