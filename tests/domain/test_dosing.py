"""Exact dose arithmetic: reconstitution, mixes, draw-up, vials, beyond-use, syringes, cost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal as D

import pytest

from dosemap.domain.dosing import (
    SYRINGES,
    ClinicPrices,
    Concentration,
    beyond_use_at,
    draw_up,
    estimate_cost,
    reconstitute,
    syringe,
    syringe_marks,
    units_for_volume,
    vials_needed,
    volume_for_units,
    working_mix,
)
from dosemap.domain.errors import InvalidInputError, UnknownNameError
from dosemap.resources import load_library


class TestReconstitute:
    def test_label_table_is_reproduced_exactly_from_the_data(self) -> None:
        library = load_library()
        rows = [
            (pid, row)
            for pid, product in library.products.items()
            for row in product.label_dilutions
        ]
        assert len(rows) >= 10
        for pid, row in rows:
            got = reconstitute(row.vial_units, row.diluent_ml).units_per_0_1_ml
            assert got == row.units_per_0_1_ml.value, (pid, row)

    @pytest.mark.parametrize(
        ("diluent_ml", "per_0_1_ml"),
        [("1", "10"), ("2", "5"), ("2.5", "4"), ("4", "2.5"), ("8", "1.25")],
    )
    def test_botox_100_u_table(self, diluent_ml: str, per_0_1_ml: str) -> None:
        # The five Botox rows the brief names are in the embedded data, not just in this test.
        botox = load_library().product("botox_cosmetic")
        assert any(
            r.vial_units == 100 and r.diluent_ml == D(diluent_ml) for r in botox.label_dilutions
        )
        got = reconstitute(D(100), D(diluent_ml)).units_per_0_1_ml
        assert (got, str(got)) == (D(per_0_1_ml), per_0_1_ml)

    def test_units_per_ul_and_ml(self) -> None:
        c = reconstitute(D(100), D("2.5"))
        assert (c.units_per_ml, c.units_per_0_1_ml, c.units_per_ul) == (D(40), D(4), D("0.04"))

    def test_non_terminating_is_28_significant_digits(self) -> None:
        c = reconstitute(D(100), D(7))
        assert c.units_per_ml == D("14.28571428571428571428571429")
        assert len(c.units_per_ml.as_tuple().digits) == 28

    @pytest.mark.parametrize(
        ("vial", "diluent", "field"),
        [
            (D(100), D(0), "diluent_ml"),
            (D(100), D("-1"), "diluent_ml"),
            (D(100), D(250), "diluent_ml"),
            (D(0), D(2), "vial_units"),
            (D(100000), D(2), "vial_units"),
            (D("NaN"), D(2), "vial_units"),
            (D(100), D("Infinity"), "diluent_ml"),
            (100.0, D(2), "vial_units"),
        ],
    )
    def test_bad_input_names_field_and_range(self, vial: D, diluent: D, field: str) -> None:
        with pytest.raises(InvalidInputError) as info:
            reconstitute(vial, diluent)
        assert info.value.field == field
        assert info.value.allowed and "<=" in info.value.allowed

    def test_concentration_rejects_zero(self) -> None:
        with pytest.raises(InvalidInputError, match="units_per_ml"):
            Concentration(D(0))


class TestVolumeUnits:
    def test_wu_point(self) -> None:
        assert units_for_volume(D(10), D(20)) == D("0.2")
        assert volume_for_units(D("0.2"), D(20)) == D(10)

    def test_negative_volume(self) -> None:
        with pytest.raises(InvalidInputError) as info:
            units_for_volume(D(-5), D(20))
        assert info.value.field == "volume_ul"

    def test_absurd_volume(self) -> None:
        with pytest.raises(InvalidInputError, match="volume_ul"):
            units_for_volume(D(10**6), D(20))


class TestWorkingMix:
    def test_target_with_lidocaine(self) -> None:
        mix = working_mix(
            "botox_cosmetic",
            D(100),
            D("2.5"),
            target_units_per_ml=D(24),
            adjunct_ml_per_ml={"lidocaine": D("0.1")},
        )
        fractions = {c.ingredient: c.fraction for c in mix.components}
        assert fractions == {
            "stock:botox_cosmetic": D("0.6"),
            "lidocaine": D("0.1"),
            "saline": D("0.3"),
        }
        assert mix.units_per_ml == 24
        assert not mix.contains_hyaluronic_acid

    def test_no_target_adjuncts_take_their_share(self) -> None:
        mix = working_mix(
            "botox_cosmetic",
            D(50),
            D(1),
            adjunct_ml_per_ml={"ha_skin_booster": D("0.75")},
            adjunct_is_ha={"ha_skin_booster": True},
        )
        assert mix.units_per_ml == D("12.5")
        assert mix.contains_hyaluronic_acid
        assert sum(c.fraction for c in mix.components) == 1

    def test_target_above_stock_is_refused(self) -> None:
        with pytest.raises(InvalidInputError) as info:
            working_mix("botox_cosmetic", D(100), D("2.5"), target_units_per_ml=D(41))
        assert info.value.field == "target_units_per_ml"
        assert "40" in (info.value.allowed or "")

    def test_adjuncts_that_do_not_fit(self) -> None:
        with pytest.raises(InvalidInputError, match=r"0\.4"):
            working_mix(
                "botox_cosmetic",
                D(100),
                D("2.5"),
                target_units_per_ml=D(24),
                adjunct_ml_per_ml={"lidocaine": D("0.5")},
            )

    def test_adjuncts_that_leave_no_toxin(self) -> None:
        with pytest.raises(InvalidInputError, match="no toxin"):
            working_mix("xeomin", D(100), D(5), adjunct_ml_per_ml={"saline": D(1)})

    def test_non_terminating_fraction_still_sums_to_one(self) -> None:
        mix = working_mix("dysport", D(300), D("2.5"), target_units_per_ml=D(20))
        assert sum(c.fraction for c in mix.components) == 1
        assert mix.units_per_ml == 20


class TestDrawUp:
    def test_wu_20_one_syringe(self) -> None:
        mix = working_mix("botox_cosmetic", D(100), D("2.5"), target_units_per_ml=D(20))
        lines = draw_up(mix, D(950), D(50))  # + 50 µL dead space = 1 mL
        assert [(x.ingredient, x.volume_ml) for x in lines] == [
            ("stock:botox_cosmetic", D("0.5")),
            ("saline", D("0.5")),
        ]

    def test_dead_space_is_validated(self) -> None:
        mix = working_mix("botox_cosmetic", D(100), D("2.5"))
        with pytest.raises(InvalidInputError, match="dead_space_ul"):
            draw_up(mix, D(800), D(-1))


class TestVials:
    @pytest.mark.parametrize(
        ("total", "vial", "expected"),
        [("0", "100", (0, D(0))), ("100", "100", (1, D(0))), ("100.5", "100", (2, D("99.5")))],
    )
    def test_vials(self, total: str, vial: str, expected: tuple[int, D]) -> None:
        assert vials_needed(D(total), D(vial)) == expected


class TestBeyondUse:
    def test_label_and_consensus_policies(self) -> None:
        botox = load_library().product("botox_cosmetic")
        policies = {p.id: p for p in botox.beyond_use_policies}
        start = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
        assert beyond_use_at(start, policies["label"]) == start + timedelta(hours=24)
        assert beyond_use_at(start, policies["asds_consensus"]) == start + timedelta(weeks=4)

    def test_other_time_zone(self) -> None:
        policy = load_library().beyond_use_policy("xeomin", "label")
        start = datetime(2026, 3, 1, 9, 0, tzinfo=timezone(timedelta(hours=10)))
        assert beyond_use_at(start, policy).utcoffset() == timedelta(hours=10)

    def test_naive_datetime_refused(self) -> None:
        policy = load_library().beyond_use_policy("botox_cosmetic", "label")
        with pytest.raises(InvalidInputError, match="reconstituted_at"):
            beyond_use_at(datetime(2026, 3, 1, 9, 0), policy)


class TestSyringe:
    def test_on_mark(self) -> None:
        reading = syringe_marks(D(10), SYRINGES["ml_1"])
        assert (reading.marks, reading.on_mark, reading.points_per_fill) == (D(1), True, 100)
        assert "BETWEEN" not in reading.describe()

    def test_between_marks_says_so(self) -> None:
        reading = syringe_marks(D(8), syringe("insulin_u100_1ml"))
        assert (reading.lower_mark, reading.upper_mark, reading.on_mark) == (0, 1, False)
        assert "BETWEEN" in reading.describe()
        assert "NOT toxin units" in reading.describe()

    def test_half_unit_syringe(self) -> None:
        reading = syringe_marks(D(15), syringe("insulin_u100_0_3ml_half"))
        assert (reading.marks, reading.on_mark, reading.points_per_fill) == (D(3), True, 20)

    def test_unknown_syringe(self) -> None:
        with pytest.raises(UnknownNameError, match="ml_1"):
            syringe("ml_3")

    def test_volume_larger_than_syringe(self) -> None:
        with pytest.raises(InvalidInputError, match="<= 300"):
            syringe_marks(D(400), SYRINGES["insulin_u100_0_3ml_half"])


class TestCost:
    def test_per_vial_price(self) -> None:
        prices = ClinicPrices("USD", price_per_vial=D(450), consumables_per_session=D("12.50"))
        cost = estimate_cost(D(120), D(100), prices)
        assert cost.vials_opened == 2
        assert cost.toxin_cost_whole_vials == D(900)
        assert cost.toxin_cost_units_used == D(540)
        assert cost.total == D("912.5")

    def test_seed_article_about_500(self) -> None:
        # A whole-face session using one 100 U vial at 5 per unit.
        cost = estimate_cost(D(92), D(100), ClinicPrices("USD", price_per_unit=D(5)))
        assert cost.total == D(500)
        assert cost.toxin_cost_units_used == D(460)

    def test_needs_exactly_one_price(self) -> None:
        with pytest.raises(InvalidInputError, match="price"):
            ClinicPrices("USD")
        with pytest.raises(InvalidInputError, match="price"):
            ClinicPrices("USD", price_per_vial=D(1), price_per_unit=D(1))

    def test_negative_price(self) -> None:
        with pytest.raises(InvalidInputError, match="price_per_unit"):
            ClinicPrices("USD", price_per_unit=D(-1))


def test_target_typed_from_a_rounded_stock_fills_the_mix_exactly() -> None:
    # 100 U / 3 mL does not terminate; half of it typed to 28 digits rounds up, so the stock
    # share is 0.5 + 2e-28. Adjuncts filling the other 0.5 must not be refused for that.
    target = D("16.66666666666666666666666667")
    mix = working_mix(
        "botox_cosmetic",
        D(100),
        D(3),
        target_units_per_ml=target,
        adjunct_ml_per_ml={"lidocaine": D("0.2"), "vitamin_c": D("0.3")},
    )
    fractions = {c.ingredient: c.fraction for c in mix.components}
    assert sum(fractions.values()) == 1
    assert "saline" not in fractions
    assert fractions["stock:botox_cosmetic"] == D("0.5")
    assert mix.units_per_ml == target
    # A real overshoot is still refused.
    with pytest.raises(InvalidInputError, match="adjunct_ml_per_ml"):
        working_mix(
            "botox_cosmetic",
            D(100),
            D(3),
            target_units_per_ml=target,
            adjunct_ml_per_ml={"lidocaine": D("0.21"), "vitamin_c": D("0.3")},
        )
