"""Safety rules: each rule has a case that triggers it and a near miss that does not."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dosemap.domain.atlas.danger import DANGER_ZONES, danger_zone_hits
from dosemap.domain.atlas.surface import anchor_point
from dosemap.domain.atlas.zones import ZONES
from dosemap.domain.errors import InvalidInputError, UnknownNameError
from dosemap.domain.evidence import EvidenceTag
from dosemap.domain.intake import (
    Intake,
    PriorTreatment,
    SessionContext,
    VialInUse,
)
from dosemap.domain.library import Library
from dosemap.domain.library.models import Severity
from dosemap.domain.plan import (
    MeshAnchor,
    MixComponentAmount,
    Plan,
    PlannedPoint,
    PlanRequest,
    PlanSummary,
    WorkingMix,
    ZoneSummary,
)
from dosemap.domain.safety import CATALOGUE, Finding, evaluate
from dosemap.domain.safety.finding import CODE_PATTERN
from dosemap.domain.safety.rules import contraindications
from dosemap.resources import load_library, template_mesh

LIBRARY = load_library()
MESH = template_mesh()
MARGINS = LIBRARY.margins_mm()
SAFE_VERTEX = 10  # top of the forehead, on the midline: outside every danger zone and margin
TODAY = date(2026, 11, 27)
NOON = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

Spec = tuple[str, str | Decimal]  # (zone, units) with 10 µL droplets


def anchor(vertex: int = SAFE_VERTEX) -> MeshAnchor:
    return MeshAnchor(vertices=(vertex, vertex, vertex), weights=(1.0, 0.0, 0.0))


def make_plan(
    points: Sequence[tuple[str, str | Decimal] | tuple[str, str | Decimal, str | Decimal]],
    *,
    product: str = "botox_cosmetic",
    protocol: str | None = None,
    vial_units: str = "100",
    diluent_ml: str = "2.5",
    technique: str = "intradermal_wheal",
    anchors: Sequence[MeshAnchor] | None = None,
    ha: bool = False,
    ha_fraction: str | None = None,
) -> Plan:
    """A plan whose summary agrees with its points.

    Each point is ``(zone, units)`` (10 µL) or ``(zone, units, volume_ul)``; the mix
    concentration is taken from the first point, so units = volume × concentration.
    """
    first = points[0]
    first_volume = Decimal(first[2]) if len(first) == 3 else Decimal(10)  # type: ignore[misc]
    units_per_ml = Decimal(first[1]) * 1000 / first_volume
    planned = []
    for number, spec in enumerate(points, start=1):
        zone, units = spec[0], Decimal(spec[1])
        volume = Decimal(spec[2]) if len(spec) == 3 else Decimal(10)  # type: ignore[misc]
        planned.append(
            PlannedPoint(
                number=number,
                zone=zone,
                position_mm=(0.0, 0.0, 0.0),
                anchor=anchors[number - 1] if anchors else anchor(),
                technique=technique,
                depth="intradermal",
                volume_ul=volume,
                units=units,
            )
        )
    components = [MixComponentAmount(ingredient=f"stock:{product}", fraction=Decimal(1))]
    if ha_fraction is not None:
        components = [
            MixComponentAmount(ingredient=f"stock:{product}", fraction=1 - Decimal(ha_fraction)),
            MixComponentAmount(ingredient="ha_skin_booster", fraction=Decimal(ha_fraction)),
        ]
    zones: dict[str, list[PlannedPoint]] = {}
    for p in planned:
        zones.setdefault(p.zone, []).append(p)
    return Plan(
        request=PlanRequest(),
        protocol=protocol,
        protocol_citation=None,
        product=product,
        technique=technique,
        spacing_mm=Decimal(10),
        mix=WorkingMix(
            product=product,
            stock_vial_units=Decimal(vial_units),
            stock_diluent_ml=Decimal(diluent_ml),
            units_per_ml=units_per_ml,
            components=tuple(components),
            contains_hyaluronic_acid=ha,
        ),
        points=tuple(planned),
        summary=PlanSummary(
            needle_entries=len(planned),
            total_units=sum((p.units for p in planned), Decimal(0)),
            total_volume_ul=sum((p.volume_ul for p in planned), Decimal(0)),
            zones=tuple(
                ZoneSummary(
                    zone=zone,
                    area_mm2=100.0,
                    points=len(ps),
                    volume_ul=sum((p.volume_ul for p in ps), Decimal(0)),
                    units=sum((p.units for p in ps), Decimal(0)),
                )
                for zone, ps in zones.items()
            ),
            draw_up=(),
            vials_needed=1,
            units_left_in_vials=Decimal(0),
        ),
    )


def spread(zone: str, total: str, per_point: str = "0.2") -> list[tuple[str, Decimal]]:
    """Points of ``per_point`` U in ``zone`` adding up to exactly ``total`` U."""
    whole, rest = divmod(Decimal(total), Decimal(per_point))
    specs: list[tuple[str, Decimal]] = [(zone, Decimal(per_point))] * int(whole)
    if rest:
        specs.append((zone, rest))
    return specs


def run(plan: Plan, library: Library = LIBRARY, **kwargs: object) -> tuple[Finding, ...]:
    return evaluate(plan, library, mesh=MESH, **kwargs)  # type: ignore[arg-type]


def codes_of(findings: Sequence[Finding]) -> set[str]:
    return {f.code.split("-")[0] for f in findings}


def only(findings: Sequence[Finding], code: str) -> list[Finding]:
    return [f for f in findings if f.code.startswith(code + "-")]


def intake(**kwargs: object) -> Intake:
    answers = {
        "hypersensitivity": False,
        "infection_at_site": False,
        "neuromuscular_disease": False,
        "aminoglycosides": False,
        "pregnancy": False,
        "breastfeeding": False,
        "cow_milk_protein_allergy": False,
        "anticoagulants": False,
        "dry_skin_or_eczema": False,
    }
    answers.update(kwargs.pop("answers", {}))  # type: ignore[arg-type]
    fields = {"recorded_on": TODAY, "age_years": 40, "answers": answers} | kwargs
    return Intake.model_validate(fields)


# ----------------------------------------------------------------------------- the catalogue


def test_codes_are_unique_and_well_formed() -> None:
    numbers = [c.code.split("-")[0] for c in CATALOGUE]
    assert len(set(numbers)) == len(numbers)
    assert all(re.fullmatch(CODE_PATTERN, c.code) for c in CATALOGUE)


def test_docs_list_every_code_with_its_library_severity() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "findings.md").read_text(encoding="utf-8")
    documented = dict(re.findall(r"^\| `(DM\d{3}-[A-Z0-9-]+)` \| (block|warn|info) \|", doc, re.M))
    expected = {c.code: LIBRARY.finding_severity(c.code).value.value for c in CATALOGUE}
    assert documented == expected


def test_every_code_has_a_cited_severity_in_the_library_and_no_record_is_orphaned() -> None:
    assert {c.key for c in CATALOGUE} == set(LIBRARY.findings)
    for record in LIBRARY.findings.values():
        assert record.severity.source in LIBRARY.sources


def test_cited_sources_exist_in_the_library() -> None:
    cited = {d.source for d in contraindications.DEFAULTS.values()}
    assert cited <= set(LIBRARY.sources)


# ----------------------------------------------------------------------------- general


def test_a_clean_plan_with_clean_intake_and_context_only_gets_the_off_label_notice() -> None:
    context = SessionContext(
        treatment_at=NOON,
        hyaluronidase_on_hand=True,
        vials=(VialInUse(product="botox_cosmetic", lot="L1", lot_expiry=TODAY),),
    )
    findings = run(make_plan(spread("forehead", "4")), intake=intake(), context=context)
    assert [f.code for f in findings] == ["DM506-ROLLING-TOTALS", "DM901-OFF-LABEL"]
    assert findings[0].severity is Severity.INFO


def test_missing_intake_and_context_are_reported_not_hidden() -> None:
    found = codes_of(run(make_plan(spread("forehead", "4"))))
    assert {"DM814", "DM902", "DM901"} <= found


def test_order_is_severity_then_code_and_deterministic() -> None:
    plan = make_plan([*spread("jawline_left", "25"), ("forehead", "1.5")])
    first = run(plan, intake=intake(answers={"pregnancy": True, "anticoagulants": None}))
    again = run(plan, intake=intake(answers={"pregnancy": True, "anticoagulants": None}))
    assert first == again
    assert list(first) == sorted(first, key=Finding.sort_key)
    ranks = [list(Severity).index(f.severity) for f in first]
    assert ranks == sorted(ranks)
    assert {Severity.BLOCK, Severity.WARN, Severity.INFO} <= {f.severity for f in first}


def test_unknown_product_or_protocol_is_an_input_error_naming_the_field() -> None:
    plan = make_plan(spread("forehead", "1"))
    with pytest.raises(UnknownNameError) as err:
        run(plan.model_copy(update={"protocol": "nope"}))
    assert err.value.field == "protocol"
    other = plan.model_copy(update={"product": "nope"})
    with pytest.raises(UnknownNameError) as err:
        run(other)
    assert err.value.field == "product"


# ----------------------------------------------------------------------------- ceilings


def test_protocol_zone_ceiling_boundary() -> None:
    at = run(make_plan(spread("jawline_left", "20"), protocol="wu_microbotox_24"))
    assert not {"DM101", "DM105"} & codes_of(at)
    over = run(make_plan(spread("jawline_left", "20.2"), protocol="wu_microbotox_24"))
    (zone,) = only(over, "DM101")
    assert zone.severity is Severity.BLOCK and zone.zone == "jawline_left"
    assert zone.values["total_units"] == Decimal("20.2")
    assert zone.values["ceiling_units"] == Decimal(20)
    assert zone.source == "nefertiti_chapter"
    assert "20.2 U > ceiling 20 U" in zone.message
    assert len(zone.point_numbers) == 101
    assert only(over, "DM105")  # the published per-side cap says the same, cited on its own


def test_protocol_session_ceiling_in_the_presets_product() -> None:
    plan = make_plan(spread("forehead", "92", "1"), product="xeomin", protocol="park_2021_inco")
    assert not only(run(plan), "DM102")
    plan = make_plan(spread("forehead", "92.5", "1"), product="xeomin", protocol="park_2021_inco")
    (finding,) = only(run(plan), "DM102")
    assert finding.values["ceiling_units"] == Decimal(92)


def test_label_session_ceiling() -> None:
    assert not only(run(make_plan(spread("forehead", "400", "4"))), "DM103")
    (finding,) = only(run(make_plan(spread("forehead", "401", "4"))), "DM103")
    assert finding.source == "botox_cosmetic_label" and finding.tag is not None


def test_cheek_cap_sums_both_parts_of_one_side_only() -> None:
    ok = spread("medial_cheek_left", "10") + spread("lateral_cheek_left", "10")
    ok += spread("medial_cheek_right", "10")
    assert not only(run(make_plan(ok, product="xeomin")), "DM104")
    over = spread("medial_cheek_left", "10") + spread("lateral_cheek_left", "10.2")
    (finding,) = only(run(make_plan(over, product="xeomin")), "DM104")
    assert finding.zone == "lateral_cheek_left + medial_cheek_left"
    assert finding.values["total_units"] == Decimal("20.2")


@pytest.mark.parametrize(
    ("dysport_units", "expected"),
    [
        ("40", set()),  # 16 U Xeomin-eq, range 13.3-20: within even at the high end
        ("45", {"DM107"}),  # 18 U, range 15-22.5: within at 1:2.5, above at 1:2
        ("50", {"DM107"}),  # exactly 20 U at the default ratio: still within
        ("50.5", {"DM104"}),  # 20.2 U at the default ratio: above
    ],
)
def test_cheek_cap_in_another_products_units_uses_the_conversion_range(
    dysport_units: str, expected: set[str]
) -> None:
    plan = make_plan(spread("lateral_cheek_right", dysport_units, "0.5"), product="dysport",
                     vial_units="300")  # fmt: skip
    found = run(plan)
    assert {"DM104", "DM107"} & codes_of(found) == expected
    for finding in only(found, "DM107") + only(found, "DM104"):
        assert finding.values["converted_low_units"] < finding.values["converted_high_units"]
        assert "Dysport" in finding.message and "Xeomin" in finding.message


def test_jawline_and_neck_caps() -> None:
    ok = spread("jawline_left", "10") + spread("jawline_right", "10") + spread("neck", "20")
    assert not {"DM105", "DM106"} & codes_of(run(make_plan(ok)))
    over = spread("jawline_left", "10") + spread("jawline_right", "10") + spread("neck", "20.2")
    (neck,) = only(run(make_plan(over)), "DM106")
    assert neck.values["total_units"] == Decimal("40.2")
    side = spread("jawline_right", "20.2")
    (finding,) = only(run(make_plan(side)), "DM105")
    assert finding.zone == "jawline_right"


def test_ceiling_without_a_conversion_is_reported_as_not_compared() -> None:
    conversions = {k: v for k, v in LIBRARY.conversions.items() if k != "dysport"}
    library = dataclasses.replace(LIBRARY, conversions=conversions)
    plan = make_plan(spread("lateral_cheek_left", "10", "0.5"), product="dysport", vial_units="300")
    (finding,) = only(run(plan, library), "DM108")
    assert finding.severity is Severity.WARN
    assert not only(run(plan), "DM108")


def test_summary_that_contradicts_the_points_blocks() -> None:
    plan = make_plan(spread("forehead", "4"))
    assert not only(run(plan), "DM109")
    summary = plan.summary.model_copy(update={"total_units": Decimal("0.4")})
    (finding,) = only(run(plan.model_copy(update={"summary": summary})), "DM109")
    assert "0.4 U" in finding.message and "4 U" in finding.message


# ----------------------------------------------------------------------------- danger zones


def test_point_inside_a_danger_zone_blocks() -> None:
    lips = MeshAnchor(vertices=(0, 17, 291), weights=(0.4, 0.4, 0.2))
    plan = make_plan([("perioral", "0.2"), ("perioral", "0.2")], anchors=[lips, anchor()])
    (finding,) = only(run(plan), "DM201")
    hit = danger_zone_hits(plan, MESH, MARGINS)[0]
    assert finding.point_numbers == (1,)
    assert finding.values["nearest_distance_mm"] == Decimal(str(hit.distance_mm)) < 0
    assert finding.zone == "perioral" and "lips" in finding.message


def test_point_in_the_brow_band_warns_and_a_point_beyond_it_does_not() -> None:
    near_brow = anchor(9)  # about 13.5 mm above the brow; the forehead margin is 20 mm
    plan = make_plan([("forehead", "0.2"), ("forehead", "0.2")], anchors=[near_brow, anchor(151)])
    (finding,) = only(run(plan), "DM203")
    assert finding.point_numbers == (1,)
    assert finding.severity is Severity.WARN  # a graded band: warn, not block
    assert 0 <= finding.values["nearest_distance_mm"] < finding.values["margin_mm"] == 20
    assert not {"DM201", "DM202", "DM203"} & codes_of(run(make_plan([("forehead", "0.2")])))


# ----------------------------------------------------------------------------- HA


GLABELLA_INSIDE = anchor(8)  # inside the glabella outline used for the HA rule


@pytest.mark.parametrize(
    ("on_hand", "expected"),
    [(None, "DM601"), (True, "DM601"), (False, "DM602")],
)
def test_ha_in_a_vascular_area_warns_or_blocks_by_hyaluronidase(
    on_hand: bool | None, expected: str
) -> None:
    plan = make_plan([("glabella", "0.2")], anchors=[GLABELLA_INSIDE], ha=True, ha_fraction="0.5")
    context = SessionContext(treatment_at=NOON, hyaluronidase_on_hand=on_hand)
    found = run(plan, context=context)
    assert {"DM601", "DM602"} & codes_of(found) == {expected}
    (finding,) = only(found, expected)
    assert "hyaluronidase" in finding.rationale.lower()
    # The block cites the emergency guidance; the warning cites the zone's anatomy source.
    assert (finding.source == "cmac_vascular_occlusion_2021") == (expected == "DM602")


def test_no_ha_no_vascular_finding() -> None:
    plan = make_plan([("glabella", "0.2")], anchors=[GLABELLA_INSIDE])
    context = SessionContext(treatment_at=NOON, hyaluronidase_on_hand=False)
    assert not {"DM601", "DM602", "DM404"} & codes_of(run(plan, context=context))


def test_unflagged_ha_mix_is_flagged_and_still_checked() -> None:
    plan = make_plan([("glabella", "0.2")], anchors=[GLABELLA_INSIDE], ha_fraction="0.5")
    found = run(plan)
    assert {"DM404", "DM601"} <= codes_of(found)


# ----------------------------------------------------------------------------- point dose


@pytest.mark.parametrize(
    ("volume_ul", "expected"),
    [("19.99", set()), ("20", {"DM302"}), ("49.99", {"DM302"}), ("50", {"DM301"})],
)
def test_point_volume_against_the_techniques_typical(volume_ul: str, expected: set[str]) -> None:
    plan = make_plan([("forehead", Decimal(volume_ul) / 50, volume_ul)])  # 20 U/mL
    found = run(plan)
    assert {"DM301", "DM302"} & codes_of(found) == expected
    for finding in only(found, "DM301") + only(found, "DM302"):
        assert finding.values["reference_volume_ul"] == 10
        assert finding.source == "wu_2015"


def test_a_presets_own_larger_droplet_is_not_a_slip() -> None:
    plan = make_plan(
        [("medial_cheek_left", "0.7142857142857142857142857145", "50")],
        protocol="dayan_2012_rosacea",
        diluent_ml="7",
    )
    assert not {"DM301", "DM302", "DM303", "DM304"} & codes_of(run(plan))


@pytest.mark.parametrize(
    ("units", "expected"),
    [("0.39", set()), ("0.4", {"DM304"}), ("0.99", {"DM304"}), ("1.0", {"DM303"})],
)
def test_point_dose_against_the_presets_per_point_dose(units: str, expected: set[str]) -> None:
    # Wu Microbotox-20: 20 U/mL x 10 µL = 0.2 U per point
    plan = make_plan([("forehead", units)], protocol="wu_microbotox_20")
    found = run(plan)
    assert {"DM303", "DM304"} & codes_of(found) == expected
    for finding in only(found, "DM303") + only(found, "DM304"):
        assert finding.values["reference_point_units"] == Decimal("0.2")


def test_without_a_preset_the_highest_library_preset_is_the_reference() -> None:
    # The highest intradermal-wheal preset is Dayan 2012: 100 U / 7 mL x 50 µL = 0.714 U.
    assert not only(run(make_plan([("forehead", "1.42")])), "DM304")
    (finding,) = only(run(make_plan([("forehead", "1.43")])), "DM304")
    assert finding.source == "dayan_2012"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.decimals("0.01", "3", places=2), min_size=1, max_size=6))
def test_point_dose_block_iff_some_point_is_five_times_the_preset(doses: list[Decimal]) -> None:
    plan = make_plan([("forehead", d, "10") for d in doses], protocol="wu_microbotox_20")
    slips = {p.number for p in plan.points if p.units >= Decimal(1)}
    found = [n for f in only(run(plan), "DM303") for n in f.point_numbers]
    assert set(found) == slips


# ----------------------------------------------------------------------------- consistency


def test_dysport_plan_with_botox_numbers_warns() -> None:
    found = run(make_plan([("forehead", "0.39")], product="dysport", vial_units="300"))
    (finding,) = only(found, "DM401")
    assert "Botox Cosmetic" in finding.message and finding.severity is Severity.WARN
    near = run(make_plan([("forehead", "0.4")], product="dysport", vial_units="300"))
    assert not only(near, "DM401")  # 0.133-0.2 U Botox-eq touches the presets' 0.2 U


def test_botox_plan_with_dysport_numbers_warns() -> None:
    (finding,) = only(run(make_plan([("forehead", "1.2")])), "DM401")
    assert "Dysport" in finding.message
    assert not only(run(make_plan([("forehead", "0.7")])), "DM401")


def test_vial_size_the_product_is_not_sold_in() -> None:
    (finding,) = only(run(make_plan([("forehead", "0.5")], product="dysport")), "DM402")
    assert "100 U" in finding.message
    assert not only(run(make_plan([("forehead", "0.5")], product="dysport", vial_units="300")),
                    "DM402")  # fmt: skip


def test_mix_of_another_product_blocks() -> None:
    plan = make_plan([("forehead", "0.2")])
    assert not only(run(plan), "DM403")
    wrong = plan.model_copy(update={"mix": plan.mix.model_copy(update={"product": "dysport"})})
    assert only(run(wrong), "DM403")[0].severity is Severity.BLOCK


def test_point_units_must_follow_from_volume() -> None:
    plan = make_plan([("forehead", "0.2"), ("forehead", "0.2")])
    assert not only(run(plan), "DM405")
    slipped = plan.points[1].model_copy(update={"units": Decimal("2")})
    rounded = plan.points[0].model_copy(update={"units": Decimal("0.21")})
    edited = plan.model_copy(update={"points": (rounded, slipped)})
    (finding,) = only(run(edited), "DM405")
    assert finding.point_numbers == (2,)


# ----------------------------------------------------------------------------- history


def prior(days_ago: int, product: str = "botox_cosmetic", units: str = "20") -> PriorTreatment:
    return PriorTreatment(
        treated_on=TODAY - timedelta(days=days_ago), product=product, units=Decimal(units)
    )


@pytest.mark.parametrize(
    ("days_ago", "expected"),
    [(89, {"DM501"}), (90, set()), (20, {"DM501", "DM502"}), (21, {"DM501"})],
)
def test_retreatment_interval_and_booster(days_ago: int, expected: set[str]) -> None:
    found = run(make_plan([("forehead", "0.2")]), intake=intake(prior_treatments=[prior(days_ago)]))
    assert {"DM501", "DM502"} & codes_of(found) == expected
    for finding in only(found, "DM502"):
        assert finding.source == "kroumpouzos_2025"


@pytest.mark.parametrize(
    ("priors", "expected"),
    [
        ([("89", "botox_cosmetic", "390")], False),  # 390 + 10 = 400: not above
        ([("89", "botox_cosmetic", "390.5")], True),
        ([("90", "botox_cosmetic", "1000")], False),  # outside the 90-day window
        ([("30", "dysport", "975")], True),  # 390 U at 1:2.5 but 487.5 U at 1:2
        ([("30", "dysport", "620"), ("60", "botox_cosmetic", "80")], False),  # high end 400
    ],
)
def test_rolling_90_day_cumulative(priors: list[tuple[str, str, str]], expected: bool) -> None:
    plan = make_plan(spread("forehead", "10", "1"))
    treatments = [prior(int(d), p, u) for d, p, u in priors]
    found = only(run(plan, intake=intake(prior_treatments=treatments)), "DM503")
    assert bool(found) is expected
    for finding in found:
        assert "intramuscular" in finding.message
        assert finding.values["threshold_units"] == 400


def test_unknown_prior_product_is_counted_and_reported() -> None:
    treatments = [prior(30, "azzalure", "391")]
    found = run(
        make_plan(spread("forehead", "10", "1")), intake=intake(prior_treatments=treatments)
    )
    assert {"DM504", "DM503"} <= codes_of(found)


# ----------------------------------------------------------------------------- vials


def vial(**kwargs: object) -> VialInUse:
    fields: dict[str, object] = {"product": "botox_cosmetic", "lot": "L1", "lot_expiry": TODAY}
    return VialInUse.model_validate(fields | kwargs)


def check_vials(*vials: VialInUse, when: datetime = NOON) -> tuple[Finding, ...]:
    context = SessionContext(treatment_at=when, hyaluronidase_on_hand=True, vials=vials)
    return run(make_plan([("forehead", "0.2")]), context=context)


def test_beyond_use_time_boundary() -> None:
    at_limit = vial(reconstituted_at=NOON - timedelta(hours=24), beyond_use_policy="label")
    assert not only(check_vials(at_limit), "DM701")
    past = vial(reconstituted_at=NOON - timedelta(hours=24, seconds=1), beyond_use_policy="label")
    (finding,) = only(check_vials(past), "DM701")
    assert finding.values["beyond_use_hours"] == 24
    assert finding.source == "botox_cosmetic_label"


def test_consensus_policy_and_explicit_time_take_the_earlier() -> None:
    week_old = NOON - timedelta(days=7)
    assert not only(
        check_vials(vial(reconstituted_at=week_old, beyond_use_policy="asds_consensus")), "DM701"
    )
    explicit = vial(
        reconstituted_at=week_old,
        beyond_use_policy="asds_consensus",
        beyond_use_at=NOON - timedelta(minutes=1),
    )
    assert only(check_vials(explicit), "DM701")


def test_lot_expiry_boundary_in_the_sessions_time_zone() -> None:
    assert not only(check_vials(vial(lot_expiry=TODAY)), "DM702")
    assert only(check_vials(vial(lot_expiry=TODAY - timedelta(days=1))), "DM702")
    # 00:30 on the 28th in UTC+1 is still the 27th in UTC: the clinic's date counts.
    late = datetime(2026, 11, 28, 0, 30, tzinfo=timezone(timedelta(hours=1)))
    assert only(check_vials(vial(lot_expiry=TODAY), when=late), "DM702")


def test_vial_of_another_product() -> None:
    assert {"DM703", "DM704"} <= codes_of(check_vials(vial(product="dysport")))
    both = check_vials(vial(), vial(product="dysport", lot="L2"))
    assert "DM703" in codes_of(both) and "DM704" not in codes_of(both)
    assert not {"DM703", "DM704"} & codes_of(check_vials(vial()))


def test_unknown_policy_or_vial_product_is_an_input_error() -> None:
    with pytest.raises(UnknownNameError) as err:
        check_vials(vial(reconstituted_at=NOON, beyond_use_policy="forever"))
    assert err.value.field == "vials[0].beyond_use_policy"
    with pytest.raises(InvalidInputError) as err2:
        check_vials(vial(product="azzalure"))
    assert err2.value.field == "vials[0].product"


# ----------------------------------------------------------------------------- intake


# Label contraindications (and pregnancy / breastfeeding, stricter than the labels, saying why)
# block; label warnings and precautions warn (Botox Cosmetic's own record: neuromuscular disease
# and aminoglycosides are warnings).
BLOCKING = {
    "hypersensitivity": "DM801",
    "infection_at_site": "DM802",
    "pregnancy": "DM806",
    "breastfeeding": "DM807",
}
CAUTIONS = {
    "anticoagulants": "DM811",
    "dry_skin_or_eczema": "DM812",
    "neuromuscular_disease": "DM804",
    "aminoglycosides": "DM805",
}


@pytest.mark.parametrize("question", sorted(BLOCKING | CAUTIONS))
def test_each_yes_answer_gives_its_finding_and_no_gives_none(question: str) -> None:
    plan = make_plan([("forehead", "0.2")])
    code = (BLOCKING | CAUTIONS)[question]
    (finding,) = only(run(plan, intake=intake(answers={question: True})), code)
    assert finding.severity is (Severity.BLOCK if question in BLOCKING else Severity.WARN)
    assert finding.source in LIBRARY.sources
    assert not {c for c in codes_of(run(plan, intake=intake())) if c.startswith("DM8")}


def test_dry_skin_says_it_is_unconfirmed() -> None:
    (finding,) = only(
        run(make_plan([("forehead", "0.2")]), intake=intake(answers={"dry_skin_or_eczema": True})),
        "DM812",
    )
    assert finding.tag is not None and finding.tag.value == "UNCONFIRMED"
    assert "UNCONFIRMED" in finding.rationale


def test_cow_milk_allergy_matters_for_dysport_only() -> None:
    answers = {"cow_milk_protein_allergy": True}
    assert not only(run(make_plan([("forehead", "0.2")]), intake=intake(answers=answers)), "DM808")
    dysport = make_plan([("forehead", "0.5")], product="dysport", vial_units="300")
    (finding,) = only(run(dysport, intake=intake(answers=answers)), "DM808")
    assert finding.severity is Severity.BLOCK


def test_infection_located_in_or_outside_the_plan() -> None:
    plan = make_plan([("forehead", "0.2"), ("chin", "0.2")])
    inside = intake(answers={"infection_at_site": True, "infection_zones": ["chin"]})
    (finding,) = only(run(plan, intake=inside), "DM802")
    assert finding.zone == "chin" and finding.point_numbers == (2,)
    outside = intake(answers={"infection_at_site": True, "infection_zones": ["nose"]})
    found = run(plan, intake=outside)
    assert "DM803" in codes_of(found) and "DM802" not in codes_of(found)


def test_unanswered_questions_are_listed() -> None:
    found = run(make_plan([("forehead", "0.2")]), intake=intake(answers={"pregnancy": None}))
    (finding,) = only(found, "DM813")
    assert "pregnancy" in finding.message and "cow_milk" not in finding.message


@pytest.mark.parametrize(
    ("born", "expected"),
    [(date(1951, 11, 28), set()), (date(1951, 11, 27), {"DM809"})],
)
def test_letybo_age_limit_on_the_birthday(born: date, expected: set[str]) -> None:
    plan = make_plan([("forehead", "0.2")], product="letybo")
    found = run(plan, intake=intake(age_years=None, date_of_birth=born))
    assert {"DM809", "DM810"} & codes_of(found) == expected


def test_letybo_age_unknown_or_uncertain_warns() -> None:
    plan = make_plan([("forehead", "0.2")], product="letybo")
    assert only(run(plan, intake=intake(age_years=None)), "DM810")
    recorded = intake(age_years=74, recorded_on=TODAY - timedelta(days=30))
    session = SessionContext(treatment_at=NOON)
    assert only(run(plan, intake=recorded, context=session), "DM810")  # may be 75 by now
    assert not {"DM809", "DM810"} & codes_of(run(plan, intake=intake(age_years=74)))


def test_dysport_above_the_label_population_warns() -> None:
    plan = make_plan([("forehead", "0.5")], product="dysport", vial_units="300")
    assert only(run(plan, intake=intake(age_years=65)), "DM816")
    assert not only(run(plan, intake=intake(age_years=64)), "DM816")


def test_medication_names_are_cross_checked() -> None:
    plan = make_plan([("forehead", "0.2")])
    (finding,) = only(run(plan, intake=intake(medications=["Gentamicin eye drops"])), "DM815")
    assert "aminoglycoside" in finding.message
    answered = intake(medications=["Gentamicin eye drops"], answers={"aminoglycosides": True})
    assert not only(run(plan, intake=answered), "DM815")


ANSWER = st.sampled_from([True, False, None])


@settings(max_examples=60, deadline=None)
@given(
    answers=st.fixed_dictionaries(dict.fromkeys(sorted(BLOCKING | CAUTIONS), ANSWER)),
    age=st.none() | st.integers(18, 99),
    days_ago=st.lists(st.integers(0, 400), max_size=3),
    product=st.sampled_from(["botox_cosmetic", "dysport", "letybo", "azzalure"]),
)
def test_any_intake_gives_findings_never_an_error(
    answers: dict[str, bool | None], age: int | None, days_ago: list[int], product: str
) -> None:
    """Whatever the patient answered, the check returns findings (sorted), and the intake
    blocks exactly when a blocking question was answered yes."""
    patient = intake(
        answers=answers,
        age_years=age,
        prior_treatments=[prior(d, product, "50") for d in days_ago],
    )
    found = run(make_plan([("forehead", "0.2")]), intake=patient)
    assert list(found) == sorted(found, key=Finding.sort_key)
    intake_blocks = {c for c in codes_of(found) if c in BLOCKING.values()}
    assert intake_blocks == {BLOCKING[q] for q, a in answers.items() if q in BLOCKING and a}
    unanswered = [q for q, a in answers.items() if a is None]
    assert ("DM813" in codes_of(found)) is bool(unanswered)


# ----------------------------------------------------------------------------- issue 10


def _clinic_library(tmp_path: Path, text: str) -> Library:
    path = tmp_path / "clinic.toml"
    path.write_text('[sources.our_policy]\ncitation = "Clinic policy, medical director"\n' + text)
    return load_library([path])


def test_a_clinic_file_changes_a_severity_and_a_figure(tmp_path: Path) -> None:
    near_brow = anchor(9)  # inside the 20 mm brow band
    plan = make_plan([("forehead", "0.2")], anchors=[near_brow])
    assert only(run(plan), "DM203")[0].severity is Severity.WARN
    strict = _clinic_library(
        tmp_path,
        '[findings.dm203]\nseverity = { value = "block", source = "our_policy", tag = "CLINIC" }\n'
        '[figures.dose_high_ratio]\nunit = "x"\n'
        'value = { value = 1.5, source = "our_policy", tag = "CLINIC" }\n',
    )
    assert only(run(plan, strict), "DM203")[0].severity is Severity.BLOCK
    # 0.35 U is 1.75x Wu's 0.2 U: only the clinic's 1.5x ratio flags it
    wu = make_plan([("forehead", "0.35")], protocol="wu_microbotox_20")
    assert not only(run(wu), "DM304")
    assert only(run(wu, strict), "DM304")


def test_a_clinic_file_grades_a_band_hard(tmp_path: Path) -> None:
    plan = make_plan([("forehead", "0.2")], anchors=[anchor(9)])
    hard = _clinic_library(
        tmp_path,
        '[danger_margins.brow]\ngrade = "hard"\n'
        'margin_mm = { value = 20, source = "our_policy", tag = "CLINIC" }\n',
    )
    (finding,) = only(run(plan, hard), "DM202")
    assert finding.severity is Severity.BLOCK and finding.tag is EvidenceTag.CLINIC


def test_product_record_sets_an_intake_severity() -> None:
    answers = {"neuromuscular_disease": True}
    botox = make_plan([("forehead", "0.2")])
    letybo = make_plan([("forehead", "0.2")], product="letybo")
    assert only(run(botox, intake=intake(answers=answers)), "DM804")[0].severity is Severity.WARN
    assert only(run(letybo, intake=intake(answers=answers)), "DM804")[0].severity is Severity.BLOCK


def test_low_dose_slip_warns_symmetric_with_the_high_one() -> None:
    wu = "wu_microbotox_20"  # 0.2 U per point
    (low,) = only(run(make_plan([("forehead", "0.02")], protocol=wu)), "DM305")
    assert low.severity is Severity.WARN and low.values["ratio"] == Decimal("0.1")
    assert not only(run(make_plan([("forehead", "0.05")], protocol=wu)), "DM305")  # 1/4


def test_unconfirmed_beyond_use_policy_warns_when_it_is_what_allows_the_vial() -> None:
    plan = make_plan([("forehead", "0.4")], product="daxxify", vial_units="100")

    def vial(hours: int) -> SessionContext:
        return SessionContext(
            treatment_at=NOON,
            vials=(
                VialInUse(
                    product="daxxify",
                    lot="D1",
                    lot_expiry=TODAY + timedelta(days=100),
                    reconstituted_at=NOON - timedelta(hours=hours),
                    beyond_use_policy="label",
                ),
            ),
        )

    (finding,) = only(run(plan, context=vial(48)), "DM705")
    assert finding.tag is EvidenceTag.UNCONFIRMED and "UNCONFIRMED" in finding.message
    assert finding.severity is Severity.WARN
    assert only(run(plan, context=vial(80)), "DM701") and not only(
        run(plan, context=vial(80)), "DM705"
    )
    botox = make_plan([("forehead", "0.2")])
    label = SessionContext(
        treatment_at=NOON,
        vials=(
            VialInUse(
                product="botox_cosmetic",
                lot="B1",
                lot_expiry=TODAY,
                reconstituted_at=NOON - timedelta(hours=2),
                beyond_use_policy="label",
            ),
        ),
    )
    assert not only(run(botox, context=label), "DM705")  # LABEL-tagged policy


def test_unknown_zone_label_blocks_and_escapes_no_cap() -> None:
    plan = make_plan([("forehead", "0.2"), ("cheek", "0.2")])
    (finding,) = only(run(plan), "DM406")
    assert finding.severity is Severity.BLOCK and finding.point_numbers == (2,)


def test_a_point_labelled_with_a_zone_it_is_not_in_blocks() -> None:
    # a forehead point (landmark 10) labelled as the left cheek escapes the cheek cap otherwise
    plan = make_plan([("forehead", "0.2"), ("medial_cheek_left", "0.2")])
    (finding,) = only(run(plan), "DM407")
    assert finding.point_numbers == (2,) and finding.zone == "medial_cheek_left"
    inside_cheek = anchor_point(
        MESH, MESH.vertices_mm[list(ZONES["medial_cheek_left"].ring)].mean(0)
    )
    fine = make_plan(
        [("forehead", "0.2"), ("medial_cheek_left", "0.2")], anchors=[anchor(), inside_cheek]
    )
    assert not only(run(fine), "DM407")


def test_intake_naming_an_unknown_zone_warns_and_counts_as_location_unknown() -> None:
    plan = make_plan([("forehead", "0.2")])
    answers = {"infection_at_site": True}
    findings = run(plan, intake=intake(answers=answers | {"infection_zones": ["left_eyebrow"]}))
    assert only(findings, "DM817") and only(findings, "DM802")[0].severity is Severity.BLOCK


def _prior(days: int, units: str, product: str = "botox_cosmetic", zones=()) -> PriorTreatment:
    return PriorTreatment(
        treated_on=TODAY - timedelta(days=days), product=product, units=Decimal(units), zones=zones
    )


def test_clinic_cumulative_threshold_warns_and_rolling_totals_are_always_shown() -> None:
    plan = make_plan(spread("forehead", "20"))
    threshold = LIBRARY.figure("cumulative_clinic_threshold_units").value
    history = (_prior(30, str(threshold), zones=("forehead", "glabella")),)
    findings = run(plan, intake=intake(prior_treatments=history))
    (over,) = only(findings, "DM505")
    assert over.severity is Severity.WARN and over.values["threshold_units"] == threshold
    assert not only(findings, "DM503")  # still under the old 400 U intramuscular limit
    (totals,) = only(findings, "DM506")
    assert totals.values["cumulative_botox_equivalent_units"] == threshold + 20
    assert totals.values["area_forehead_botox_equivalent_units"] == 20 + threshold / 2
    assert not only(run(plan, intake=intake(prior_treatments=history[:0])), "DM505")


def test_recorded_sessions_count_whatever_the_intake_date_and_are_not_counted_twice() -> None:
    plan = make_plan([("forehead", "0.2")])
    old_intake = intake(recorded_on=TODAY - timedelta(days=60))
    recorded = (_prior(40, "20"),)
    context = SessionContext(treatment_at=NOON, recorded_treatments=recorded)
    (finding,) = only(run(plan, intake=old_intake, context=context), "DM501")
    assert finding.values["days_since"] == 40
    # the same treatment self-reported as well (same product, same day) is counted once
    both = intake(recorded_on=TODAY, prior_treatments=(_prior(40, "18"),))
    (totals,) = only(run(plan, intake=both, context=context), "DM506")
    assert totals.values["cumulative_botox_equivalent_units"] == Decimal("20.2")
    other = intake(recorded_on=TODAY, prior_treatments=(_prior(50, "10", "dysport"),))
    (totals,) = only(run(plan, intake=other, context=context), "DM506")
    assert totals.values["cumulative_botox_equivalent_units"] == Decimal("24.2")


def _brow_distance(a: MeshAnchor) -> float:
    plan = make_plan([("forehead", "0.2")], anchors=[a])
    (hit,) = [
        h for h in danger_zone_hits(plan, MESH, MARGINS, within_mm=40) if h.danger_zone == "brow"
    ]
    return hit.distance_mm


def _anchor_at_brow_distance(target: float) -> MeshAnchor:
    """An anchor on the forehead midline ``target`` mm (±0.02) above the brow outline."""
    low, high = MESH.vertices_mm[9], MESH.vertices_mm[151]
    lo, hi = 0.0, 1.0
    for _ in range(40):
        mid = (lo + hi) / 2
        a = anchor_point(MESH, low + (high - low) * mid)
        if _brow_distance(a) < target:
            lo = mid
        else:
            hi = mid
    return anchor_point(MESH, low + (high - low) * hi)


def test_margin_comparison_has_a_documented_tolerance() -> None:
    tolerance = float(LIBRARY.figure("margin_tolerance_mm").value)
    assert tolerance == 0.5
    at_edge = _anchor_at_brow_distance(20 - tolerance + 0.1)  # e.g. 19.81 mm "at" 20 mm
    past = _anchor_at_brow_distance(20 - tolerance - 0.1)
    assert not only(run(make_plan([("forehead", "0.2")], anchors=[at_edge])), "DM203")
    assert only(run(make_plan([("forehead", "0.2")], anchors=[past])), "DM203")


def test_orbital_band_and_lateral_canthus_govern_crows_feet_and_infraorbital_points() -> None:
    governed = {
        d.id: d.applies_to for d in DANGER_ZONES.values() if d.id.startswith(("orbital", "lateral"))
    }
    assert "crows_feet_left" in governed["orbital_rim_lower_lateral"]  # type: ignore[operator]
    assert "infraorbital_right" in governed["orbital_rim_lower_lateral"]  # type: ignore[operator]
    canthus = LIBRARY.danger_margin("lateral_canthus").margin_mm
    assert canthus.value == 15 and canthus.source == "botox_cosmetic_label"
    # 8 mm temporal to the lateral canthus: clear of the lids' hard margin, inside the band
    canthus_mm = MESH.vertices_mm[263]
    near_eye = anchor_point(MESH, canthus_mm + np.array([8.0, 0.0, 0.0]))
    findings = run(make_plan([("crows_feet_left", "0.2")], anchors=[near_eye]))
    (band,) = [f for f in only(findings, "DM203") if "lateral canthus" in f.message]
    assert band.severity is Severity.WARN and band.zone == "crows_feet_left"


def test_display_precision() -> None:
    from dosemap.domain import display

    assert display.units(Decimal("10.00000000000000000000000000")) == "10 U"
    assert display.units(Decimal(100) / 7, mark_rounded=True) == "≈14.29 U"
    assert display.volume_ul(Decimal("12.345")) == "12.3 µL"
