"""Rebuild dosemap records from a FHIR bundle that ``dosemap export fhir`` wrote.

Moves a clinic (or some of its patients) into another dosemap database: every record keeps its
id, so exporting the imported records gives the same bundle, byte for byte. The clinic must not
be in the target database yet (merging into existing records is not done). Bundles from other
systems lack dosemap's extensions and are refused, naming the first resource and field missing.
Everything is written in one transaction with one audit entry per record (action ``import``).
"""

from __future__ import annotations

import base64
import json
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from dosemap.domain.errors import InvalidInputError
from dosemap.persistence import audit
from dosemap.persistence.db import Database
from dosemap.persistence.errors import NotFoundError
from dosemap.persistence.models import (
    AdverseEvent,
    Amendment,
    Base,
    Clinic,
    Consent,
    Credential,
    FindingAcknowledgement,
    FollowUp,
    OutcomeMeasurement,
    Patient,
    PhotoRecord,
    ProductLot,
    SessionProduct,
    SessionVialUsage,
    Staff,
    TreatmentSession,
    Vial,
)
from dosemap.persistence.unit_of_work import writing
from dosemap.services._common import now, snap
from dosemap.services.exports.fhir_common import (
    CHART_NUMBER,
    CS,
    EXT,
    FOLLOWUP_FROM_FHIR,
    PHOTO_SHA256,
    SEVERITY_FROM_FHIR,
    ext_value,
    from_json,
    parse_day,
    parse_floats,
    parse_instant,
    ref_id,
)


@dataclass(frozen=True)
class ImportSummary:
    """What an import wrote."""

    clinic_id: uuid.UUID
    patients: int
    sessions: int
    chart_points: int
    records: int


class _Bad(Exception):
    """A resource lacks what dosemap needs; carries where."""


def _need(resource: dict[str, Any], *path: str | int) -> Any:
    value: Any = resource
    for step in path:
        try:
            value = value[step]
        except (KeyError, IndexError, TypeError):
            where = ".".join(str(p) for p in path)
            raise _Bad(f"{resource.get('resourceType')}/{resource.get('id')}: no {where}") from None
    return value


def _ext(resource: dict[str, Any], name: str) -> Any:
    value = ext_value(resource, name)
    if value is None:
        raise _Bad(
            f"{resource.get('resourceType')}/{resource.get('id')}: no dosemap extension {name}"
        )
    return value


def _code(concept: dict[str, Any], system: str) -> str:
    for coding in concept.get("coding", ()):
        if coding.get("system") == system:
            return str(coding["code"])
    raise _Bad(f"no code of system {system}")


def _opt_time(value: str | None) -> datetime | None:
    return parse_instant(value) if value is not None else None


def _dec(value: Any) -> Decimal:
    return Decimal(value) if not isinstance(value, Decimal) else value


def _session_products(r: dict[str, Any]) -> list[dict[str, Any]]:
    """The Procedure's ``session-product`` extensions, each as {part: value}."""
    out = []
    for e in r.get("extension", ()):
        if e.get("url") == EXT + "session-product":
            parts = {}
            for part in e.get("extension", ()):
                value = next((v for k, v in part.items() if k.startswith("value")), None)
                parts[part["url"]] = value
            if "product" not in parts or "planned-units" not in parts:
                raise _Bad(f"Procedure/{r.get('id')}: a session-product without its product")
            out.append(parts)
    return out


class _Builder:
    """Turns resources into rows, in foreign-key order."""

    def __init__(self, by_type: dict[str, list[dict[str, Any]]]) -> None:
        self.by_type = by_type
        self.stamp = now()
        self.rows: list[Base] = []
        self.points: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
        self.usage: dict[uuid.UUID, list[SessionVialUsage]] = defaultdict(list)
        self.products: dict[uuid.UUID, list[SessionProduct]] = defaultdict(list)
        self.product_of_vial: dict[uuid.UUID, str] = {}
        self.clinic_id: uuid.UUID | None = None

    def build(self) -> None:
        (org,) = self.by_type.get("Organization", [None])  # exactly one clinic
        if org is None:
            raise _Bad("the bundle has no Organization (the clinic)")
        self._clinic(org)
        for r in self.by_type.get("Practitioner", []):
            self._staff(r)
        for r in self.by_type.get("Patient", []):
            self._patient(r)
        signatures = {
            ref_id(_need(p, "target", 0)): p
            for p in self.by_type.get("Provenance", [])
            if p.get("signature")
        }
        for r in self.by_type.get("Consent", []):
            self._consent(r, signatures.get(uuid.UUID(r["id"])))
        lots: dict[uuid.UUID, ProductLot] = {}
        for r in self.by_type.get("Medication", []):
            self._vial(r, lots)
        encounters = {uuid.UUID(e["id"]): e for e in self.by_type.get("Encounter", [])}
        administrations: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
        for a in self.by_type.get("MedicationAdministration", []):
            administrations[ref_id(_need(a, "context"))].append(a)
        pains = {
            ref_id(_need(o, "encounter")): o
            for o in self.by_type.get("Observation", [])
            if o.get("partOf")
        }
        for r in self.by_type.get("Procedure", []):
            encounter = encounters[ref_id(_need(r, "encounter"))]
            self._session(
                r,
                encounter,
                administrations.get(uuid.UUID(encounter["id"]), []),
                pains.get(uuid.UUID(encounter["id"])),
                signatures.get(uuid.UUID(r["id"])),
            )
        for r in self.by_type.get("Provenance", []):
            if ext_value(r, "amendment-number") is not None:
                self._amendment(r)
        for r in self.by_type.get("DetectedIssue", []):
            self._acknowledgement(r)
        for r in self.by_type.get("AdverseEvent", []):
            self._adverse_event(r)
        for r in self.by_type.get("Appointment", []):
            self._followup(r)
        photos: dict[uuid.UUID, PhotoRecord] = {}
        for r in self.by_type.get("Media", []):
            photo = self._photo(r)
            photos[photo.id] = photo
        for r in self.by_type.get("Observation", []):
            if not r.get("partOf"):
                self._measurement(r, photos)

    # ------------------------------------------------------------------ records

    def _clinic(self, r: dict[str, Any]) -> None:
        logo = ext_value(r, "logo")
        self.clinic_id = uuid.UUID(r["id"])
        self.rows.append(
            Clinic(
                id=self.clinic_id,
                name=_need(r, "name"),
                jurisdiction=_ext(r, "jurisdiction"),
                timezone=_ext(r, "timezone"),
                beyond_use_policy=_ext(r, "beyond-use-policy"),
                calendar_detail=_ext(r, "calendar-detail"),
                address=r["address"][0]["text"] if r.get("address") else None,
                phone=r["telecom"][0]["value"] if r.get("telecom") else None,
                logo_png=base64.b64decode(logo["data"]) if logo else None,
                created_at=self.stamp,
            )
        )

    def _staff(self, r: dict[str, Any]) -> None:
        staff_id = uuid.UUID(r["id"])
        self.rows.append(
            Staff(
                id=staff_id,
                clinic_id=self.clinic_id,
                display_name=_need(r, "name", 0, "text"),
                role=_ext(r, "staff-role"),
                active=bool(r.get("active", True)),
                created_at=self.stamp,
            )
        )
        for q in r.get("qualification", ()):
            self.rows.append(
                Credential(
                    id=uuid.UUID(_need(q, "id")),
                    clinic_id=self.clinic_id,
                    staff_id=staff_id,
                    type=_need(q, "code", "coding", 0, "code"),
                    number=_need(q, "identifier", 0, "value"),
                    jurisdiction=_need(q, "issuer", "display"),
                    expires_on=parse_day(_need(q, "period", "end")),
                    created_at=self.stamp,
                )
            )

    def _patient(self, r: dict[str, Any]) -> None:
        telecom = {t["system"]: t["value"] for t in r.get("telecom", ())}
        chart = next(
            (i["value"] for i in r.get("identifier", ()) if i.get("system") == CHART_NUMBER), None
        )
        if chart is None:
            raise _Bad(f"Patient/{r.get('id')}: no chart number identifier")
        self.rows.append(
            Patient(
                id=uuid.UUID(r["id"]),
                clinic_id=self.clinic_id,
                chart_number=chart,
                given_name=_need(r, "name", 0, "given", 0),
                family_name=_need(r, "name", 0, "family"),
                date_of_birth=parse_day(_need(r, "birthDate")),
                sex=ext_value(r, "sex"),
                phone=telecom.get("phone"),
                email=telecom.get("email"),
                fitzpatrick_type=ext_value(r, "fitzpatrick-type"),
                skin_type=ext_value(r, "skin-type"),
                created_at=self.stamp,
                updated_at=self.stamp,
            )
        )

    def _consent(self, r: dict[str, Any], signed: dict[str, Any] | None) -> None:
        png = None
        if signed is not None and signed["signature"][0].get("data"):
            png = base64.b64decode(signed["signature"][0]["data"])
        self.rows.append(
            Consent(
                id=uuid.UUID(r["id"]),
                clinic_id=self.clinic_id,
                patient_id=ref_id(_need(r, "patient")),
                procedure=_code(_need(r, "provision", "code", 0), CS + "procedure"),
                text_version=_ext(r, "consent-text-version"),
                text_sha256=_ext(r, "consent-text-sha256"),
                signature=_ext(r, "signature-text"),
                signature_png=png,
                text=base64.b64decode(r["sourceAttachment"]["data"]).decode("utf-8")
                if r.get("sourceAttachment")
                else None,
                signed_at=parse_instant(_need(r, "dateTime")),
                witness_name=ext_value(r, "witness-name"),
                withdrawn_at=_opt_time(ext_value(r, "withdrawn-at")),
                created_at=self.stamp,
            )
        )

    def _vial(self, r: dict[str, Any], lots: dict[uuid.UUID, ProductLot]) -> None:
        lot_id = uuid.UUID(_ext(r, "lot-id"))
        if lot_id not in lots:
            lots[lot_id] = ProductLot(
                id=lot_id,
                clinic_id=self.clinic_id,
                product=_code(_need(r, "code"), CS + "product"),
                lot_number=_need(r, "batch", "lotNumber"),
                expires_on=parse_day(_need(r, "batch", "expirationDate")),
                created_at=self.stamp,
            )
            self.rows.append(lots[lot_id])
        self.product_of_vial[uuid.UUID(r["id"])] = lots[lot_id].product
        opened = ext_value(r, "opened-by")
        wasted = ext_value(r, "units-wasted")
        self.rows.append(
            Vial(
                id=uuid.UUID(r["id"]),
                clinic_id=self.clinic_id,
                lot_id=lot_id,
                label=_ext(r, "vial-label"),
                vial_units=_dec(_need(r, "amount", "numerator", "value")),
                diluent=_ext(r, "diluent"),
                diluent_ml=_dec(_need(r, "amount", "denominator", "value")),
                reconstituted_at=parse_instant(_ext(r, "reconstituted-at")),
                beyond_use_policy=_ext(r, "beyond-use-policy"),
                beyond_use_at=parse_instant(_ext(r, "beyond-use-at")),
                units_drawn=_dec(_ext(r, "units-drawn")),
                units_wasted=_dec(wasted) if wasted is not None else None,
                opened_by=ref_id(opened) if opened else None,
                discarded_at=_opt_time(ext_value(r, "discarded-at")),
                discard_reason=ext_value(r, "discard-reason"),
                created_at=self.stamp,
            )
        )

    def _session(
        self,
        r: dict[str, Any],
        encounter: dict[str, Any],
        administrations: list[dict[str, Any]],
        pain: dict[str, Any] | None,
        signed: dict[str, Any] | None,
    ) -> None:
        session_id = uuid.UUID(r["id"])
        aftercare = r["followUp"][0]["text"] if r.get("followUp") else None
        bec = ext_value(r, "botox-equivalent-units")
        points: list[dict[str, Any]] = []
        for a in administrations:
            vial_id = ref_id(_need(a, "medicationReference"))
            technique = _code(_need(a, "dosage", "method"), CS + "technique")
            depth = _need(a, "dosage", "method", "text")
            zone = _code(_need(a, "dosage", "site"), CS + "zone")
            mix = _ext(a, "mix")
            for item in a.get("extension", ()):
                if not item["url"].endswith(":chart-point"):
                    continue
                parts = {
                    p["url"]: next(v for k, v in p.items() if k.startswith("value"))
                    for p in item["extension"]
                }
                x, y, z = parse_floats(parts["position-mm"])
                vertices, weights = parts["anchor"].split(" / ")
                points.append(
                    {
                        "id": uuid.UUID(parts["id"]),
                        "clinic_id": self.clinic_id,
                        "session_id": session_id,
                        "vial_id": vial_id,
                        "number": int(parts["number"]),
                        "zone": zone,
                        "x_mm": x,
                        "y_mm": y,
                        "z_mm": z,
                        "anchor": {
                            "vertices": [int(v) for v in vertices.split()],
                            "weights": parse_floats(weights),
                        },
                        "technique": technique,
                        "depth": depth,
                        "volume_ul": _dec(parts["volume-ul"]),
                        "units": _dec(parts["units"]),
                        "mix": mix,
                    }
                )
        points.sort(key=lambda p: int(p["number"]))
        per_vial: dict[uuid.UUID, list[Decimal]] = defaultdict(list)
        for p in points:
            per_vial[p["vial_id"]].append(p["units"])
        status = _ext(r, "session-status")
        performed = r.get("performedDateTime")
        amendments = [
            p
            for p in self.by_type.get("Provenance", [])
            if ext_value(p, "amendment-number") is not None and ref_id(p["target"][0]) == session_id
        ]
        lead = _ext(r, "product")
        for position, one in enumerate(_session_products(r)):
            if one.get("derived"):
                continue  # figures derived for a session recorded before they were kept
            self.products[session_id].append(
                SessionProduct(
                    session_id=session_id,
                    product=one["product"],
                    clinic_id=self.clinic_id,
                    position=position,
                    planned_points=int(one["planned-points"]),
                    planned_units=_dec(one["planned-units"]),
                    charted_points=(
                        int(one["charted-points"]) if "charted-points" in one else None
                    ),
                    total_units=_dec(one["total-units"]) if "total-units" in one else None,
                )
            )
        row = TreatmentSession(
            id=session_id,
            clinic_id=self.clinic_id,
            patient_id=ref_id(_need(r, "subject")),
            injector_id=ref_id(_need(r, "performer", 0, "actor")),
            procedure=_code(_need(r, "code"), CS + "procedure"),
            status=status,
            product=_ext(r, "product"),
            plan=json.loads(_ext(r, "plan")),
            planned_units=_dec(_ext(r, "planned-units")),
            scheduled_at=parse_instant(_ext(encounter, "scheduled-at")),
            performed_at=parse_instant(performed) if performed else None,
            # The lead product's units only: units of two products are never added.
            total_units=sum(
                (p["units"] for p in points if self.product_of_vial[p["vial_id"]] == lead),
                Decimal(0),
            )
            if points
            else None,
            botox_equivalent_units=_dec(bec) if bec is not None else None,
            pain_score=int(pain["valueInteger"]) if pain else None,
            numbing=ext_value(r, "numbing"),
            aftercare=aftercare,
            signed_at=parse_instant(signed["recorded"]) if signed else None,
            signed_by=ref_id(signed["agent"][0]["who"]) if signed else None,
            signed_content_sha256=ext_value(signed, "signed-content-sha256") if signed else None,
            amendment_count=len(amendments),
            created_at=parse_instant(_ext(r, "created-at")),
            updated_at=self.stamp,
        )
        self.rows.append(row)
        self.points[session_id] = points
        for vial_id, units in sorted(per_vial.items(), key=lambda kv: str(kv[0])):
            self.usage[session_id].append(
                SessionVialUsage(
                    session_id=session_id,
                    vial_id=vial_id,
                    clinic_id=self.clinic_id,
                    points=len(units),
                    units=sum(units, Decimal(0)),
                )
            )

    def _amendment(self, r: dict[str, Any]) -> None:
        self.rows.append(
            Amendment(
                id=uuid.UUID(r["id"]),
                clinic_id=self.clinic_id,
                session_id=ref_id(_need(r, "target", 0)),
                number=int(_ext(r, "amendment-number")),
                reason=_need(r, "reason", 0, "text"),
                amended_by=ref_id(_need(r, "agent", 0, "who")),
                amended_at=parse_instant(_need(r, "recorded")),
                before=json.loads(_ext(r, "before")),
                before_digest=_ext(r, "before-digest"),
                after_digest=_ext(r, "after-digest"),
            )
        )

    def _acknowledgement(self, r: dict[str, Any]) -> None:
        self.rows.append(
            FindingAcknowledgement(
                id=uuid.UUID(r["id"]),
                clinic_id=self.clinic_id,
                session_id=ref_id(_need(r, "implicated", 0)),
                code=_code(_need(r, "code"), CS + "finding"),
                zone=ext_value(r, "finding-zone"),
                point_numbers=ext_value(r, "finding-points") or "",
                severity=SEVERITY_FROM_FHIR[_need(r, "severity")],
                title=_need(r, "code", "text"),
                acknowledged_by=ref_id(_need(r, "mitigation", 0, "author")),
                acknowledged_at=parse_instant(_need(r, "mitigation", 0, "date")),
                reason=_need(r, "detail"),
            )
        )

    def _adverse_event(self, r: dict[str, Any]) -> None:
        suspect = r.get("suspectEntity")
        recorder = r.get("recorder")
        self.rows.append(
            AdverseEvent(
                id=uuid.UUID(r["id"]),
                clinic_id=self.clinic_id,
                patient_id=ref_id(_need(r, "subject")),
                session_id=ref_id(suspect[0]["instance"]) if suspect else None,
                kind=_code(_need(r, "event"), CS + "adverse-event-kind"),
                onset_at=parse_instant(_need(r, "date")),
                severity=_need(r, "severity", "coding", 0, "code"),
                action=ext_value(r, "action-taken"),
                outcome=r["outcome"]["text"] if r.get("outcome") else None,
                recorded_by=ref_id(recorder) if recorder else None,
                created_at=self.stamp,
            )
        )

    def _followup(self, r: dict[str, Any]) -> None:
        self.rows.append(
            FollowUp(
                id=uuid.UUID(r["id"]),
                clinic_id=self.clinic_id,
                patient_id=ref_id(_need(r, "participant", 0, "actor")),
                session_id=ref_id(_need(r, "supportingInformation", 0)),
                kind=_code(_need(r, "serviceType", 0), CS + "followup-kind"),
                due_on=parse_day(_need(r, "requestedPeriod", 0, "start")),
                status=FOLLOWUP_FROM_FHIR[_need(r, "status")],
                basis=_need(r, "description"),
                completed_at=_opt_time(ext_value(r, "completed-at")),
                created_at=self.stamp,
            )
        )

    def _photo(self, r: dict[str, Any]) -> PhotoRecord:
        encounter = r.get("encounter")
        session_id = None
        if encounter is not None:
            session_id = self._session_of_encounter(ref_id(encounter))
        sha = next(i["value"] for i in r["identifier"] if i["system"] == PHOTO_SHA256)
        photo = PhotoRecord(
            id=uuid.UUID(r["id"]),
            clinic_id=self.clinic_id,
            patient_id=ref_id(_need(r, "subject")),
            session_id=session_id,
            sha256=sha,
            media_type=_need(r, "content", "contentType"),
            size_bytes=int(_need(r, "content", "size")),
            view=r["view"]["text"] if r.get("view") else None,
            taken_at=parse_instant(_need(r, "createdDateTime")),
            created_at=self.stamp,
        )
        self.rows.append(photo)
        return photo

    def _measurement(self, r: dict[str, Any], photos: dict[uuid.UUID, PhotoRecord]) -> None:
        encounter = r.get("encounter")
        site = r.get("bodySite")
        self.rows.append(
            OutcomeMeasurement(
                id=uuid.UUID(r["id"]),
                clinic_id=self.clinic_id,
                photo_id=photos[ref_id(_need(r, "derivedFrom", 0))].id,
                session_id=self._session_of_encounter(ref_id(encounter)) if encounter else None,
                zone=_code(site, CS + "zone") if site else None,
                metric=_code(_need(r, "code"), CS + "skin-metric"),
                value=float(_need(r, "valueQuantity", "value")),
                unit=_need(r, "valueQuantity", "unit"),
                measured_at=parse_instant(_need(r, "effectiveDateTime")),
            )
        )

    def _session_of_encounter(self, encounter_id: uuid.UUID) -> uuid.UUID:
        for p in self.by_type.get("Procedure", []):
            if ref_id(p["encounter"]) == encounter_id:
                return uuid.UUID(p["id"])
        raise _Bad(f"Encounter/{encounter_id} has no Procedure in the bundle")


_ENTITY = {
    "clinics": "clinic",
    "staff": "staff",
    "credentials": "credential",
    "patients": "patient",
    "consents": "consent",
    "product_lots": "lot",
    "vials": "vial",
    "treatment_sessions": "session",
    "amendments": "amendment",
    "finding_acknowledgements": "finding_acknowledgement",
    "adverse_events": "adverse_event",
    "followups": "followup",
    "photos": "photo",
    "outcome_measurements": "measurement",
}


def import_bundle(db: Database, content: bytes, *, actor: str) -> ImportSummary:
    """Write the records of a bundle ``dosemap export fhir`` wrote into this database."""
    try:
        bundle = from_json(content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInputError("bundle", f"is not JSON ({exc})", "a FHIR Bundle (JSON)") from None
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise InvalidInputError("bundle", "is not a FHIR Bundle", "a FHIR Bundle (JSON)")
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in bundle.get("entry", ()):
        resource = entry.get("resource", {}) if isinstance(entry, dict) else {}
        by_type[str(resource.get("resourceType"))].append(resource)
    builder = _Builder(by_type)
    try:
        builder.build()
    except _Bad as exc:
        raise InvalidInputError(
            "bundle", str(exc), "a bundle written by dosemap export fhir"
        ) from None
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise InvalidInputError(
            "bundle", f"a resource lacks {exc}", "a bundle written by dosemap export fhir"
        ) from None
    assert builder.clinic_id is not None
    with writing(db) as uow:
        try:
            uow.clinics.get(builder.clinic_id)
        except NotFoundError:
            pass
        else:
            raise InvalidInputError(
                "bundle",
                f"clinic {builder.clinic_id} is already in this database",
                "a database without this clinic (imports do not merge)",
            )
        usage: list[Base] = [u for rows in builder.usage.values() for u in rows]
        usage += [p for rows in builder.products.values() for p in rows]
        points = [p for rows in builder.points.values() for p in rows]
        uow.bulk.insert([*builder.rows, *usage], points)
        entries = []
        for row in builder.rows:
            after: Any = snap(row)
            if isinstance(row, TreatmentSession):
                after = {
                    "session": after,
                    "points": builder.points[row.id],
                    "usage": [snap(u) for u in builder.usage[row.id]],
                }
                if builder.products[row.id]:
                    after["products"] = [snap(p) for p in builder.products[row.id]]
            entries.append(
                audit.PendingEntry(
                    clinic_id=builder.clinic_id,
                    actor=actor,
                    action="import",
                    entity=_ENTITY[row.__table__.name],  # type: ignore[attr-defined]
                    entity_id=row.id,  # type: ignore[attr-defined]
                    after=after,
                )
            )
        uow.audit.append_many(entries)
    return ImportSummary(
        clinic_id=builder.clinic_id,
        patients=len(by_type.get("Patient", [])),
        sessions=len(by_type.get("Procedure", [])),
        chart_points=len(points),
        records=len(builder.rows) + len(usage) + len(points),
    )
