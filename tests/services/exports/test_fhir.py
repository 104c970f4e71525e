"""FHIR R4 bundles: valid R4B, the record's numbers, and export → import → export identical."""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from dosemap.domain.errors import InvalidInputError
from dosemap.persistence.db import Database
from dosemap.services import audit, backup, demo
from dosemap.services.exports.fhir_export import fhir_bundle
from dosemap.services.exports.fhir_import import import_bundle
from services.exports.conftest import CONSENT_TEXT, Treated, signature_png
from services.exports.test_csv import audit_actions
from support.databases import temporary_database

OTHER = {"sqlite": "postgresql", "postgresql": "sqlite"}


def _resources(content: bytes) -> list[dict[str, Any]]:
    return [e["resource"] for e in json.loads(content, parse_float=Decimal)["entry"]]


def _one(resources: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (found,) = [r for r in resources if r["resourceType"] == kind]
    return found


@pytest.fixture
def other_db(backend: str, tmp_path: Path) -> Iterator[Database]:
    """An empty, migrated database on the other back end (imports cross back ends)."""
    with temporary_database(OTHER[backend], tmp_path) as db:
        yield db


def test_bundle_is_valid_r4b_and_holds_the_record(documented: Treated) -> None:
    c = documented.clinic
    file = fhir_bundle(c.db, c.clinic_id, actor="t", patient_id=c.patient_id)
    assert file.media_type == "application/fhir+json"
    assert file.filename == "dosemap_fhir_C-0001.json"
    bundle = Bundle.model_validate_json(file.content)  # R4B models, every resource
    assert bundle.type == "collection"
    resources = _resources(file.content)
    kinds = Counter(r["resourceType"] for r in resources)
    assert kinds == {
        "Organization": 1,
        "Practitioner": 2,  # the injector; the desk recorded the adverse event
        "Patient": 1,
        "Consent": 2,
        "Provenance": 4,  # two consent signatures, the session's signature, one amendment
        "Medication": 1,
        "Encounter": 1,
        "Procedure": 1,
        "MedicationAdministration": 1,
        "Observation": 2,  # pain score, a skin measurement
        "DetectedIssue": 1,
        "AdverseEvent": 1,
        "Appointment": 2,
        "Media": 1,
    }
    session = documented.session
    given = _one(resources, "MedicationAdministration")
    assert Decimal(given["dosage"]["dose"]["value"]) == session.total_units == Decimal("1.0")
    assert given["dosage"]["route"]["coding"][0]["code"] == "372464004"  # intradermal
    assert given["dosage"]["site"]["coding"][0]["code"] == "52795006"  # forehead
    points = [e for e in given["extension"] if e["url"].endswith(":chart-point")]
    assert len(points) == len(session.points) == 5
    vial = _one(resources, "Medication")
    assert vial["batch"] == {"lotNumber": "C1234A", "expirationDate": "2027-06-30"}
    assert Decimal(vial["amount"]["numerator"]["value"]) == 100
    pain = next(r for r in resources if r["resourceType"] == "Observation" and "partOf" in r)
    assert pain["valueInteger"] == 3 and pain["code"]["coding"][0]["code"] == "72514-3"
    nurse = next(
        r for r in resources if r["resourceType"] == "Practitioner" and "qualification" in r
    )
    assert nurse["qualification"][0]["code"]["coding"][0]["code"] == "RN"
    consent = next(
        r
        for r in resources
        if r["resourceType"] == "Consent" and r["sourceAttachment"]["title"].endswith("2026-02")
    )
    assert base64.b64decode(consent["sourceAttachment"]["data"]).decode() == CONSENT_TEXT
    drawn = [
        s["data"]
        for r in resources
        if r["resourceType"] == "Provenance"
        for s in r.get("signature", ())
        if "data" in s
    ]
    assert [base64.b64decode(d) for d in drawn] == [signature_png()]
    issue = _one(resources, "DetectedIssue")
    assert issue["code"]["coding"][0]["code"] == "DM901-OFF-LABEL"
    assert issue["detail"] == "Discussed off-label use; patient agrees."
    amendment = next(r for r in resources if r["resourceType"] == "Provenance" and "reason" in r)
    assert amendment["reason"][0]["text"].startswith("Point 6 was not injected")
    assert "export_fhir" in audit_actions(documented)


def test_round_trip_is_byte_identical(
    documented: Treated, other_db: Database, tmp_path: Path
) -> None:
    c = documented.clinic
    first = fhir_bundle(c.db, c.clinic_id, actor="t", patient_id=c.patient_id).content
    done = import_bundle(other_db, first, actor="importer")
    assert done.clinic_id == c.clinic_id and done.chart_points == 5
    again = fhir_bundle(other_db, c.clinic_id, actor="t", patient_id=c.patient_id).content
    assert again == first
    # The imported records agree with their audit entries, field by field, signatures included.
    report = audit.verify(other_db, tmp_path / "checkpoints")
    assert report.ok, report.problems


def test_demo_clinic_round_trip(db: Database, other_db: Database, tmp_path: Path) -> None:
    summary = demo.seed_demo_clinic(db, patients=6, months=6, seed=3)
    assert summary.created and summary.sessions > 5
    clinic_id = demo_clinic_id(db)
    first = fhir_bundle(db, clinic_id, actor="t").content
    Bundle.model_validate_json(first)
    done = import_bundle(other_db, first, actor="importer")
    assert done.sessions == summary.sessions and done.patients == summary.patients
    assert fhir_bundle(other_db, clinic_id, actor="t").content == first
    report = audit.verify(other_db, tmp_path / "checkpoints")
    assert report.ok, report.problems


def demo_clinic_id(db: Database) -> Any:
    from dosemap.services import staff

    found = staff.find_clinic(db, demo.DEMO_CLINIC)
    assert found is not None
    return found


def test_since_keeps_later_sessions_only(db: Database) -> None:
    demo.seed_demo_clinic(db, patients=4, months=4, seed=5)
    clinic_id = demo_clinic_id(db)
    whole = _resources(fhir_bundle(db, clinic_id, actor="t").content)
    starts = sorted(
        r["performedDateTime"]
        for r in whole
        if r["resourceType"] == "Procedure" and "performedDateTime" in r
    )
    middle = starts[len(starts) // 2]
    from dosemap.services.exports.fhir_common import parse_instant

    part = fhir_bundle(db, clinic_id, actor="t", since=parse_instant(middle)).content
    Bundle.model_validate_json(part)
    kept = [r for r in _resources(part) if r["resourceType"] == "Procedure"]
    assert kept and all(r.get("performedDateTime", middle) >= middle for r in kept)
    assert len(kept) < len([r for r in whole if r["resourceType"] == "Procedure"])


def test_import_refuses_and_writes_nothing(documented: Treated, other_db: Database) -> None:
    c = documented.clinic
    content = fhir_bundle(c.db, c.clinic_id, actor="t").content
    before = audit_actions(documented)
    with pytest.raises(InvalidInputError, match="already in this database"):
        import_bundle(c.db, content, actor="t")  # the clinic is there: no merge
    assert audit_actions(documented) == before
    broken = json.loads(content)
    for entry in broken["entry"]:
        if entry["resource"]["resourceType"] == "Medication":
            entry["resource"]["extension"] = []
    with pytest.raises(InvalidInputError) as err:
        import_bundle(other_db, json.dumps(broken).encode(), actor="t")
    assert "Medication/" in str(err.value) and "lot-id" in str(err.value)
    with pytest.raises(InvalidInputError, match="not JSON"):
        import_bundle(other_db, b"<Bundle/>", actor="t")
    assert backup.verify_audit_chain(other_db).entries == 0
