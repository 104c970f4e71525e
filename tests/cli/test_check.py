"""``dosemap check``: tables or JSON, the verdict, and exit 0 / 1 / 2."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

import dosemap.cli as cli
from dosemap.cli.check import point_ranges, read_model
from dosemap.domain.errors import InvalidInputError
from dosemap.domain.intake import Intake
from dosemap.domain.plan import PlanRequest
from dosemap.domain.planning.planner import build_plan
from dosemap.resources import load_library, template_mesh

runner = CliRunner()

CLEAN_INTAKE = {
    "recorded_on": "2026-11-27",
    "age_years": 40,
    "answers": {
        "hypersensitivity": False,
        "infection_at_site": False,
        "neuromuscular_disease": False,
        "aminoglycosides": False,
        "pregnancy": False,
        "breastfeeding": False,
        "cow_milk_protein_allergy": False,
        "anticoagulants": False,
        "dry_skin_or_eczema": False,
    },
}
CONTEXT = {
    "treatment_at": "2026-11-27T10:00:00+01:00",
    "hyaluronidase_on_hand": True,
    "vials": [
        {
            "product": "botox_cosmetic",
            "lot": "C1234",
            "lot_expiry": "2027-06-30",
            "reconstituted_at": "2026-11-27T08:30:00+01:00",
            "beyond_use_policy": "label",
        }
    ],
}


def setup_module() -> None:
    cli._register()


def write(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A plan that passes and one that exceeds the per-cheek cap, made by the planner."""
    folder = tmp_path_factory.mktemp("plans")
    library, mesh = load_library(), template_mesh()
    clean = build_plan(PlanRequest(zones=("forehead",), protocol="wu_microbotox_20"), library, mesh)
    heavy = build_plan(
        PlanRequest(
            zones=("lateral_cheek_left", "medial_cheek_left"),
            protocol="wu_microbotox_24",
            zone_target_units={"lateral_cheek_left": Decimal(14), "medial_cheek_left": Decimal(8)},
        ),
        library,
        mesh,
    )
    out = {}
    for name, plan in (("clean", clean), ("heavy", heavy)):
        out[name] = folder / f"{name}.json"
        out[name].write_text(plan.model_dump_json(), encoding="utf-8")
    return out


def test_clean_plan_exits_0_with_a_verdict(plans: dict[str, Path], tmp_path: Path) -> None:
    patient = write(tmp_path / "intake.json", CLEAN_INTAKE)
    context = write(tmp_path / "context.json", CONTEXT)
    args = ["check", str(plans["clean"]), "--patient", str(patient), "--context", str(context)]
    result = runner.invoke(cli.app, args)
    assert result.exit_code == 0, result.output
    assert "DM901-OFF-LABEL" in result.output
    assert "No blocking finding" in result.output.splitlines()[-1]


def test_blocking_plan_exits_1_and_lists_blocks_first(plans: dict[str, Path]) -> None:
    result = runner.invoke(cli.app, ["check", str(plans["heavy"])], terminal_width=120)
    assert result.exit_code == 1, result.output
    output = result.output
    assert output.index("Blocks") < output.index("Warnings") < output.index("Notices")
    assert "DM104-CHEEK-CAP" in output and "DM814-INTAKE-MISSING" in output
    assert output.splitlines()[-1].startswith("BLOCKED")


def test_json_output(plans: dict[str, Path], tmp_path: Path) -> None:
    patient = write(tmp_path / "intake.json", CLEAN_INTAKE | {"medications": ["warfarin"]})
    args = ["check", str(plans["heavy"]), "--patient", str(patient), "--json"]
    result = runner.invoke(cli.app, args)
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["blocked"] is True
    assert report["counts"]["block"] == sum(f["severity"] == "block" for f in report["findings"])
    codes = [f["code"] for f in report["findings"]]
    assert "DM104-CHEEK-CAP" in codes and "DM815-MEDICATION-NAMED" in codes
    cap = next(f for f in report["findings"] if f["code"] == "DM104-CHEEK-CAP")
    assert Decimal(cap["values"]["total_units"]) > Decimal(cap["values"]["ceiling_units"]) == 20
    assert cap["source"] == "korean_inco_cheek" and cap["tag"] == "VARIES"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dosemap", "check", *args],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("{not json", "not valid JSON"),
        (json.dumps(CLEAN_INTAKE | {"answers": {"pregnancy": "maybe"}}), "answers.pregnancy"),
        (json.dumps({"age_years": 40}), "recorded_on"),
    ],
)
def test_bad_patient_file_is_one_line_exit_2(
    plans: dict[str, Path], tmp_path: Path, content: str, needle: str
) -> None:
    patient = tmp_path / "intake.json"
    patient.write_text(content, encoding="utf-8")
    proc = run_cli(str(plans["clean"]), "--patient", str(patient))
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    line = proc.stderr.strip()
    assert "\n" not in line and "--patient" in line and needle in line


def test_missing_plan_file_is_exit_2(tmp_path: Path) -> None:
    proc = run_cli(str(tmp_path / "nope.json"))
    assert proc.returncode == 2
    assert "no such file" in proc.stderr and "Traceback" not in proc.stderr


def test_unknown_beyond_use_policy_names_the_field(plans: dict[str, Path], tmp_path: Path) -> None:
    vial = CONTEXT["vials"][0] | {"beyond_use_policy": "forever"}  # type: ignore[index, operator]
    context = write(tmp_path / "context.json", CONTEXT | {"vials": [vial]})
    proc = run_cli(str(plans["clean"]), "--context", str(context))
    assert proc.returncode == 2
    assert "vials[0].beyond_use_policy" in proc.stderr and "label" in proc.stderr


def test_read_model_names_the_option_and_file(tmp_path: Path) -> None:
    path = write(tmp_path / "i.json", {"recorded_on": "2026-13-01"})
    with pytest.raises(InvalidInputError) as err:
        read_model(path, Intake, "--patient")
    assert err.value.field == "--patient"
    assert str(path) in str(err.value) and "recorded_on" in str(err.value)


def test_point_ranges() -> None:
    assert point_ranges([]) == ""
    assert point_ranges([3]) == "3"
    assert point_ranges([1, 2, 3, 5, 7, 8]) == "1-3, 5, 7-8"
