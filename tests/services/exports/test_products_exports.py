"""Exports of a session of two products (Botox + Dysport): each product with its own figures.

CSV: one sessions row per product (its points, units and µL), every point naming its product;
FHIR: a session-product extension per product on the Procedure, every MedicationAdministration
of one product (its vial and lot) with its dose in that product's units; valid R4B; the round
trip rebuilds the product rows and passes the audit verification. Units of two products are
never added."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from dosemap.domain.plan import SessionPlan
from dosemap.persistence.db import Database
from dosemap.services import audit, sessions
from dosemap.services.exports import csv_files
from dosemap.services.exports.fhir_export import fhir_bundle
from dosemap.services.exports.fhir_import import import_bundle
from support.clinic import T0, SeededClinic
from support.databases import temporary_database
from support.products import DYSPORT_LOT, charted_two_products

_Q = Decimal("0.0001")
OTHER = {"sqlite": "postgresql", "postgresql": "sqlite"}


def _by_product(plan: SessionPlan) -> dict[str, tuple[int, Decimal, Decimal]]:
    """product -> (points, units, µL) of the plan charted as planned."""
    return {
        one.product: (
            len(one.points),
            sum((p.units for p in one.points), Decimal(0)).quantize(_Q),
            sum((p.volume_ul for p in one.points), Decimal(0)).quantize(_Q),
        )
        for one in plan.plans
    }


@pytest.fixture
def two(clinic: SeededClinic) -> tuple[SeededClinic, Any, SessionPlan]:
    c = clinic
    row_id, plan = charted_two_products(
        c.db, c.clinic_id, c.patient_id, c.injector, c.vial_id, c.library, T0, sign=True
    )
    return c, row_id, plan


@pytest.fixture
def other_db(backend: str, tmp_path: Path) -> Iterator[Database]:
    with temporary_database(OTHER[backend], tmp_path) as db:
        yield db


def _csv(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"), newline="")))


def test_sessions_csv_has_a_row_per_product(two: tuple[SeededClinic, Any, SessionPlan]) -> None:
    c, row_id, plan = two
    rows = _csv(csv_files.sessions_csv(c.db, c.clinic_id, actor="t").content)
    mine = [r for r in rows if r["session_id"] == str(row_id)]
    assert [r["product"] for r in mine] == ["botox_cosmetic", "dysport"]
    for r in mine:
        points, units, volume = _by_product(plan)[r["product"]]
        assert (int(r["points"]), Decimal(r["total_units"]), Decimal(r["total_volume_ul"])) == (
            points,
            units,
            volume,
        )
        assert Decimal(r["planned_units"]) == units
        assert r["session_products"] == "2"
    assert [r["product_index"] for r in mine] == ["1", "2"]
    # The session's Botox-equivalent (every product converted) is the same on both rows.
    assert mine[0]["botox_equivalent_units"] == mine[1]["botox_equivalent_units"] != ""


def test_points_csv_names_each_points_product(two: tuple[SeededClinic, Any, SessionPlan]) -> None:
    c, row_id, plan = two
    rows = _csv(csv_files.points_csv(c.db, c.clinic_id, actor="t").content)
    units: dict[str, Decimal] = defaultdict(Decimal)
    for r in rows:
        if r["session_id"] == str(row_id):
            units[r["product"]] += Decimal(r["units"])
            assert (r["product"] == "dysport") == (r["lot_number"] == DYSPORT_LOT)
    assert dict(units) == {k: v[1] for k, v in _by_product(plan).items()}


def _resources(content: bytes) -> list[dict[str, Any]]:
    return [e["resource"] for e in json.loads(content, parse_float=Decimal)["entry"]]


def _parts(extension: dict[str, Any]) -> dict[str, Any]:
    return {
        p["url"]: next(v for k, v in p.items() if k.startswith("value"))
        for p in extension["extension"]
    }


def test_fhir_gives_each_product_its_own_figures(
    two: tuple[SeededClinic, Any, SessionPlan],
) -> None:
    c, _row_id, plan = two
    content = fhir_bundle(c.db, c.clinic_id, actor="t", patient_id=c.patient_id).content
    Bundle.model_validate_json(content)  # R4B models, every resource
    resources = _resources(content)
    expected = _by_product(plan)
    (procedure,) = [r for r in resources if r["resourceType"] == "Procedure"]
    products = [_parts(e) for e in procedure["extension"] if e["url"].endswith(":session-product")]
    assert [
        (p["product"], p["charted-points"], Decimal(p["total-units"]), Decimal(p["planned-units"]))
        for p in products
    ] == [(k, v[0], v[1], v[1]) for k, v in expected.items()]
    vials = {
        r["id"]: (r["code"]["coding"][0]["code"], r["batch"]["lotNumber"])
        for r in resources
        if r["resourceType"] == "Medication"
    }
    dose: dict[str, Decimal] = defaultdict(Decimal)
    lots: dict[str, set[str]] = defaultdict(set)
    for given in (r for r in resources if r["resourceType"] == "MedicationAdministration"):
        product, lot = vials[given["medicationReference"]["reference"].removeprefix("urn:uuid:")]
        quantity = given["dosage"]["dose"]
        assert quantity["unit"] == f"U ({product})" and quantity["code"] == "[U]"
        assert given["dosage"]["text"].startswith(f"{product}: ")
        dose[product] += Decimal(quantity["value"])
        lots[product].add(lot)
    assert dict(dose) == {k: v[1] for k, v in expected.items()}
    assert lots["dysport"] == {DYSPORT_LOT} and DYSPORT_LOT not in lots["botox_cosmetic"]


def test_fhir_round_trip_keeps_each_products_figures(
    two: tuple[SeededClinic, Any, SessionPlan], other_db: Database, tmp_path: Path
) -> None:
    c, row_id, plan = two
    first = fhir_bundle(c.db, c.clinic_id, actor="t", patient_id=c.patient_id).content
    import_bundle(other_db, first, actor="importer")
    assert fhir_bundle(other_db, c.clinic_id, actor="t", patient_id=c.patient_id).content == first
    figures = sessions.session_products(other_db, c.clinic_id, row_id)
    assert [(f.product, f.total_units) for f in figures] == [
        (k, v[1]) for k, v in _by_product(plan).items()
    ]
    # The imported record's own units are its lead product's, not Botox and Dysport added.
    assert sessions.get_session(other_db, c.clinic_id, row_id).total_units == figures[0].total_units
    report = audit.verify(other_db, tmp_path / "checkpoints")
    assert report.ok, report.problems
