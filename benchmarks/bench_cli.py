"""Command-line start-up, as ratios against ``python -c "import typer, rich"`` in the same run.

Run: ``.venv/bin/python benchmarks/bench_cli.py [--runs 15]``

Each command is timed as a whole process (interpreter start, imports, work, exit): with
``hyperfine`` when it is installed (``apt-get install hyperfine``), else by running the commands
in turns ``--runs`` times and keeping each one's median (turns, so a slow spell of a shared
machine hits every command alike). Target: ``dosemap --help`` within 3× the baseline.

Figures of 2026-12-02 on the 2-core VM, loaded by other jobs (load average ~8, so every wall time
is inflated; ratios and CPU times are the figures to compare). Before: every command imported
SQLAlchemy, Alembic, the ORM, MediaPipe's callers and the renderer first. One hyperfine run with
both versions (medians of 10; CPU = user time):

| command | before | after |
|---|---|---|
| ``import typer, rich`` (baseline) | 0.42 s (0.10 s CPU) | the same run |
| ``dosemap --help`` | 6.0 s, 1.58 s CPU, 14.4× | 1.11 s, 0.27 s CPU, 2.66× |
| ``dosemap dilute …`` | 5.8 s, 1.65 s CPU, 13.9× | 1.00 s, 0.39 s CPU, 2.39× |
| ``dosemap catalog protocols`` | 7.9 s, 1.70 s CPU, 18.8× | 1.89 s, 0.45 s CPU, 4.50× |
| ``dosemap plan …`` (no picture) | 8.2 s, 1.68 s CPU, 19.6× | 4.33 s, 0.83 s CPU, 10.3× |

A later run of this script (load ~8): baseline 0.25 s; ``--help`` 1.57×, ``catalog`` 3.3×,
``dilute`` 4.7×, ``plan`` 7.3×. ``plan`` still loads NumPy and Shapely: the planner uses them.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
BASELINE = "baseline: import typer, rich"


def commands(out: Path) -> dict[str, list[str]]:
    dosemap = str(BIN / "dosemap")
    return {
        BASELINE: [sys.executable, "-c", "import typer, rich"],
        "dosemap --help": [dosemap, "--help"],
        "dosemap catalog protocols": [dosemap, "catalog", "protocols"],
        "dosemap dilute …": [
            dosemap, "dilute", "--product", "botox_cosmetic", "--vial-units", "100",
            "--diluent-ml", "2.5", "--volume-ul", "10", "--points", "80",
        ],
        "dosemap plan … (no picture)": [
            dosemap, "plan", "--out", str(out / "plan.json"), "--protocol", "diaspro_2020_grid",
            "--zones", "forehead,medial_cheek_left,medial_cheek_right",
        ],
    }  # fmt: skip


def with_hyperfine(cmds: dict[str, list[str]], runs: int) -> dict[str, float]:
    """Median seconds per command, from hyperfine (no shell: ``-N``)."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        args = ["hyperfine", "-N", "--warmup", "2", "--runs", str(runs), "--style", "none"]
        for name, argv in cmds.items():
            args += ["--command-name", name, shlex.join(argv)]
        subprocess.run([*args, "--export-json", str(report)], check=True, capture_output=True)
        results = json.loads(report.read_text())["results"]
    return {r["command"]: float(r["median"]) for r in results}


def by_turns(cmds: dict[str, list[str]], runs: int) -> dict[str, float]:
    """Median seconds per command, the commands run in turns (after one warm-up turn)."""
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for turn in range(runs + 1):
        for name, argv in cmds.items():
            start = time.perf_counter()
            subprocess.run(argv, check=True, capture_output=True)
            if turn:
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--no-hyperfine", action="store_true", help="time with Python instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cmds = commands(Path(tmp))
        tool = "hyperfine" if shutil.which("hyperfine") and not args.no_hyperfine else None
        medians = with_hyperfine(cmds, args.runs) if tool else by_turns(cmds, args.runs)
    base = medians[BASELINE]
    print(f"CLI start-up, median of {args.runs} runs ({tool or 'Python, in turns'})")
    for name, seconds in medians.items():
        print(f"  {name:32} {seconds * 1000:7.0f} ms  {seconds / base:5.2f}× baseline")
    ratio = medians["dosemap --help"] / base
    print(f"dosemap --help: {ratio:.2f}× baseline (target <= 3×): {'ok' if ratio <= 3 else 'SLOW'}")


if __name__ == "__main__":
    main()
