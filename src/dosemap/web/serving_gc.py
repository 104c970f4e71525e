"""The garbage collector's settings for a serving process (a uvicorn worker), applied once the
app is built; tests and the CLI keep Python's defaults.

Under load, requests in flight survive young collections, are promoted, and trigger full
collections that walked every object of the process (~190,000: modules, SQLAlchemy, pydantic,
Jinja) — ~130 ms each, 28 of them in ~30 s of the Patient page at 64 connections: ~10 % of
the worker's time and its p99. Freezing what start-up made moves those objects out of the
collector's sight (they live as long as the process anyway), and a higher first threshold
collects the young generation less often (it holds mostly requests still in flight). Measured
in ``benchmarks/bench_web.py``'s figures of 3 Dec 2026.
"""

from __future__ import annotations

import gc

#: Net new container objects between young collections (Python's default is 700: a
#: collection every few requests, each walking the objects of every request in flight).
GEN0_THRESHOLD = 20_000


def settle_for_serving() -> None:
    """Collect start-up's garbage, freeze what is left, and raise the young threshold."""
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GEN0_THRESHOLD, gen1, gen2)
