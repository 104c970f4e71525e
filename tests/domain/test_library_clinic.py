"""A clinic's own TOML file: additions, overrides, and broken files that load nothing."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest

from dosemap.domain.errors import LibraryError
from dosemap.domain.evidence import EvidenceTag
from dosemap.resources import load_library

CLINIC = """
version = "clinic-7"

[sources.clinic_sop]
citation = "Example Clinic standard operating procedure v3"

[adjuncts.niacinamide]
name = "Niacinamide"
kind = "antioxidant"
description = { value = "House cocktail ingredient.", source = "clinic_sop", tag = "CLINIC" }

[beyond_use_policies.clinic_7_days]
name = "Clinic SOP: 7 days"
hours = { value = 168, source = "clinic_sop", tag = "CLINIC" }
storage = "2-8 °C, dated label"
products = ["botox_cosmetic", "jeuveau"]

[protocols.my_forehead]
name = "House forehead"
summary = "Our forehead grid."
source = "clinic_sop"
tag = "CLINIC"
stock = { product = "botox_cosmetic", vial_units = 100, diluent_ml = 4 }
working_units_per_ml = { value = 25, source = "clinic_sop", tag = "CLINIC" }
volume_per_point_ul = { value = 8, source = "clinic_sop", tag = "CLINIC" }
spacing_mm = { value = 8, source = "clinic_sop", tag = "CLINIC" }
technique = "intradermal_wheal"
needle = { value = "32 G", source = "clinic_sop", tag = "CLINIC" }
zones = ["forehead"]
goals = ["fine_lines"]
zone_ceiling_units = { forehead = { value = 10, source = "clinic_sop", tag = "CLINIC" } }
"""


def write(tmp_path: Path, text: str, name: str = "clinic.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_clinic_file_adds_records(tmp_path: Path) -> None:
    path = write(tmp_path, CLINIC)
    library = load_library([path])
    protocol = library.protocol("my_forehead")
    assert protocol.spacing_mm.value == 8
    assert protocol.spacing_mm.tag is EvidenceTag.CLINIC
    assert library.adjunct("niacinamide").kind.value == "antioxidant"
    policies = [p.id for p in library.product("jeuveau").beyond_use_policies]
    assert policies == ["label", "clinic_7_days"]
    assert library.origin("protocols", "my_forehead") == str(path)
    assert library.origin("protocols", "wu_microbotox_20").startswith("embedded:")
    assert library.version == "2026.11.1+clinic-7"
    # The embedded, cached library is untouched.
    assert "my_forehead" not in load_library().protocols


def test_clinic_file_overrides_by_id(tmp_path: Path) -> None:
    text = CLINIC.replace("[protocols.my_forehead]", "[protocols.wu_microbotox_20]")
    text = text.replace('zones = ["forehead"]', 'zones = ["forehead"]\n')
    library = load_library([write(tmp_path, text)])
    assert library.protocol("wu_microbotox_20").name == "House forehead"
    assert library.protocol("wu_microbotox_20").working_units_per_ml.value == 25


def test_later_files_win(tmp_path: Path) -> None:
    first = write(tmp_path, CLINIC, "a.toml")
    second = write(
        tmp_path,
        CLINIC.replace('version = "clinic-7"', "").replace(
            "spacing_mm = { value = 8", "spacing_mm = { value = 12"
        ),
        "b.toml",
    )
    library = load_library([first, second])
    assert library.protocol("my_forehead").spacing_mm.value == 12
    assert library.origin("protocols", "my_forehead") == str(second)


BROKEN = [
    (
        "spacing_mm = { value = 8,",
        'spacing_mm = { value = "eight",',
        "protocols.my_forehead.spacing_mm.value",
        "decimal",
    ),
    (
        'spacing_mm = { value = 8, source = "clinic_sop", tag = "CLINIC" }',
        'spacing_mm = { value = 8, source = "clinic_sop", tag = "OWN" }',
        "protocols.my_forehead.spacing_mm.tag",
        "'CLINIC'",
    ),
    (
        'zones = ["forehead"]',
        'zones = ["forehead", "cheek"]',
        "protocols.my_forehead.zones[1]",
        "lateral_cheek_left",
    ),
    (
        'needle = { value = "32 G", source = "clinic_sop"',
        'needle = { value = "32 G", source = "clinic_manual"',
        "protocols.my_forehead.needle.source",
        "clinic_sop",
    ),
    (
        'technique = "intradermal_wheal"',
        'technique = "intradermal_wheal"\nspacing_cm = 1',
        "protocols.my_forehead.spacing_cm",
        "spacing_mm",
    ),
    (
        'technique = "intradermal_wheal"',
        'technique = "wheal"',
        "protocols.my_forehead.technique",
        "intradermal_wheal",
    ),
    ('kind = "antioxidant"', 'kind = "vitamin"', "adjuncts.niacinamide.kind", "hyaluronic_acid"),
    ("[protocols.my_forehead]", "[protocols.My-Forehead]", "protocols.My-Forehead", "lower-case"),
    ("[protocols.my_forehead]", "[protocol.my_forehead]", "protocol", "protocols"),
    (
        'products = ["botox_cosmetic", "jeuveau"]',
        'products = ["botox"]',
        "beyond_use_policies.clinic_7_days.products[0]",
        "botox_cosmetic",
    ),
    ("value = 25,", "value = 45,", "protocols.my_forehead.working_units_per_ml.value", "<= 25"),
    ("value = 168,", "value = -1,", "beyond_use_policies.clinic_7_days.hours.value", "> 0"),
    (
        "value = 8, source",
        "value = 800, source",
        "protocols.my_forehead.volume_per_point_ul.value",
        "<= 200",
    ),
    (
        'goals = ["fine_lines"]',
        'goals = ["glow"]',
        "protocols.my_forehead.goals[0]",
        "fresh_not_frozen",
    ),
    ('summary = "Our forehead grid."', "", "protocols.my_forehead.summary", "missing"),
    (
        "diluent_ml = 4 }",
        "diluent_ml = 0 }",
        "protocols.my_forehead.stock.diluent_ml",
        "greater than 0",
    ),
    ('zones = ["forehead"]', 'zones = ["forehead"\n', "(syntax)", ""),
]


@pytest.mark.parametrize(("old", "new", "key", "allowed"), BROKEN)
def test_broken_file_names_file_key_and_allowed(
    tmp_path: Path, old: str, new: str, key: str, allowed: str
) -> None:
    assert old in CLINIC
    path = write(tmp_path, CLINIC.replace(old, new))
    with pytest.raises(LibraryError) as info:
        load_library([path])
    error = info.value
    assert error.source == str(path)
    assert error.key == key
    assert allowed in str(error)
    assert str(path) in str(error)


def test_label_dilution_must_match_arithmetic(tmp_path: Path) -> None:
    text = """
[products.house_botox]
name = "Botox (house stock)"
inn = "onabotulinumtoxinA"
manufacturer = "AbbVie"
vial_sizes_units = { value = [100], source = "botox_cosmetic_label", tag = "LABEL" }
diluent = "saline"
storage_unopened = { value = "2-8 °C", source = "botox_cosmetic_label", tag = "LABEL" }
min_retreatment_days = { value = 90, source = "botox_cosmetic_hcp", tag = "LABEL" }
contains_human_albumin = { value = true, source = "botox_cosmetic_label", tag = "LABEL" }
contains_cow_milk_protein = { value = false, source = "botox_cosmetic_label", tag = "LABEL" }

[[products.house_botox.label_dilutions]]
vial_units = 100
diluent_ml = 2.5
units_per_0_1_ml = { value = 4.5, source = "botox_cosmetic_label", tag = "LABEL" }
"""
    path = write(tmp_path, text)
    with pytest.raises(LibraryError) as info:
        load_library([path])
    assert info.value.key == "products.house_botox.label_dilutions[0].units_per_0_1_ml.value"
    assert "allowed: 4" in str(info.value)
    fixed = load_library([write(tmp_path, text.replace("4.5", "4"), "fixed.toml")])
    assert fixed.product("house_botox").label_dilutions[0].units_per_0_1_ml.value == D(4)


def test_a_broken_second_file_loads_nothing_of_the_first(tmp_path: Path) -> None:
    good = write(tmp_path, CLINIC, "good.toml")
    bad = write(tmp_path, 'version = "x"\n[goals.glow]\nname = "Glow"\n', "bad.toml")
    with pytest.raises(LibraryError) as info:
        load_library([good, bad])
    assert info.value.source == str(bad)
    assert "my_forehead" not in load_library().protocols


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(LibraryError, match="cannot read"):
        load_library([tmp_path / "missing.toml"])


@pytest.mark.parametrize(
    ("zones", "protocols", "key", "allowed"),
    [
        ('["forehead", "jowl"]', '["wu_microbotox_20"]', "goals.house_glow.zones[1]", "chin"),
        ('["forehead"]', '["wu_microbotox_20", "wu_99"]', "goals.house_glow.protocols[1]", "wu"),
    ],
)
def test_goal_naming_an_unknown_zone_or_protocol_is_refused(
    tmp_path: Path, zones: str, protocols: str, key: str, allowed: str
) -> None:
    goal = f"""
[sources.clinic_sop]
citation = "Example Clinic standard operating procedure v3"

[goals.house_glow]
name = "House glow"
zones = {zones}
protocols = {protocols}
rationale = {{ value = "Our own goal.", source = "clinic_sop", tag = "CLINIC" }}
"""
    with pytest.raises(LibraryError) as info:
        load_library([write(tmp_path, goal)])
    assert info.value.key == key
    assert allowed in info.value.message
