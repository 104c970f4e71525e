"""``dosemap dilute``: the arithmetic printed for people and as exact JSON; bad input exits 2."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal as D

import pytest
from typer.testing import CliRunner

import dosemap.cli as cli

runner = CliRunner()

BASE = ["dilute", "--product", "botox_cosmetic", "--vial-units", "100", "--diluent-ml", "2.5"]


def setup_module() -> None:
    cli._register()


def test_brief_example_json() -> None:
    result = runner.invoke(
        cli.app,
        [
            *BASE,
            "--volume-ul",
            "10",
            "--points",
            "80",
            "--target-units-per-ml",
            "24",
            "--adjunct",
            "lidocaine=0.1",
            "--reconstituted-at",
            "2026-03-01T09:00+01:00",
            "--price-per-vial",
            "450",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    r = json.loads(result.output)
    assert D(r["stock"]["units_per_0_1_ml"]) == 4
    assert D(r["mix"]["units_per_ml"]) == 24
    assert D(r["units_per_point"]) == D("0.24")
    session = r["session"]
    assert D(session["total_units_injected"]) == D("19.2")
    draw = {k: D(v) for k, v in session["draw_up_ml"].items()}
    assert draw == {
        "stock:botox_cosmetic": D("0.51"),
        "lidocaine": D("0.085"),
        "saline": D("0.255"),
    }
    # Units conserved: stock drawn (with 50 µL dead space) = 850 µL of mix at 24 U/mL.
    assert D(session["stock_units_drawn"]) == D("20.4")
    assert (session["vials"], D(session["units_left_in_vials"])) == (1, D("79.6"))
    policies = {p["policy"]: p["discard_at"] for p in r["beyond_use"]}
    assert policies == {
        "label": "2026-03-02T09:00:00+01:00",
        "asds_consensus": "2026-03-29T09:00:00+01:00",
    }
    assert D(session["cost"]["total"]) == 450


def test_human_output_mentions_between_marks() -> None:
    result = runner.invoke(
        cli.app,
        [*BASE, "--volume-ul", "8", "--reconstituted-at", "2026-03-01T09:00Z"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "BETWEEN lines 0 and 1" in result.output
    assert "NOT toxin units" in result.output
    assert "label row [LABEL]" in result.output
    assert "ASDS consensus" in result.output


def test_dysport_shows_botox_equivalent_with_range() -> None:
    result = runner.invoke(
        cli.app,
        [
            "dilute",
            "--product",
            "dysport",
            "--vial-units",
            "300",
            "--diluent-ml",
            "2.5",
            "--volume-ul",
            "10",
            "--points",
            "10",
            "--json",
        ],
    )
    eq = json.loads(result.output)["session"]["botox_equivalent"]
    # 10 points x 10 µL at 120 U/mL = 12 Dysport U -> 12 / 2.5 (range / 3 to / 2) Botox U.
    assert (D(eq["default"]), D(eq["low"]), D(eq["high"])) == (D("4.8"), D(4), D(6))
    assert "not interchangeable" in eq["caveat"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dosemap", *args], capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        (["--diluent-ml", "0"], "diluent_ml"),
        (["--vial-units", "-100"], "vial_units"),
        (["--vial-units", "lots"], "vial_units"),
        (["--volume-ul", "-10"], "volume_ul"),
        (["--target-units-per-ml", "50"], "target_units_per_ml"),
        (["--adjunct", "lidocaine"], "adjunct"),
        (["--adjunct", "snake_oil=0.1"], "adjunct"),
        (["--points", "80"], "volume_ul"),
        (["--reconstituted-at", "2026-03-01T09:00"], "reconstituted_at"),
        (["--product", "botox"], "product"),
    ],
)
def test_bad_input_is_one_line_exit_2(extra: list[str], field: str) -> None:
    args = list(BASE)
    for flag, value in zip(extra[::2], extra[1::2], strict=True):
        if flag in args:
            args[args.index(flag) + 1] = value
        else:
            args += [flag, value]
    proc = run(*args)
    assert proc.returncode == 2, proc.stdout
    line = proc.stderr.strip()
    assert line.count("\n") == 0, line
    assert line.startswith(f"error: {field}"), line
