"""The embedded reference library: contents, citations, lookups, conversions."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from dosemap.domain.dosing import botox_equivalent_units, convert_units, reconstitute
from dosemap.domain.errors import UnknownNameError
from dosemap.domain.evidence import Cited, EvidenceTag
from dosemap.domain.library import KNOWN_ZONES, Library
from dosemap.domain.library.build import _cited
from dosemap.resources import load_library


@pytest.fixture(scope="module")
def library() -> Library:
    return load_library()


def test_loader_is_cached(library: Library) -> None:
    assert load_library() is library


def test_products_present(library: Library) -> None:
    assert set(library.products) == {
        "botox_cosmetic",
        "dysport",
        "xeomin",
        "jeuveau",
        "daxxify",
        "letybo",
    }
    assert set(library.conversions) == set(library.products)


@pytest.mark.parametrize(
    "protocol_id",
    [
        "wu_microbotox_20",
        "wu_microbotox_24",
        "wu_microbotox_28",
        "park_2021_inco",
        "dayan_2012_rosacea",
        "kesty_2021_forehead_30",
        "kesty_2021_forehead_45",
        "diaspro_2020_grid",
        "guarino_2023_device",
    ],
)
def test_required_presets(library: Library, protocol_id: str) -> None:
    protocol = library.protocol(protocol_id)
    assert protocol.zones and protocol.goals
    assert protocol.source in library.sources


def test_presets_reproduce_their_published_concentrations(library: Library) -> None:
    park = library.protocol("park_2021_inco")
    assert reconstitute(park.stock.vial_units, park.stock.diluent_ml).units_per_0_1_ml == 2
    dayan = library.protocol("dayan_2012_rosacea")
    per_0_1 = reconstitute(dayan.stock.vial_units, dayan.stock.diluent_ml).units_per_0_1_ml
    assert per_0_1.quantize(D("0.1")) == D("1.4")
    guarino = library.protocol("guarino_2023_device")
    assert (guarino.stock.vial_units, guarino.stock.diluent_ml) == (100, 5)
    assert library.technique(guarino.technique).depth_mm_high == D("1.5")
    assert library.protocol("diaspro_2020_grid").spacing_mm.value == 10
    wu = [library.protocol(f"wu_microbotox_{n}").working_units_per_ml.value for n in (20, 24, 28)]
    assert wu == [20, 24, 28]


def test_wu_volume_per_point_is_derived(library: Library) -> None:
    figure = library.protocol("wu_microbotox_20").volume_per_point_ul
    assert figure.tag is EvidenceTag.DERIVED
    assert figure.note and "100-120" in figure.note


def test_unconfirmed_figures_are_marked(library: Library) -> None:
    assert library.technique("microinfusion_stamp").needle_length_mm == Cited[D](
        value=D("0.6"),
        source="rabach_realself",
        tag=EvidenceTag.UNCONFIRMED,
        note=library.technique("microinfusion_stamp").needle_length_mm.note,  # type: ignore[union-attr]
    )
    assert library.conversion("letybo").units_per_botox_unit.tag is EvidenceTag.UNCONFIRMED
    daxxify_label = library.beyond_use_policy("daxxify", "label")
    assert daxxify_label.hours.tag is EvidenceTag.UNCONFIRMED


def test_label_and_consensus_policies_are_separate(library: Library) -> None:
    for pid in ("botox_cosmetic", "dysport", "xeomin"):
        policies = {p.id: p.hours.value for p in library.product(pid).beyond_use_policies}
        assert policies == {"label": 24, "asds_consensus": 672}
    consensus = library.beyond_use_policy("botox_cosmetic", "asds_consensus")
    assert consensus.hours.source == "alam_2015"


def test_dysport_milk_and_albumin(library: Library) -> None:
    dysport = library.product("dysport")
    assert dysport.contains_cow_milk_protein.value is True
    blocks = {c.code.value for c in dysport.contraindications if c.severity.value == "block"}
    assert "cow_milk_protein_allergy" in blocks
    assert library.product("daxxify").contains_human_albumin.value is False


def test_every_figure_cites_a_known_source(library: Library) -> None:
    count = 0
    sections: dict[str, Any] = {
        "products": library.products,
        "conversions": library.conversions,
        "protocols": library.protocols,
        "adjuncts": library.adjuncts,
        "techniques": library.techniques,
        "goals": library.goals,
    }
    for records in sections.values():
        for record in records.values():
            for _path, figure in _cited(record, ""):
                assert figure.source in library.sources
                count += 1
    assert count > 200


def test_zones_and_goals_cross_reference(library: Library) -> None:
    for protocol in library.protocols.values():
        assert set(protocol.zones) <= KNOWN_ZONES
    for goal in library.goals.values():
        assert goal.protocols and goal.zones
        for protocol_id in goal.protocols:
            assert goal.id in library.protocol(protocol_id).goals, (goal.id, protocol_id)
    assert set(library.goals) == {
        "oil_sebum",
        "pores",
        "sweat",
        "redness_flushing",
        "fine_lines",
        "jawline_neck_contour",
        "fresh_not_frozen",
    }


def test_adjunct_kinds(library: Library) -> None:
    kinds = {a.id: a.kind.value for a in library.adjuncts.values()}
    assert kinds["ha_skin_booster"] == "hyaluronic_acid"
    assert {"saline", "lidocaine", "vitamin_c", "prp"} <= set(kinds)


@pytest.mark.parametrize(
    ("method", "field"),
    [
        ("product", "product"),
        ("protocol", "protocol"),
        ("technique", "technique"),
        ("adjunct", "adjunct"),
        ("goal", "goal"),
        ("conversion", "conversion"),
        ("source", "source"),
    ],
)
def test_unknown_ids_name_the_known_ones(library: Library, method: str, field: str) -> None:
    with pytest.raises(UnknownNameError) as info:
        getattr(library, method)("nope")
    assert info.value.field == field
    assert info.value.known and "nope" not in info.value.known


class TestConversions:
    def test_dysport_default_and_range(self, library: Library) -> None:
        result = convert_units(D(20), "botox_cosmetic", "dysport", library)
        assert (result.default, result.low, result.high) == (D(50), D(40), D(60))
        assert result.is_potency_ratio
        assert "not interchangeable" in result.caveat
        assert "karsai_2009" in result.sources

    def test_dysport_to_botox(self, library: Library) -> None:
        result = botox_equivalent_units(D(50), "dysport", library)
        # 50 / 3 does not terminate: 28 significant digits.
        assert (result.default, result.low, result.high) == (
            D(20),
            D("16.66666666666666666666666667"),
            D(25),
        )

    def test_daxxify_is_flagged_not_an_equivalence(self, library: Library) -> None:
        result = botox_equivalent_units(D(40), "daxxify", library)
        assert result.default == 20
        assert result.is_potency_ratio is False
        assert "NOT a potency ratio" in result.caveat

    def test_letybo_carries_its_tag(self, library: Library) -> None:
        result = convert_units(D(20), "letybo", "xeomin", library)
        assert result.default == 20
        assert "UNCONFIRMED" in result.tags

    def test_unknown_product(self, library: Library) -> None:
        with pytest.raises(UnknownNameError, match="botox_cosmetic"):
            convert_units(D(10), "botox", "dysport", library)
