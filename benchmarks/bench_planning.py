"""Time the planner: a full face (every atlas zone) against one zone, in the same run.

Run: ``.venv/bin/python benchmarks/bench_planning.py [N]`` (``make bench``). Prints milliseconds
per plan and the full-face/one-zone ratio; no assertion, timings are for reading.
"""

from __future__ import annotations

import sys
import time

from dosemap.domain.atlas.zones import ZONE_ORDER
from dosemap.domain.plan import PlanRequest
from dosemap.domain.planning import build_plan
from dosemap.resources import load_library, template_mesh


def _ms_per_plan(request: PlanRequest, repeats: int) -> tuple[float, int]:
    library, mesh = load_library(), template_mesh()
    build_plan(request, library, mesh)  # warm caches (library, mesh, numpy)
    start = time.perf_counter()
    for _ in range(repeats):
        plan = build_plan(request, library, mesh)
    elapsed = time.perf_counter() - start
    return elapsed * 1000 / repeats, plan.summary.needle_entries


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    baseline = PlanRequest(zones=("forehead",), protocol="diaspro_2020_grid")
    full_face = PlanRequest(zones=ZONE_ORDER, protocol="diaspro_2020_grid")
    one_ms, one_points = _ms_per_plan(baseline, repeats)
    full_ms, full_points = _ms_per_plan(full_face, repeats)
    print(f"planning, {repeats} runs each, 10 mm hexagonal lattice on the template face")
    print(f"  one zone (forehead):     {one_ms:8.1f} ms per plan, {one_points} points")
    print(
        f"  full face ({len(ZONE_ORDER)} zones):   {full_ms:8.1f} ms per plan, {full_points} points"
    )
    print(f"  full face / one zone:    {full_ms / one_ms:8.1f}x")


if __name__ == "__main__":
    main()
