"""Time the planner: a full face (every atlas zone) against one zone, in the same run.

Run: ``.venv/bin/python benchmarks/bench_planning.py [N]`` (``make bench``). Prints milliseconds
per plan warm (the face cache filled by a first plan: what the web editor sees) and cold (the
cache emptied before every plan: what one CLI run sees), and the full-face/one-zone ratio; no
assertion, timings are for reading. Issue 13's aim: a full face ≤ 50 ms warm.
"""

from __future__ import annotations

import sys
import time

from dosemap.domain.atlas.zones import ZONE_ORDER
from dosemap.domain.plan import PlanRequest
from dosemap.domain.planning import build_plan
from dosemap.domain.planning.face_cache import clear_face_caches
from dosemap.resources import load_library, template_mesh


def _ms_per_plan(request: PlanRequest, repeats: int, *, cold: bool) -> tuple[float, int]:
    library, mesh = load_library(), template_mesh()
    build_plan(request, library, mesh)  # warm caches (library, mesh, numpy, the face)
    elapsed = 0.0
    for _ in range(repeats):
        if cold:
            clear_face_caches()
        start = time.perf_counter()
        plan = build_plan(request, library, mesh)
        elapsed += time.perf_counter() - start
    return elapsed * 1000 / repeats, plan.summary.needle_entries


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    baseline = PlanRequest(zones=("forehead",), protocol="diaspro_2020_grid")
    full_face = PlanRequest(zones=ZONE_ORDER, protocol="diaspro_2020_grid")
    print(f"planning, {repeats} runs each, 10 mm hexagonal lattice on the template face")
    full_by_label: dict[str, float] = {}
    for label, cold in (("warm", False), ("cold", True)):
        one_ms, one_points = _ms_per_plan(baseline, repeats, cold=cold)
        full_ms, full_points = _ms_per_plan(full_face, repeats, cold=cold)
        full_by_label[label] = full_ms
        print(f"  {label}: one zone (forehead):     {one_ms:8.1f} ms per plan, {one_points} points")
        print(
            f"  {label}: full face ({len(ZONE_ORDER)} zones):   {full_ms:8.1f} ms per plan, "
            f"{full_points} points"
        )
        print(f"  {label}: full face / one zone:    {full_ms / one_ms:8.1f}x")
    print(f"  full face cold / warm:        {full_by_label['cold'] / full_by_label['warm']:8.1f}x")


if __name__ == "__main__":
    main()
