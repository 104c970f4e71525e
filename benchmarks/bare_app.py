"""The baseline for ``bench_web.py``: a bare FastAPI route returning fixed HTML bytes.

``BENCH_BODIES`` names a folder of ``<name>.html`` files (the pages the benchmark measures,
as served); ``GET /bare/<name>`` returns one, read once at start.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

app = FastAPI()
BODIES = {p.stem: p.read_bytes() for p in Path(os.environ["BENCH_BODIES"]).glob("*.html")}


@app.get("/bare/{name}")
async def bare(name: str) -> HTMLResponse:
    return HTMLResponse(BODIES[name])
