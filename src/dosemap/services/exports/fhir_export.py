"""The clinic's records as a FHIR R4 (R4B) Bundle of type ``collection``.

One patient's whole record (``patient_id``), or every patient treated since a time (``since``),
or the whole clinic. The mapping, and what FHIR cannot carry, is ``docs/fhir.md``. The bundle
holds what dosemap needs to rebuild the same records (:mod:`.fhir_import`): exported, imported
into an empty database and exported again, it is the same bytes.
"""

from __future__ import annotations

import base64
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from dosemap.persistence.db import Database
from dosemap.persistence.models import (
    AdverseEvent,
    Amendment,
    ChartPoint,
    Clinic,
    Consent,
    FindingAcknowledgement,
    FollowUp,
    OutcomeMeasurement,
    Patient,
    PhotoRecord,
    ProductLot,
    Staff,
    TreatmentSession,
    Vial,
)
from dosemap.persistence.unit_of_work import UnitOfWork, writing
from dosemap.services.exports._common import ExportFile, record_export
from dosemap.services.exports.fhir_common import (
    AE_SEVERITY,
    CHART_NUMBER,
    CONSENT_LOINC,
    CONSENT_SCOPE,
    CS,
    FOLLOWUP_TO_FHIR,
    GENDERS,
    LICENCE_NUMBER,
    LOINC,
    OBSERVATION_CATEGORY,
    PAIN_LOINC,
    PHOTO_SHA256,
    SEVERITY_TO_FHIR,
    SIGNATURE_TYPE,
    UCUM,
    V2_0360,
    V2_DEGREES,
    V3_ACT_CODE,
    V3_DATA_OPERATION,
    body_site,
    canonical_text,
    derived_id,
    ext,
    floats_text,
    instant,
    quantity_units,
    ref,
    route,
    to_json,
)
from dosemap.services.sessions import ProductFigures, product_figures

MEDIA_TYPE = "application/fhir+json"
PROCEDURE_TEXT = "Micro-dose botulinum toxin injections"


@dataclass
class _Records:
    """Everything one bundle holds, loaded in one unit of work."""

    clinic: Clinic
    patients: list[Patient]
    staff: list[Staff] = field(default_factory=list)
    consents: list[Consent] = field(default_factory=list)
    vials: list[tuple[Vial, ProductLot]] = field(default_factory=list)
    sessions: list[TreatmentSession] = field(default_factory=list)
    amendments: list[Amendment] = field(default_factory=list)
    acknowledgements: list[FindingAcknowledgement] = field(default_factory=list)
    adverse_events: list[AdverseEvent] = field(default_factory=list)
    followups: list[FollowUp] = field(default_factory=list)
    measurements: list[tuple[OutcomeMeasurement, PhotoRecord]] = field(default_factory=list)
    # Each session's products with their own figures; ``derived`` ones (no stored rows: a
    # session recorded before migration 0013) are marked so, and the import keeps them unstored.
    products: dict[uuid.UUID, tuple[tuple[ProductFigures, ...], bool]] = field(default_factory=dict)
    product_of_vial: dict[uuid.UUID, str] = field(default_factory=dict)


def _load(
    uow: UnitOfWork,
    clinic_id: uuid.UUID,
    patient_id: uuid.UUID | None,
    since: datetime | None,
) -> _Records:
    q = uow.exports
    clinic = uow.clinics.get(clinic_id)
    sessions = q.sessions(clinic_id, patient_id=patient_id, since=since)
    events = q.adverse_events(
        clinic_id, patient_ids=[patient_id] if patient_id else None, since=since
    )
    if patient_id is not None:
        uow.patients.get(clinic_id, patient_id)
        patient_ids: set[uuid.UUID] | None = {patient_id}
    elif since is not None:
        patient_ids = {s.patient_id for s in sessions} | {e.patient_id for e in events}
    else:
        patient_ids = None
    patients = q.patients(clinic_id, patient_ids)
    ids = [p.id for p in patients]
    session_ids = {s.id for s in sessions}
    records = _Records(clinic, patients, sessions=sessions, adverse_events=events)
    records.consents = q.consents(clinic_id, ids)
    records.amendments = q.amendments(session_ids)
    records.acknowledgements = q.acknowledgements(session_ids)
    records.followups = [
        fu for fu, _ in q.followups(clinic_id, patient_ids=ids) if fu.session_id in session_ids
    ]
    records.measurements = [
        (m, photo)
        for m, photo in q.measurements(clinic_id, ids)
        if since is None or m.measured_at >= since
    ]
    vial_ids = {p.vial_id for s in sessions for p in s.points}
    records.vials = q.vials(clinic_id, vial_ids)
    records.product_of_vial = {v.id: lot.product for v, lot in records.vials}
    stored = uow.sessions.products_of(clinic_id, session_ids)
    figures = product_figures(uow, sessions)
    records.products = {s.id: (figures[s.id], s.id not in stored) for s in sessions}
    staff_ids: set[uuid.UUID] = set()
    for s in sessions:
        staff_ids.add(s.injector_id)
        if s.signed_by:
            staff_ids.add(s.signed_by)
    staff_ids |= {a.amended_by for a in records.amendments}
    staff_ids |= {a.acknowledged_by for a in records.acknowledgements}
    staff_ids |= {e.recorded_by for e in events if e.recorded_by}
    staff_ids |= {v.opened_by for v, _ in records.vials if v.opened_by}
    records.staff = q.staff(clinic_id, staff_ids)
    return records


# --------------------------------------------------------------------------- resources


def _organization(c: Clinic) -> dict[str, Any]:
    extensions = [
        ext("jurisdiction", valueCode=c.jurisdiction),
        ext("timezone", valueString=c.timezone),
        ext("beyond-use-policy", valueCode=c.beyond_use_policy),
        ext("calendar-detail", valueCode=c.calendar_detail),
    ]
    if c.logo_png:
        extensions.append(
            ext(
                "logo",
                valueAttachment={
                    "contentType": "image/png",
                    "data": base64.b64encode(c.logo_png).decode("ascii"),
                },
            )
        )
    out: dict[str, Any] = {
        "resourceType": "Organization",
        "id": str(c.id),
        "extension": extensions,
        "active": True,
        "name": c.name,
    }
    if c.phone:
        out["telecom"] = [{"system": "phone", "value": c.phone}]
    if c.address:
        out["address"] = [{"text": c.address}]
    return out


def _practitioner(s: Staff) -> dict[str, Any]:
    quals = []
    for c in sorted(s.credentials, key=lambda c: (c.type, str(c.id))):
        system = V2_0360 if c.type in V2_DEGREES else CS + "credential-type"
        quals.append(
            {
                "id": str(c.id),
                "identifier": [{"system": LICENCE_NUMBER, "value": c.number}],
                "code": {"coding": [{"system": system, "code": c.type}], "text": c.type},
                "period": {"end": c.expires_on.isoformat()},
                "issuer": {"display": c.jurisdiction},
            }
        )
    out: dict[str, Any] = {
        "resourceType": "Practitioner",
        "id": str(s.id),
        "extension": [ext("staff-role", valueCode=s.role)],
        "active": s.active,
        "name": [{"text": s.display_name}],
    }
    if quals:
        out["qualification"] = quals
    return out


def _patient(p: Patient) -> dict[str, Any]:
    extensions = []
    if p.sex is not None:
        extensions.append(ext("sex", valueString=p.sex))
    if p.fitzpatrick_type is not None:
        extensions.append(ext("fitzpatrick-type", valueInteger=p.fitzpatrick_type))
    if p.skin_type is not None:
        extensions.append(ext("skin-type", valueCode=p.skin_type))
    out: dict[str, Any] = {"resourceType": "Patient", "id": str(p.id)}
    if extensions:
        out["extension"] = extensions
    out["identifier"] = [
        {"system": CHART_NUMBER, "value": p.chart_number, "assigner": ref(p.clinic_id)}
    ]
    out["name"] = [{"family": p.family_name, "given": [p.given_name]}]
    telecom = []
    if p.phone:
        telecom.append({"system": "phone", "value": p.phone})
    if p.email:
        telecom.append({"system": "email", "value": p.email})
    if telecom:
        out["telecom"] = telecom
    if p.sex is not None and p.sex.lower() in GENDERS:
        out["gender"] = p.sex.lower()
    out["birthDate"] = p.date_of_birth.isoformat()
    out["managingOrganization"] = ref(p.clinic_id)
    return out


def _consent(c: Consent) -> list[dict[str, Any]]:
    extensions = [
        ext("consent-text-version", valueString=c.text_version),
        ext("consent-text-sha256", valueString=c.text_sha256),
        ext("signature-text", valueString=c.signature),
    ]
    if c.witness_name:
        extensions.append(ext("witness-name", valueString=c.witness_name))
    if c.withdrawn_at:
        extensions.append(ext("withdrawn-at", valueDateTime=instant(c.withdrawn_at)))
    consent: dict[str, Any] = {
        "resourceType": "Consent",
        "id": str(c.id),
        "extension": extensions,
        "status": "inactive" if c.withdrawn_at else "active",
        "scope": {"coding": [{"system": CONSENT_SCOPE, "code": "treatment"}]},
        "category": [{"coding": [{"system": LOINC, "code": CONSENT_LOINC}]}],
        "patient": ref(c.patient_id),
        "dateTime": instant(c.signed_at),
        "organization": [ref(c.clinic_id)],
        "policyRule": {"text": f"consent text version {c.text_version}"},
        "sourceAttachment": {
            "contentType": "text/plain; charset=utf-8",
            "data": base64.b64encode(c.text.encode("utf-8")).decode("ascii"),
            "title": f"consent text version {c.text_version}",
        }
        if c.text is not None
        else None,
        "provision": {"code": [{"coding": [{"system": CS + "procedure", "code": c.procedure}]}]},
    }
    signature: dict[str, Any] = {
        "type": [{"system": SIGNATURE_TYPE, "code": "1.2.840.10065.1.12.1.7"}],
        "when": instant(c.signed_at),
        "who": ref(c.patient_id),
    }
    if c.signature_png:
        signature["sigFormat"] = "image/png"
        signature["data"] = base64.b64encode(c.signature_png).decode("ascii")
    provenance = {
        "resourceType": "Provenance",
        "id": derived_id(c.id, "signature"),
        "target": [ref(c.id)],
        "recorded": instant(c.signed_at),
        "agent": [{"who": ref(c.patient_id)}],
        "signature": [signature],
    }
    return [_drop_none(consent), provenance]


def _medication(vial: Vial, lot: ProductLot) -> dict[str, Any]:
    extensions = [
        ext("vial-label", valueString=vial.label),
        ext("lot-id", valueString=str(lot.id)),
        ext("diluent", valueString=vial.diluent),
        ext("reconstituted-at", valueDateTime=instant(vial.reconstituted_at)),
        ext("beyond-use-policy", valueCode=vial.beyond_use_policy),
        ext("beyond-use-at", valueDateTime=instant(vial.beyond_use_at)),
        ext("units-drawn", valueDecimal=vial.units_drawn),
    ]
    if vial.units_wasted is not None:
        extensions.append(ext("units-wasted", valueDecimal=vial.units_wasted))
    if vial.discarded_at is not None:
        extensions.append(ext("discarded-at", valueDateTime=instant(vial.discarded_at)))
    if vial.discard_reason is not None:
        extensions.append(ext("discard-reason", valueString=vial.discard_reason))
    if vial.opened_by is not None:
        extensions.append(ext("opened-by", valueReference=ref(vial.opened_by)))
    return {
        "resourceType": "Medication",
        "id": str(vial.id),
        "extension": extensions,
        "code": {"coding": [{"system": CS + "product", "code": lot.product}]},
        "status": "inactive" if vial.discarded_at else "active",
        "amount": {
            "numerator": quantity_units(vial.vial_units),
            "denominator": {
                "value": vial.diluent_ml,
                "unit": "mL",
                "system": UCUM,
                "code": "mL",
            },
        },
        "batch": {"lotNumber": lot.lot_number, "expirationDate": lot.expires_on.isoformat()},
    }


def _encounter(s: TreatmentSession) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": derived_id(s.id, "encounter"),
        "extension": [ext("scheduled-at", valueDateTime=instant(s.scheduled_at))],
        "status": "planned" if s.status == "planned" else "finished",
        "class": {"system": V3_ACT_CODE, "code": "AMB"},
        "subject": ref(s.patient_id),
        "participant": [{"individual": ref(s.injector_id)}],
    }
    if s.performed_at is not None:
        out["period"] = {"start": instant(s.performed_at)}
    out["serviceProvider"] = ref(s.clinic_id)
    return out


def _session_product(f: ProductFigures, derived: bool) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [
        {"url": "product", "valueCode": f.product},
        {"url": "planned-points", "valueInteger": f.planned_points},
        {"url": "planned-units", "valueDecimal": f.planned_units},
    ]
    if f.charted_points is not None:
        parts.append({"url": "charted-points", "valueInteger": f.charted_points})
    if f.total_units is not None:
        parts.append({"url": "total-units", "valueDecimal": f.total_units})
    if derived:
        parts.append({"url": "derived", "valueBoolean": True})
    return ext("session-product", extension=parts)


def _procedure(
    s: TreatmentSession,
    vial_ids: list[uuid.UUID],
    products: tuple[tuple[ProductFigures, ...], bool],
) -> dict[str, Any]:
    figures, derived = products
    extensions = [
        ext("session-status", valueCode=s.status),
        # The lead (first) product's: each product's own figures are the session-product
        # extensions (units of two products are never added).
        ext("product", valueCode=s.product),
        ext("planned-units", valueDecimal=s.planned_units),
        *(_session_product(f, derived) for f in figures),
        ext("plan", valueString=canonical_text(s.plan)),
        # Part of what a signature binds (the signed content hash covers it).
        ext("created-at", valueDateTime=instant(s.created_at)),
    ]
    if s.botox_equivalent_units is not None:
        extensions.append(ext("botox-equivalent-units", valueDecimal=s.botox_equivalent_units))
    if s.numbing is not None:
        extensions.append(ext("numbing", valueString=s.numbing))
    out: dict[str, Any] = {
        "resourceType": "Procedure",
        "id": str(s.id),
        "extension": extensions,
        "status": "preparation" if s.status == "planned" else "completed",
        "code": {
            "coding": [{"system": CS + "procedure", "code": s.procedure}],
            "text": PROCEDURE_TEXT,
        },
        "subject": ref(s.patient_id),
        "encounter": ref(derived_id(s.id, "encounter")),
    }
    if s.performed_at is not None:
        out["performedDateTime"] = instant(s.performed_at)
    out["performer"] = [{"actor": ref(s.injector_id)}]
    zones = list(dict.fromkeys(p.zone for p in s.points))
    if zones:
        out["bodySite"] = [body_site(z) for z in zones]
    if s.aftercare is not None:
        out["followUp"] = [{"text": s.aftercare}]
    if vial_ids:
        out["usedReference"] = [ref(v) for v in vial_ids]
    return out


def _point_extension(p: ChartPoint) -> dict[str, Any]:
    anchor = p.anchor
    return ext(
        "chart-point",
        extension=[
            {"url": "id", "valueString": str(p.id)},
            {"url": "number", "valueInteger": p.number},
            {"url": "position-mm", "valueString": floats_text((p.x_mm, p.y_mm, p.z_mm))},
            {
                "url": "anchor",
                "valueString": " ".join(str(int(v)) for v in anchor["vertices"])
                + " / "
                + floats_text(anchor["weights"]),
            },
            {"url": "volume-ul", "valueDecimal": p.volume_ul},
            {"url": "units", "valueDecimal": p.units},
        ],
    )


def _administrations(
    s: TreatmentSession, product_of_vial: dict[uuid.UUID, str]
) -> list[dict[str, Any]]:
    """One MedicationAdministration per zone, vial, technique, depth and mix, in point order:
    each of one vial, so of one product and one lot, its dose in that product's units."""
    groups: dict[tuple[str, uuid.UUID, str, str, str], list[ChartPoint]] = defaultdict(list)
    for p in s.points:
        groups[(p.zone, p.vial_id, p.technique, p.depth, p.mix)].append(p)
    out = []
    for (zone, vial_id, technique, depth, mix), points in groups.items():
        units = sum((p.units for p in points), Decimal(0))
        volume = sum((p.volume_ul for p in points), Decimal(0))
        product = product_of_vial[vial_id]
        dosage: dict[str, Any] = {
            "text": (
                f"{product}: {len(points)} points, {volume.normalize():f} µL, "
                f"{units.normalize():f} U"
            ),
            "site": body_site(zone),
        }
        method = {"coding": [{"system": CS + "technique", "code": technique}], "text": depth}
        by = route(technique)
        if by is not None:
            dosage["route"] = by
        dosage["method"] = method
        # Units of this product only (UCUM [U] is product-specific: never add across products).
        dosage["dose"] = quantity_units(units) | {"unit": f"U ({product})"}
        key = f"{zone}|{vial_id}|{technique}|{depth}|{mix}"
        out.append(
            {
                "resourceType": "MedicationAdministration",
                "id": derived_id(s.id, key),
                "extension": [ext("mix", valueString=mix)] + [_point_extension(p) for p in points],
                "status": "completed",
                "medicationReference": ref(vial_id),
                "subject": ref(s.patient_id),
                "context": ref(derived_id(s.id, "encounter")),
                "effectiveDateTime": instant(s.performed_at) if s.performed_at else None,
                "performer": [{"actor": ref(s.injector_id)}],
                "dosage": dosage,
            }
        )
    return out


def _pain(s: TreatmentSession) -> dict[str, Any]:
    assert s.performed_at is not None and s.pain_score is not None
    return {
        "resourceType": "Observation",
        "id": derived_id(s.id, "pain"),
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey"}]}],
        "code": {
            "coding": [{"system": LOINC, "code": PAIN_LOINC}],
            "text": "Pain severity 0-10",
        },
        "subject": ref(s.patient_id),
        "encounter": ref(derived_id(s.id, "encounter")),
        "effectiveDateTime": instant(s.performed_at),
        "valueInteger": s.pain_score,
        "partOf": [ref(s.id)],
    }


def _acknowledgement(a: FindingAcknowledgement, patient_id: uuid.UUID) -> dict[str, Any]:
    extensions = []
    if a.zone is not None:
        extensions.append(ext("finding-zone", valueCode=a.zone))
    if a.point_numbers:
        extensions.append(ext("finding-points", valueString=a.point_numbers))
    return {
        "resourceType": "DetectedIssue",
        "id": str(a.id),
        "extension": extensions or None,
        "status": "final",
        "code": {"coding": [{"system": CS + "finding", "code": a.code}], "text": a.title},
        "severity": SEVERITY_TO_FHIR[a.severity],
        "patient": ref(patient_id),
        "implicated": [ref(a.session_id)],
        "detail": a.reason,
        "mitigation": [
            {
                "action": {"coding": [{"system": CS + "mitigation", "code": "acknowledged"}]},
                "date": instant(a.acknowledged_at),
                "author": ref(a.acknowledged_by),
            }
        ],
    }


def _signature(s: TreatmentSession) -> dict[str, Any]:
    assert s.signed_at is not None and s.signed_by is not None
    out: dict[str, Any] = {"resourceType": "Provenance", "id": derived_id(s.id, "signature")}
    if s.signed_content_sha256 is not None:
        # What the signature binds: the hash of the signed chart (checked by audit verify).
        out["extension"] = [ext("signed-content-sha256", valueString=s.signed_content_sha256)]
    return out | {
        "target": [ref(s.id)],
        "recorded": instant(s.signed_at),
        "agent": [{"who": ref(s.signed_by)}],
        "signature": [
            {
                "type": [{"system": SIGNATURE_TYPE, "code": "1.2.840.10065.1.12.1.1"}],
                "when": instant(s.signed_at),
                "who": ref(s.signed_by),
            }
        ],
    }


def _amendment(a: Amendment) -> dict[str, Any]:
    return {
        "resourceType": "Provenance",
        "id": str(a.id),
        "extension": [
            ext("amendment-number", valueInteger=a.number),
            ext("before-digest", valueString=a.before_digest),
            ext("after-digest", valueString=a.after_digest),
            ext("before", valueString=canonical_text(a.before)),
        ],
        "target": [ref(a.session_id)],
        "recorded": instant(a.amended_at),
        "reason": [{"text": a.reason}],
        "activity": {"coding": [{"system": V3_DATA_OPERATION, "code": "UPDATE"}]},
        "agent": [{"who": ref(a.amended_by)}],
    }


def _adverse_event(e: AdverseEvent) -> dict[str, Any]:
    out: dict[str, Any] = {"resourceType": "AdverseEvent", "id": str(e.id)}
    if e.action is not None:
        out["extension"] = [ext("action-taken", valueString=e.action)]
    out["actuality"] = "actual"
    out["event"] = {
        "coding": [{"system": CS + "adverse-event-kind", "code": e.kind}],
        "text": e.kind.replace("_", " "),
    }
    out["subject"] = ref(e.patient_id)
    if e.session_id is not None:
        out["encounter"] = ref(derived_id(e.session_id, "encounter"))
    out["date"] = instant(e.onset_at)
    if e.recorded_by is not None:
        out["recorder"] = ref(e.recorded_by)
    out["severity"] = {"coding": [{"system": AE_SEVERITY, "code": e.severity}]}
    if e.outcome is not None:
        out["outcome"] = {"text": e.outcome}
    if e.session_id is not None:
        out["suspectEntity"] = [{"instance": ref(e.session_id)}]
    return out


def _appointment(f: FollowUp) -> dict[str, Any]:
    out: dict[str, Any] = {"resourceType": "Appointment", "id": str(f.id)}
    if f.completed_at is not None:
        out["extension"] = [ext("completed-at", valueDateTime=instant(f.completed_at))]
    out.update(
        {
            "status": FOLLOWUP_TO_FHIR[f.status],
            "serviceType": [{"coding": [{"system": CS + "followup-kind", "code": f.kind}]}],
            "description": f.basis,
            "supportingInformation": [ref(f.session_id)],
            "participant": [{"actor": ref(f.patient_id), "status": "needs-action"}],
            "requestedPeriod": [{"start": f.due_on.isoformat(), "end": f.due_on.isoformat()}],
        }
    )
    return out


def _media(photo: PhotoRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resourceType": "Media",
        "id": str(photo.id),
        "identifier": [{"system": PHOTO_SHA256, "value": photo.sha256}],
        "status": "completed",
        "subject": ref(photo.patient_id),
    }
    if photo.session_id is not None:
        out["encounter"] = ref(derived_id(photo.session_id, "encounter"))
    out["createdDateTime"] = instant(photo.taken_at)
    if photo.view is not None:
        out["view"] = {"text": photo.view}
    out["content"] = {"contentType": photo.media_type, "size": photo.size_bytes}
    return out


def _measurement(m: OutcomeMeasurement, photo: PhotoRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resourceType": "Observation",
        "id": str(m.id),
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "imaging"}]}],
        "code": {"coding": [{"system": CS + "skin-metric", "code": m.metric}], "text": m.metric},
        "subject": ref(photo.patient_id),
    }
    if m.session_id is not None:
        out["encounter"] = ref(derived_id(m.session_id, "encounter"))
    out["effectiveDateTime"] = instant(m.measured_at)
    out["valueQuantity"] = {"value": m.value, "unit": m.unit}
    if m.zone is not None:
        out["bodySite"] = body_site(m.zone)
    out["derivedFrom"] = [ref(photo.id)]
    return out


# --------------------------------------------------------------------------- bundle


def _resources(r: _Records) -> Iterable[dict[str, Any]]:
    yield _organization(r.clinic)
    yield from (_practitioner(s) for s in r.staff)
    yield from (_patient(p) for p in r.patients)
    for c in r.consents:
        yield from _consent(c)
    yield from (_medication(v, lot) for v, lot in r.vials)
    amendments: dict[uuid.UUID, list[Amendment]] = defaultdict(list)
    for a in r.amendments:
        amendments[a.session_id].append(a)
    acks: dict[uuid.UUID, list[FindingAcknowledgement]] = defaultdict(list)
    for k in r.acknowledgements:
        acks[k.session_id].append(k)
    followups: dict[uuid.UUID, list[FollowUp]] = defaultdict(list)
    for f in r.followups:
        followups[f.session_id].append(f)
    for s in r.sessions:
        yield _encounter(s)
        yield _procedure(s, sorted({p.vial_id for p in s.points}, key=str), r.products[s.id])
        yield from _administrations(s, r.product_of_vial)
        if s.pain_score is not None and s.performed_at is not None:
            yield _pain(s)
        yield from (_acknowledgement(k, s.patient_id) for k in acks[s.id])
        if s.status == "signed":
            yield _signature(s)
        yield from (_amendment(a) for a in amendments[s.id])
        yield from (_appointment(f) for f in followups[s.id])
    yield from (_adverse_event(e) for e in r.adverse_events)
    photos: dict[uuid.UUID, PhotoRecord] = {}
    for _, photo in r.measurements:
        photos.setdefault(photo.id, photo)
    yield from (_media(p) for p in photos.values())
    yield from (_measurement(m, photo) for m, photo in r.measurements)


def _drop_none(resource: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in resource.items() if v is not None}


def bundle_dict(
    db: Database,
    clinic_id: uuid.UUID,
    *,
    actor: str,
    patient_id: uuid.UUID | None = None,
    since: datetime | None = None,
) -> dict[str, Any]:
    """The bundle as a JSON-ready dict (decimals as :class:`Decimal`); audited as an export."""
    with writing(db) as uow:
        records = _load(uow, clinic_id, patient_id, since)
        resources = [_drop_none(r) for r in _resources(records)]
        record_export(uow, clinic_id, actor=actor, what="fhir", patient_id=patient_id)
    scope = f"{clinic_id}/{patient_id or ''}/{instant(since) if since else ''}"
    return {
        "resourceType": "Bundle",
        "id": derived_id(clinic_id, "bundle/" + scope),
        "type": "collection",
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources],
    }


def fhir_bundle(
    db: Database,
    clinic_id: uuid.UUID,
    *,
    actor: str,
    patient_id: uuid.UUID | None = None,
    since: datetime | None = None,
) -> ExportFile:
    """One patient's record, the patients treated since a time, or the whole clinic, as a
    FHIR R4 Bundle (JSON)."""
    bundle = bundle_dict(db, clinic_id, actor=actor, patient_id=patient_id, since=since)
    name = "dosemap_fhir"
    if patient_id is not None:
        chart = next(
            e["resource"]["identifier"][0]["value"]
            for e in bundle["entry"]
            if e["resource"]["resourceType"] == "Patient"
        )
        name += f"_{chart}"
    if since is not None:
        name += "_since-" + since.strftime("%Y%m%d")
    return ExportFile(to_json(bundle), name + ".json", MEDIA_TYPE)
