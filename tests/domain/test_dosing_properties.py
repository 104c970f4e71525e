"""Hypothesis properties of the dose arithmetic."""

from __future__ import annotations

from decimal import Decimal as D
from fractions import Fraction

from hypothesis import assume, given
from hypothesis import strategies as st

from dosemap.domain.dosing import (
    convert_units,
    draw_up,
    reconstitute,
    units_for_volume,
    volume_for_units,
    working_mix,
)
from dosemap.domain.dosing.core import MAX_UNITS
from dosemap.resources import load_library


def decimals(low: str, high: str, places: int) -> st.SearchStrategy[D]:
    return st.decimals(
        min_value=D(low), max_value=D(high), places=places, allow_nan=False, allow_infinity=False
    ).filter(lambda d: d > 0)


vial_units = st.sampled_from([D(50), D(100), D(125), D(200), D(300), D(500)])
diluent_ml = decimals("0.5", "10", 2)
volume_ul = decimals("0.1", "5000", 1)


@given(volume_ul, decimals("0.1", "500", 3))
def test_volume_units_volume_round_trip_is_exact(volume: D, upm: D) -> None:
    units = units_for_volume(volume, upm)
    assume(units <= MAX_UNITS)  # beyond it volume_for_units refuses, as it should
    assert volume_for_units(units, upm) == volume


@given(vial_units, diluent_ml, volume_ul)
def test_round_trip_through_a_reconstituted_vial(vial: D, diluent: D, volume: D) -> None:
    upm = reconstitute(vial, diluent).units_per_ml
    units = units_for_volume(volume, upm)
    assume(units <= MAX_UNITS)
    # Exact whenever the concentration itself terminates; else to 28 digits.
    back = volume_for_units(units, upm)
    if Fraction(vial) / Fraction(diluent) == Fraction(upm):
        assert back == volume
    else:
        assert abs(back - volume) <= volume * D("1e-25")


adjunct_shares = st.dictionaries(
    st.sampled_from(["lidocaine", "ha_skin_booster", "vitamin_c", "saline"]),
    st.decimals(min_value=0, max_value=D("0.3"), places=2),
    max_size=3,
)


@given(vial_units, diluent_ml, st.data(), adjunct_shares, volume_ul)
def test_mix_fractions_sum_to_one_and_units_are_conserved(
    vial: D, diluent: D, data: st.DataObject, adjuncts: dict[str, D], total_ul: D
) -> None:
    stock = reconstitute(vial, diluent).units_per_ml
    assume(stock <= 1000)
    room = 1 - sum(adjuncts.values(), D(0))
    use_target = data.draw(st.booleans())
    target = None
    if use_target:
        share = data.draw(decimals("0.01", str(room), 2))
        target = stock * share
        assume(0 < target <= stock)
    mix = working_mix(
        "botox_cosmetic", vial, diluent, target_units_per_ml=target, adjunct_ml_per_ml=adjuncts
    )
    assert sum(c.fraction for c in mix.components) == 1

    lines = {line.ingredient: line.volume_ml for line in draw_up(mix, total_ul, D(0))}
    assert sum(lines.values()) * 1000 == total_ul or abs(
        sum(lines.values()) * 1000 - total_ul
    ) <= total_ul * D("1e-25")
    stock_units_drawn = lines["stock:botox_cosmetic"] * stock
    units_in_droplets = total_ul / 1000 * mix.units_per_ml
    exact = Fraction(stock) == Fraction(vial) / Fraction(diluent) and Fraction(
        next(c.fraction for c in mix.components if c.ingredient.startswith("stock"))
    ) * Fraction(stock) == Fraction(mix.units_per_ml)
    if exact:
        assert stock_units_drawn == units_in_droplets
    else:
        assert abs(stock_units_drawn - units_in_droplets) <= units_in_droplets * D("1e-24")


products = st.sampled_from(["botox_cosmetic", "dysport", "xeomin", "jeuveau", "letybo", "daxxify"])


@given(decimals("0.1", "400", 2), products, products)
def test_conversion_there_and_back_lands_within_the_range(units: D, a: str, b: str) -> None:
    library = load_library()
    there = convert_units(units, a, b, library)
    assert there.low <= there.default <= there.high
    back = convert_units(there.default, b, a, library)
    assert abs(back.default - units) <= units * D("1e-25")
    # The original dose lies inside the range of the round trip.
    low = convert_units(there.low, b, a, library).low
    high = convert_units(there.high, b, a, library).high
    assert low <= units <= high
    assert there.caveat
