"""Issue 10: a session of several products (plan file format 2)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from dosemap.domain.intake import SessionContext, VialInUse
from dosemap.domain.plan import Plan, PlanRequest, SessionPlan, combine_plans, read_plan_document
from dosemap.domain.planning import build_plan
from dosemap.domain.safety import evaluate
from dosemap.resources import load_library, template_mesh

LIBRARY = load_library()
MESH = template_mesh()
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
CHEEK = ("lateral_cheek_left",)


def cheek_plan(protocol: str, target: str) -> Plan:
    return build_plan(
        PlanRequest(protocol=protocol, zones=CHEEK, zone_target_units={CHEEK[0]: Decimal(target)}),
        LIBRARY,
        MESH,
    )


def tray(*products: str) -> SessionContext:
    return SessionContext(
        treatment_at=NOW,
        vials=tuple(
            VialInUse(
                product=p,
                lot=f"L-{p}",
                lot_expiry=NOW.date() + timedelta(days=30),
                reconstituted_at=NOW - timedelta(hours=1),
                beyond_use_policy="label",
            )
            for p in products
        ),
    )


def codes(findings: object) -> dict[str, str]:
    return {f.code.split("-")[0]: f.severity.value for f in findings}  # type: ignore[attr-defined]


def test_points_run_on_and_a_format_1_file_still_reads() -> None:
    a = cheek_plan("salem_2024_5ml", "4")
    b = cheek_plan("kesty_2021_forehead_30", "20")
    session = combine_plans([a, b])
    numbers = [p.number for p in session.points]
    assert numbers == list(range(1, len(numbers) + 1))
    assert session.products == ("botox_cosmetic", "dysport")
    assert read_plan_document(json.loads(a.model_dump_json())) == a
    again = read_plan_document(json.loads(session.model_dump_json()))
    assert isinstance(again, SessionPlan) and again == session
    with pytest.raises(ValidationError, match="repeats another plan"):
        SessionPlan(plans=(a, a))
    with pytest.raises(ValueError, match="schema_version"):
        read_plan_document({"schema_version": "9"})


def test_a_cap_adds_every_product_in_botox_equivalent_units_with_the_range() -> None:
    # 12 U Botox + 25 U Dysport (10 Botox-eq, range 8.3-12.5) in one cheek: each alone is under
    # the 20 U cheek cap, together above it.
    botox = cheek_plan("salem_2024_5ml", "12")
    dysport = cheek_plan("kesty_2021_forehead_30", "25")
    assert "DM104" not in codes(evaluate(botox, LIBRARY, mesh=MESH))
    assert "DM104" not in codes(evaluate(dysport, LIBRARY, mesh=MESH))
    both = evaluate(combine_plans([botox, dysport]), LIBRARY, mesh=MESH)
    (cap,) = [f for f in both if f.code.startswith("DM104-")]
    assert cap.severity.value == "block"
    assert "Botox Cosmetic" in cap.message and "Dysport" in cap.message and "range" in cap.message
    assert cap.values["converted_low_units"] < cap.values["converted_high_units"]
    (totals,) = [f for f in both if f.code.startswith("DM903-")]
    assert (
        totals.values["botox_equivalent_low_units"] < totals.values["botox_equivalent_high_units"]
    )


def test_a_cap_within_at_the_default_ratio_but_above_at_the_range_end_warns() -> None:
    botox = cheek_plan("salem_2024_5ml", "10")
    dysport = cheek_plan("kesty_2021_forehead_30", "22")  # 8.8 Botox-eq, up to 11 at 1:2
    findings = evaluate(combine_plans([botox, dysport]), LIBRARY, mesh=MESH)
    assert codes(findings).get("DM107") == "warn" and "DM104" not in codes(findings)


def test_a_tray_with_both_products_is_right_and_a_missing_one_is_said() -> None:
    session = combine_plans(
        [cheek_plan("salem_2024_5ml", "4"), cheek_plan("kesty_2021_forehead_30", "20")]
    )
    fine = codes(evaluate(session, LIBRARY, mesh=MESH, context=tray("botox_cosmetic", "dysport")))
    assert "DM703" not in fine and "DM704" not in fine
    short = evaluate(session, LIBRARY, mesh=MESH, context=tray("botox_cosmetic"))
    (missing,) = [f for f in short if f.code.startswith("DM704-")]
    assert "Dysport" in missing.message
    wrong = codes(
        evaluate(session, LIBRARY, mesh=MESH, context=tray("botox_cosmetic", "dysport", "xeomin"))
    )
    assert wrong["DM703"] == "block"


def test_a_single_plan_checks_the_same_as_before() -> None:
    plan = cheek_plan("salem_2024_5ml", "4")
    assert evaluate(plan, LIBRARY, mesh=MESH) == evaluate(
        SessionPlan(plans=(plan,)), LIBRARY, mesh=MESH
    )
