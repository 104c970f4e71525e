"""What the FHIR export and import share: code systems, extension names, derived ids, the JSON
form (exact decimals) and FHIR's time forms.

dosemap's own codes (products, zones, techniques, finding codes …) are sent in ``urn:dosemap:``
code systems; its own data without a FHIR element (a point's position in mm, the stored plan)
in ``urn:dosemap:ext:`` extensions. ``docs/fhir.md`` lists them.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from dosemap.resources import document_data

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
V2_0360 = "http://terminology.hl7.org/CodeSystem/v2-0360"
V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
V3_DATA_OPERATION = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
AE_SEVERITY = "http://terminology.hl7.org/CodeSystem/adverse-event-severity"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
SIGNATURE_TYPE = "urn:iso-astm:E1762-95:2013"
PAIN_LOINC = "72514-3"  # Pain severity - 0-10 verbal numeric rating [Score] - Reported
CONSENT_LOINC = "59284-0"  # Patient Consent

#: dosemap's code systems and identifier systems.
CS = "urn:dosemap:cs:"
CHART_NUMBER = "urn:dosemap:id:chart-number"
LICENCE_NUMBER = "urn:dosemap:id:licence-number"
PHOTO_SHA256 = "urn:dosemap:id:sha256"
EXT = "urn:dosemap:ext:"

#: Credential types HL7 v2 table 0360 (degree/licence) has; others go in a dosemap system.
V2_DEGREES = frozenset({"MD", "DO", "RN", "NP", "PA", "LPN", "BSN", "DDS", "PHD", "PharmD"})

#: Ids of resources that have no record of their own (derived from the record they come from).
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:dosemap:fhir")

SEVERITY_TO_FHIR = {"block": "high", "warn": "moderate", "info": "low"}
SEVERITY_FROM_FHIR = {v: k for k, v in SEVERITY_TO_FHIR.items()}
FOLLOWUP_TO_FHIR = {"open": "proposed", "done": "fulfilled", "cancelled": "cancelled"}
FOLLOWUP_FROM_FHIR = {v: k for k, v in FOLLOWUP_TO_FHIR.items()}
GENDERS = frozenset({"male", "female", "other", "unknown"})


def derived_id(record_id: uuid.UUID, part: str) -> str:
    """A stable id for a resource derived from one record (the session's Encounter …)."""
    return str(uuid.uuid5(_NAMESPACE, f"{record_id}/{part}"))


def ref(resource_id: uuid.UUID | str) -> dict[str, str]:
    """A reference to a resource of the same bundle (its ``fullUrl`` is ``urn:uuid:<id>``)."""
    return {"reference": f"urn:uuid:{resource_id}"}


def ref_id(reference: dict[str, Any]) -> uuid.UUID:
    """The id a bundle-internal reference points at."""
    text = str(reference["reference"])
    if not text.startswith("urn:uuid:"):
        raise ValueError(f"reference {text!r} is not to a resource of this bundle")
    return uuid.UUID(text.removeprefix("urn:uuid:"))


def ext(name: str, **value: Any) -> dict[str, Any]:
    """One dosemap extension: ``ext("scheduled-at", valueDateTime="…")``."""
    return {"url": EXT + name, **value}


def ext_value(resource: dict[str, Any], name: str) -> Any:
    """The value of a dosemap extension on ``resource`` (``None`` when absent)."""
    for item in resource.get("extension", ()):
        if item["url"] == EXT + name:
            return next(v for k, v in item.items() if k.startswith("value"))
    return None


def instant(value: datetime) -> str:
    """A FHIR instant/dateTime in UTC, microseconds kept (``2026-03-02T10:00:00Z``)."""
    text = value.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"


def parse_instant(text: str) -> datetime:
    """The inverse of :func:`instant`."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def parse_day(text: str) -> date:
    """A FHIR date."""
    return date.fromisoformat(text)


def floats_text(values: tuple[float, ...] | list[float]) -> str:
    """Floats as exact, round-tripping text (``"1.5 -2.25 3.0"``)."""
    return " ".join(repr(float(v)) for v in values)


def parse_floats(text: str) -> list[float]:
    """The inverse of :func:`floats_text`."""
    return [float(v) for v in text.split()]


def quantity_units(units: Decimal) -> dict[str, Any]:
    """A dose in toxin units (UCUM's arbitrary unit ``[U]``)."""
    return {"value": units, "unit": "U", "system": UCUM, "code": "[U]"}


def codes() -> dict[str, Any]:
    """Body-site and route codes (``data/documents/fhir_codes.toml``)."""
    return document_data("fhir_codes.toml")


def body_site(zone: str) -> dict[str, Any]:
    """A zone as a FHIR CodeableConcept: SNOMED CT where a code exists, else dosemap's code."""
    coding = [{"system": CS + "zone", "code": zone}]
    known = codes()["body_sites"].get(zone)
    if known is not None:
        coding.insert(0, {"system": SNOMED, "code": known["code"], "display": known["display"]})
    return {"coding": coding, "text": zone.replace("_", " ")}


def route(technique: str) -> dict[str, Any] | None:
    """The route a technique injects by (``None`` for a technique the table does not know)."""
    table = codes()
    key = table["technique_routes"].get(technique)
    if key is None:
        return None
    code = table["routes"][key]
    return {"coding": [{"system": SNOMED, "code": code["code"], "display": code["display"]}]}


# ------------------------------------------------------------------------------- JSON form

_MARK = "\x00dosemap-decimal:"
_MARKED = re.compile(r'"\\u0000dosemap-decimal:(-?[0-9]+(?:\.[0-9]+)?)"')


def _mark(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _mark(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mark(v) for v in value]
    if isinstance(value, Decimal):
        return _MARK + format(value.normalize() + 0, "f")
    if isinstance(value, float):
        return _MARK + format(Decimal(repr(value)), "f")
    return value


def to_json(value: Any) -> bytes:
    """Compact JSON in the given key order; decimals (and floats) as exact JSON numbers."""
    text = json.dumps(_mark(value), ensure_ascii=False, separators=(",", ":"))
    return _MARKED.sub(r"\1", text).encode("utf-8")


def from_json(content: bytes) -> Any:
    """JSON with every number that has a fraction read as an exact :class:`Decimal`."""
    return json.loads(content, parse_float=Decimal)


def canonical_text(value: Any) -> str:
    """A stored JSON document (a plan, an amendment's before) as stable text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
