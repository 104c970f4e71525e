"""Count what hostile input does to the records commands: tracebacks, inputs wrongly accepted,
inputs refused in one line. Run it on two checkouts to compare (before/after a change)::

    .venv/bin/python benchmarks/hostile_inputs.py
    PYTHONPATH=/path/to/other/checkout/src .venv/bin/python benchmarks/hostile_inputs.py

Each case runs ``python -m dosemap`` in a fresh data directory holding a small clinic (a
subprocess, as a person would). ``refuse`` cases must exit 2 with one line; ``ok`` cases (markup
in a value is data, not an error) must exit 0 and leave every listing working.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

SETUP = [
    ["db", "clinic-add", "Hostile Clinic", "--jurisdiction", "US-CA"],
    ["db", "staff-add", "Ada", "--role", "admin"],
    ["db", "staff-add", "Ivy", "--role", "injector"],
    ["db", "allow", "RN"],
    [
        "patients",
        "add",
        "--chart-number",
        "P-1",
        "--given-name",
        "A",
        "--family-name",
        "B",
        "--dob",
        "1980-01-01",
    ],
    ["vials", "lot-add", "botox_cosmetic", "LOT-1", "--expires", "2031-01-01"],
    [
        "vials",
        "open",
        "--lot",
        "LOT-1",
        "--label",
        "V-1",
        "--units",
        "100",
        "--diluent-ml",
        "2.5",
        "--at",
        "2026-01-01T09:00+00:00",
    ],
]


def _patient(chart: str, dob: str = "1980-01-01") -> list[str]:
    return [
        "patients",
        "add",
        "--chart-number",
        chart,
        "--given-name",
        "G",
        "--family-name",
        "F",
        "--dob",
        dob,
    ]


CASES: list[tuple[str, str, list[str]]] = [
    ("markup chart number", "ok", _patient("[/]")),
    ("markup chart number (bold)", "ok", _patient("[bold]x")),
    (
        "markup lot number",
        "ok",
        ["vials", "lot-add", "botox_cosmetic", "[/]", "--expires", "2031-01-01"],
    ),
    (
        "markup vial label",
        "ok",
        [
            "vials",
            "open",
            "--lot",
            "LOT-1",
            "--label",
            "[/]",
            "--units",
            "50",
            "--diluent-ml",
            "1",
            "--at",
            "2026-01-02T09:00+00:00",
        ],
    ),
    ("markup staff name", "ok", ["db", "staff-add", "[/]", "--role", "front_desk"]),
    ("duplicate chart number", "refuse", _patient("P-1")),
    (
        "duplicate lot",
        "refuse",
        ["vials", "lot-add", "botox_cosmetic", "LOT-1", "--expires", "2031-01-01"],
    ),
    (
        "duplicate vial label",
        "refuse",
        [
            "vials",
            "open",
            "--lot",
            "LOT-1",
            "--label",
            "V-1",
            "--units",
            "100",
            "--diluent-ml",
            "2.5",
        ],
    ),
    ("db allow twice", "refuse", ["db", "allow", "RN"]),
    ("db allow lower case twice", "refuse", ["db", "allow", "rn"]),
    ("followups within huge", "refuse", ["followups", "due", "--within", "99999999"]),
    ("followups within negative", "refuse", ["followups", "due", "--within", "-5"]),
    ("born 1800", "refuse", _patient("P-1800", "1800-01-01")),
    ("born year 1", "refuse", _patient("P-0001", "0001-01-01")),
    ("born in the future", "refuse", _patient("P-2999", "2999-01-01")),
    (
        "vial reconstituted in the future",
        "refuse",
        [
            "vials",
            "open",
            "--lot",
            "LOT-1",
            "--label",
            "V-F",
            "--units",
            "100",
            "--diluent-ml",
            "2.5",
            "--at",
            "2999-01-01T09:00+00:00",
        ],
    ),
    (
        "vial of 0 units",
        "refuse",
        [
            "vials",
            "open",
            "--lot",
            "LOT-1",
            "--label",
            "V-0",
            "--units",
            "0",
            "--diluent-ml",
            "2.5",
        ],
    ),
    (
        "vial of NaN units",
        "refuse",
        [
            "vials",
            "open",
            "--lot",
            "LOT-1",
            "--label",
            "V-N",
            "--units",
            "NaN",
            "--diluent-ml",
            "2.5",
        ],
    ),
    (
        "adverse event in 2999",
        "refuse",
        [
            "patients",
            "adverse",
            "P-1",
            "--kind",
            "bruising",
            "--severity",
            "mild",
            "--onset",
            "2999-01-01T00:00+00:00",
        ],
    ),
    ("unknown staff role", "refuse", ["db", "staff-add", "Zed", "--role", "janitor"]),
    ("unknown patient", "refuse", ["patients", "show", "NOPE"]),
    ("unknown lot recall", "ok", ["recall", "NOPE"]),
    ("session id not a uuid", "refuse", ["sessions", "show", "x"]),
    ("write without an actor", "refuse-noactor", _patient("P-NA")),
    ("write as a stranger", "refuse", [*_patient("P-ST"), "--as", "Mallory"]),
    (
        "lot with a bad date",
        "refuse",
        ["vials", "lot-add", "botox_cosmetic", "L-9", "--expires", "2031-13-45"],
    ),
    (
        "unknown product",
        "refuse",
        ["vials", "lot-add", "no_such_toxin", "L-9", "--expires", "2031-01-01"],
    ),
]


def _dosemap(data: Path, args: list[str], actor: bool = True) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DOSEMAP_DATA_DIR": str(data),
        "COLUMNS": "200",
        "DOSEMAP_AUDIT_KEY": "hostile-input-key-0123456789",
    }
    env.pop("DOSEMAP_DATABASE_URL", None)
    if actor:
        env["DOSEMAP_ACTOR"] = "Ada"
    else:
        env.pop("DOSEMAP_ACTOR", None)
    return subprocess.run(
        [sys.executable, "-m", "dosemap", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def main() -> None:
    tracebacks = accepted = refused = ok = broken_lists = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, expect, args in CASES:
            data = Path(tmp) / name.replace(" ", "_")
            for step in SETUP:
                _dosemap(data, step)
            done = _dosemap(data, args, actor=expect != "refuse-noactor")
            traced = "Traceback" in done.stderr
            lists_ok = all(
                _dosemap(data, cmd).returncode == 0
                for cmd in (["patients", "list"], ["vials", "list"], ["recall", "LOT-1"])
            )
            if traced:
                tracebacks += 1
                verdict = "TRACEBACK"
            elif expect.startswith("refuse") and done.returncode == 0:
                accepted += 1
                verdict = "ACCEPTED (should be refused)"
            elif expect.startswith("refuse"):
                refused += 1
                verdict = "refused: " + (done.stderr.strip().splitlines() or [""])[-1][:90]
            else:
                ok += 1 if done.returncode == 0 else 0
                verdict = "ok" if done.returncode == 0 else f"exit {done.returncode}"
            if not lists_ok:
                broken_lists += 1
                verdict += "; LISTINGS BROKEN AFTERWARDS"
            print(f"{name:36s} {verdict}")
    print(
        f"\n{len(CASES)} hostile inputs: {tracebacks} traceback(s), {accepted} wrongly accepted, "
        f"{broken_lists} leaving listings broken, {refused} refused in one line, {ok} fine"
    )


if __name__ == "__main__":
    main()
