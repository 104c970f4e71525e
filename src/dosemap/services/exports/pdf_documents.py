"""The PDF documents: the clinician's treatment record, the patient's plan and aftercare sheet,
the consent form, and the lot and vial log for an inspection.

Each is a plain function returning an :class:`ExportFile` (A4 or US Letter), audited as an
export. Numbers are the record's, shown at a fixed precision: units to 0.01 U, µL and mL without
trailing zeros (``docs/exports.md``). The clinic's name, address, phone and logo head every page.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dosemap.domain import display
from dosemap.domain.atlas.zones import ZONES
from dosemap.domain.concentration import reconstitute
from dosemap.domain.errors import InvalidInputError
from dosemap.domain.evidence import Cited
from dosemap.domain.library.catalog import Library
from dosemap.domain.plan import MeshAnchor, Plan, PlannedPoint, SessionPlan, read_plan_document
from dosemap.persistence.db import Database
from dosemap.persistence.models import (
    ChartPoint,
    Clinic,
    Patient,
    ProductLot,
    Staff,
    TreatmentSession,
)
from dosemap.persistence.unit_of_work import writing
from dosemap.resources import document_data
from dosemap.services._common import now
from dosemap.services.exports._common import ExportFile, record_export
from dosemap.services.exports.pdf_engine import (
    MEDIA_TYPE,
    document_text,
    paper_size,
    render_pdf,
)

# --------------------------------------------------------------------------- number forms


def units_text(value: Decimal | None) -> str:
    """Units at 0.01 U as everywhere in dosemap (``0.2``, ``16.67``); an em dash for none."""
    return "—" if value is None else display.number(value, display.UNITS_PLACES)


def amount_text(value: Decimal | None, places: int = display.VOLUME_ML_PLACES) -> str:
    """A volume or concentration at ``places`` decimals, without trailing zeros."""
    return "—" if value is None else display.number(value, places)


class _Clock:
    """Times as the clinic reads them: its own time zone, to the minute."""

    def __init__(self, clinic: Clinic) -> None:
        try:
            self.zone = ZoneInfo(clinic.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            self.zone = ZoneInfo("UTC")

    def time(self, value: datetime | None) -> str:
        if value is None:
            return "—"
        local = value.astimezone(self.zone)
        return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or "")

    def day(self, value: datetime | date | None) -> str:
        if value is None:
            return "—"
        if isinstance(value, datetime):
            value = value.astimezone(self.zone).date()
        return value.isoformat()


def _clinic_head(clinic: Clinic) -> tuple[dict[str, Any], dict[str, bytes]]:
    head = {
        "name": clinic.name,
        "address_lines": [line for line in (clinic.address or "").splitlines() if line.strip()],
        "phone": clinic.phone,
        "logo": clinic.logo_png is not None,
    }
    return head, ({"logo.png": clinic.logo_png} if clinic.logo_png else {})


def _patient(p: Patient) -> dict[str, Any]:
    return {
        "name": f"{p.given_name} {p.family_name}",
        "chart": p.chart_number,
        "born": p.date_of_birth.isoformat(),
        "fitzpatrick": str(p.fitzpatrick_type) if p.fitzpatrick_type else "—",
        "skin": p.skin_type or "—",
    }


def _frame(
    clinic: Clinic, paper: str, footer: str, printed: datetime
) -> tuple[dict[str, Any], dict[str, bytes]]:
    head, images = _clinic_head(clinic)
    return {
        "paper": paper_size(paper),
        "clinic": head,
        "generated": _Clock(clinic).time(printed),
        "footer": footer,
        "text": document_text(),
    }, images


def _zone_name(zone_id: str) -> str:
    found = ZONES.get(zone_id)
    return found.name if found is not None else zone_id.replace("_", " ")


def _product_name(library: Library, product: str) -> str:
    try:
        return library.product(product).name
    except LookupError:
        return product


def charted_plan(row: TreatmentSession, points: list[ChartPoint]) -> Plan:
    """The session's plan with the charted points and totals recomputed from them (the picture
    shows what was done, not what was planned)."""
    from dosemap.domain.planning.planner import as_charted

    stored = read_plan_document(row.plan)
    if isinstance(stored, SessionPlan):
        # One plan only: the documents take a session of several products' charted plans
        # from services.sessions.safety_inputs.
        raise InvalidInputError(
            "session",
            f"{row.id} holds plans of {', '.join(stored.products)}",
            "a one-product session (safety_inputs gives every product's charted plan)",
        )
    plan = stored
    if not points:
        return plan
    charted = tuple(
        PlannedPoint(
            number=p.number,
            zone=p.zone,
            position_mm=(p.x_mm, p.y_mm, p.z_mm),
            anchor=MeshAnchor(
                vertices=tuple(p.anchor["vertices"]), weights=tuple(p.anchor["weights"])
            ),
            technique=p.technique,
            depth=p.depth,
            volume_ul=p.volume_ul,
            units=p.units,
        )
        for p in points
    )
    return as_charted(plan, charted)


def _picture(plan: Plan, library: Library) -> bytes | None:
    if not plan.points:
        return None
    from dosemap.services.photo_plan import plan_pictures

    drawn = plan_pictures(
        plan, png=False, svg=True, product_name=_product_name(library, plan.product)
    )
    return drawn.svg.encode("utf-8") if drawn.svg else None


def _product_key(index: int) -> str:
    """A session's product (plan) ``index`` as a key letter: A, B, C …"""
    return chr(ord("A") + index) if index < 26 else str(index + 1)


def _product_row(
    library: Library,
    key: str,
    plan: Plan,
    points: list[ChartPoint],
    lot_of: dict[uuid.UUID, ProductLot],
    *,
    charted: bool,
) -> dict[str, Any]:
    """One product of the session with its own dilution, lots, points, units and µL (the
    chart's once charted, else the plan's)."""
    mix = plan.mix
    volumes = [p.volume_ul for p in points] if charted else [p.volume_ul for p in plan.points]
    units = [p.units for p in points] if charted else [p.units for p in plan.points]
    lots = sorted({lot_of[p.vial_id].lot_number for p in points if p.vial_id in lot_of})
    return {
        "key": key,
        "name": _product_name(library, plan.product),
        "dilution": (
            f"{amount_text(mix.units_per_ml, display.CONCENTRATION_PLACES)} U/mL "
            f"({amount_text(mix.stock_vial_units)} U in {amount_text(mix.stock_diluent_ml)} mL)"
        ),
        "mix": points[0].mix if points else "—",
        "lots": ", ".join(lots) or "—",
        "points": str(len(volumes)),
        "units": units_text(sum(units, Decimal(0))),
        "volume_ul": amount_text(sum(volumes, Decimal(0)), display.VOLUME_UL_PLACES),
    }


def _pictures(
    session: SessionPlan, library: Library, images: dict[str, bytes]
) -> list[dict[str, str]]:
    """One picture per product (its own zones and points, numbered as in the lists), added to
    ``images``: ``{"file", "caption"}`` each."""
    out = []
    for index, one in enumerate(session.plans):
        svg = _picture(one, library)
        if svg is not None:
            name = f"plan-{index + 1}.svg"
            images[name] = svg
            caption = f"{_product_key(index)} {_product_name(library, one.product)}"
            out.append({"file": name, "caption": caption})
    return out


def _credential_line(staff: Staff) -> list[str]:
    return [
        f"{c.type} {c.number} ({c.jurisdiction}, expires {c.expires_on.isoformat()})"
        for c in sorted(staff.credentials, key=lambda c: (c.type, c.number))
    ]


# --------------------------------------------------------------------------- treatment record


@dataclass(frozen=True)
class _Loaded:
    clinic: Clinic
    row: TreatmentSession
    patient: Patient
    staff: dict[uuid.UUID, Staff]
    data: dict[str, Any]


def treatment_record_pdf(
    db: Database,
    clinic_id: uuid.UUID,
    session_id: uuid.UUID,
    library: Library,
    *,
    actor: str,
    paper: str = "a4",
) -> ExportFile:
    """The clinician's record of one session: patient, injector and credentials, product, lots,
    vials and dilution, the picture of the charted points, each point's volume and units,
    totals, numbing and pain, findings with their acknowledgements, signature and amendments."""
    from dosemap.domain.safety import evaluate
    from dosemap.resources import template_mesh
    from dosemap.services.sessions import safety_inputs

    printed = now()
    with writing(db) as uow:
        clinic = uow.clinics.get(clinic_id)
        row = uow.sessions.get_with_points(clinic_id, session_id)
        points = list(row.points)
        patient = uow.patients.get(clinic_id, row.patient_id)
        acks = uow.exports.acknowledgements([row.id])
        amendments = uow.exports.amendments([row.id])
        people = {row.injector_id, *(a.acknowledged_by for a in acks)}
        people |= {a.amended_by for a in amendments}
        if row.signed_by:
            people.add(row.signed_by)
        staff = {s.id: s for s in uow.exports.staff(clinic_id, people)}
        usage = uow.exports.vial_usage([row.id])
        vials = uow.exports.vials(clinic_id, [u.vial_id for u in usage])
        session, intake, context = safety_inputs(uow, row)
        record_export(
            uow, clinic_id, actor=actor, what="treatment_record_pdf", patient_id=patient.id
        )
    clock = _Clock(clinic)
    data, images = _frame(clinic, paper, f"{clinic.name} · session {row.id}", printed)
    used = {u.vial_id: u for u in usage}
    label = {v.id: v.label for v, _ in vials}
    lot_of = {v.id: lot for v, lot in vials}
    # The chart as charted, every product's plan (a session of one product is one plan): the
    # findings are checked on it, so a chart that differs from the plan is checked as charted.
    found = evaluate(session, library, intake=intake, context=context, mesh=template_mesh())
    findings = sorted(found, key=lambda f: f.sort_key())
    # Each plan (product) keyed A, B …: the per-point list marks each point's product by its key.
    key_of_number: dict[int, str] = {}
    for index, one in enumerate(session.plans):
        key_of_number |= {p.number: _product_key(index) for p in one.points}
    mine_of = [
        [p for p in points if key_of_number.get(p.number) == _product_key(i)]
        for i in range(len(session.plans))
    ]
    injector = staff[row.injector_id]
    data["patient"] = _patient(patient)
    data["injector"] = {"name": injector.display_name, "credentials": _credential_line(injector)}
    volume = sum((p.volume_ul for p in points), Decimal(0))
    products = [
        _product_row(library, _product_key(i), one, mine, lot_of, charted=bool(points))
        for i, (one, mine) in enumerate(zip(session.plans, mine_of, strict=True))
    ]
    data["products"] = products
    data["session"] = {
        "id": str(row.id),
        "status": row.status,
        "scheduled": clock.time(row.scheduled_at),
        "performed": clock.time(row.performed_at),
        "procedure": row.procedure,
        "product": ", ".join(p["name"] for p in products),
        "technique": ", ".join(sorted({p.technique for p in session.points}))
        or session.plans[0].technique,
        "points": str(len(points)),
        "volume_ul": amount_text(volume, display.VOLUME_UL_PLACES),
        # Each product's own units: units of two products are never added into one figure.
        "units": [f"{p['key']} {p['name']}: {p['units']}" for p in products]
        if len(products) > 1
        else [units_text(row.total_units)],
        "bec_units": units_text(row.botox_equivalent_units),
        "numbing": row.numbing or "—",
        "pain": "—" if row.pain_score is None else str(row.pain_score),
        "aftercare": row.aftercare or "—",
    }
    data["vials"] = [
        {
            "label": vial.label,
            "product": _product_name(library, lot.product),
            "lot": lot.lot_number,
            "lot_expiry": lot.expires_on.isoformat(),
            "vial_units": amount_text(vial.vial_units),
            "diluent": vial.diluent,
            "diluent_ml": amount_text(vial.diluent_ml),
            "units_per_ml": amount_text(
                reconstitute(vial.vial_units, vial.diluent_ml).units_per_ml,
                display.CONCENTRATION_PLACES,
            ),
            "reconstituted": clock.time(vial.reconstituted_at),
            "beyond_use": clock.time(vial.beyond_use_at),
            "units": units_text(used[vial.id].units),
        }
        for vial, lot in vials
    ]
    by_zone: dict[tuple[str, str], list[ChartPoint]] = defaultdict(list)
    for p in points:
        by_zone[(key_of_number.get(p.number, "?"), p.zone)].append(p)
    data["zones"] = [
        {
            "key": key,
            "zone": _zone_name(zone_id),
            "points": str(len(mine)),
            "volume_ul": amount_text(
                sum((p.volume_ul for p in mine), Decimal(0)), display.VOLUME_UL_PLACES
            ),
            "units": units_text(sum((p.units for p in mine), Decimal(0))),
        }
        for (key, zone_id), mine in sorted(by_zone.items(), key=lambda kv: kv[0][0])
    ]
    data["point_rows"] = [
        {
            "number": str(p.number),
            "key": key_of_number.get(p.number, "?"),
            "zone": _zone_name(p.zone),
            "volume_ul": amount_text(p.volume_ul, display.VOLUME_UL_PLACES),
            "units": units_text(p.units),
            "vial": label.get(p.vial_id, "?"),
        }
        for p in points
    ]
    matched: set[uuid.UUID] = set()
    rows = []
    for f in findings:
        key = (f.code, f.zone, " ".join(str(n) for n in f.point_numbers))
        ack = next((a for a in acks if (a.code, a.zone, a.point_numbers) == key), None)
        if ack is not None:
            matched.add(ack.id)
        rows.append(
            {
                "severity": str(f.severity),
                "code": f.code,
                "title": f.title,
                "message": f.message,
                "ack": None
                if ack is None
                else {
                    "by": staff[ack.acknowledged_by].display_name,
                    "at": clock.time(ack.acknowledged_at),
                    "reason": ack.reason,
                },
            }
        )
    data["findings"] = rows
    data["other_acks"] = [
        {
            "code": a.code,
            "by": staff[a.acknowledged_by].display_name,
            "at": clock.time(a.acknowledged_at),
            "reason": a.reason,
        }
        for a in acks
        if a.id not in matched
    ]
    signer = staff.get(row.signed_by) if row.signed_by else None
    data["signature"] = (
        None
        if signer is None
        else {
            "by": signer.display_name,
            "credential": "; ".join(_credential_line(signer)) or "—",
            "at": clock.time(row.signed_at),
        }
    )
    data["amendments"] = [
        {
            "number": str(a.number),
            "at": clock.time(a.amended_at),
            "by": staff[a.amended_by].display_name,
            "reason": a.reason,
            "before": a.before_digest[:16],
            "after": a.after_digest[:16],
        }
        for a in amendments
    ]
    data["pictures"] = _pictures(session, library, images)
    data["multi"] = len(session.plans) > 1
    pdf = render_pdf("treatment_record.typ", data, images=images, printed_at=printed)
    when = (row.performed_at or row.scheduled_at).strftime("%Y%m%d")
    name = f"treatment_record_{patient.chart_number}_{when}.pdf"
    return ExportFile(pdf, name, MEDIA_TYPE)


# --------------------------------------------------------------------------- aftercare sheet


def _statement(item: dict[str, Any]) -> dict[str, str]:
    return {"value": str(item["value"]), "source": str(item["source"]), "tag": str(item["tag"])}


def _cited(cited: Cited[str] | None, fallback: dict[str, Any]) -> dict[str, str]:
    if cited is None:
        return _statement(fallback)
    return {"value": cited.value, "source": cited.source, "tag": cited.tag.value}


def aftercare_pdf(
    db: Database,
    clinic_id: uuid.UUID,
    session_id: uuid.UUID,
    library: Library,
    *,
    actor: str,
    paper: str = "a4",
) -> ExportFile:
    """The patient's sheet in plain language: what was done (with the face picture), what to
    expect, what to avoid, warning signs and whom to call, and the next visits. Every
    statement is printed with its source and evidence tag."""
    from dosemap.services.sessions import safety_inputs

    printed = now()
    with writing(db) as uow:
        clinic = uow.clinics.get(clinic_id)
        row = uow.sessions.get_with_points(clinic_id, session_id)
        patient = uow.patients.get(clinic_id, row.patient_id)
        followups = [
            fu
            for fu, _ in uow.exports.followups(clinic_id, patient_ids=[patient.id])
            if fu.session_id == row.id and fu.status == "open"
        ]
        session = safety_inputs(uow, row)[0]  # the chart as charted, every product's plan
        record_export(uow, clinic_id, actor=actor, what="aftercare_pdf", patient_id=patient.id)
    clock = _Clock(clinic)
    text = document_text()["aftercare"]
    statements = document_data("aftercare.toml")
    data, images = _frame(clinic, paper, f"{clinic.name} · {patient.chart_number}", printed)
    several = len(session.plans) > 1
    # What to expect, from each plan's preset (a session of several products: each product's
    # own, named; the same preset once).
    onset: dict[str, dict[str, str]] = {}
    duration: dict[str, dict[str, str]] = {}
    for one in session.plans:
        protocol = None
        if one.protocol:
            try:
                protocol = library.protocol(one.protocol)
            except LookupError:
                protocol = None
        name = _product_name(library, one.product)
        for into, cited, fallback in (
            (onset, protocol.onset_days if protocol else None, "expect_default_onset"),
            (duration, protocol.duration if protocol else None, "expect_default_duration"),
        ):
            item = _cited(cited, statements[fallback])
            if several and cited is not None:
                item = {**item, "value": f"{name}: {item['value']}"}
            into.setdefault(item["value"], item)
    expect = [
        *onset.values(),
        *duration.values(),
        *(_statement(s) for s in statements["expect"]),
    ]
    avoid = [_statement(s) for s in statements["avoid"]]
    warning = [_statement(s) for s in statements["warning"]]
    used = dict.fromkeys(s["source"] for s in (*expect, *avoid, *warning))
    data["patient"] = _patient(patient)
    data["session"] = {
        "date": clock.day(row.performed_at or row.scheduled_at),
        "areas": ", ".join(_zone_name(z) for z in dict.fromkeys(p.zone for p in session.points)),
        "points": str(len(session.points)),
        "product": ", ".join(_product_name(library, p) for p in session.products),
    }
    data["expect"], data["avoid"], data["warning"] = expect, avoid, warning
    data["sources"] = [
        {"id": source_id, "citation": library.source(source_id).citation} for source_id in used
    ]
    labels = {"review": text["review"], "retreatment": text["retreatment"]}
    data["returns"] = [
        {"label": labels.get(fu.kind, fu.kind), "date": fu.due_on.isoformat()}
        for fu in sorted(followups, key=lambda f: f.due_on)
    ]
    data["pictures"] = _pictures(session, library, images)
    pdf = render_pdf("aftercare.typ", data, images=images, printed_at=printed)
    when = (row.performed_at or row.scheduled_at).strftime("%Y%m%d")
    return ExportFile(pdf, f"aftercare_{patient.chart_number}_{when}.pdf", MEDIA_TYPE)


# --------------------------------------------------------------------------- consent form


def consent_pdf(
    db: Database,
    clinic_id: uuid.UUID,
    consent_id: uuid.UUID,
    *,
    actor: str,
    paper: str = "a4",
) -> ExportFile:
    """The consent as signed: its text (checked against the fingerprint taken at signing), the
    typed and drawn signatures, the witness and whether it was withdrawn."""
    printed = now()
    with writing(db) as uow:
        clinic = uow.clinics.get(clinic_id)
        consent = uow.exports.consent(clinic_id, consent_id)
        patient = uow.patients.get(clinic_id, consent.patient_id)
        record_export(uow, clinic_id, actor=actor, what="consent_pdf", patient_id=patient.id)
    clock = _Clock(clinic)
    text = document_text()["consent"]
    data, images = _frame(clinic, paper, f"{clinic.name} · consent {consent.id}", printed)
    data["patient"] = _patient(patient)
    matches = (
        consent.text is not None
        and hashlib.sha256(consent.text.encode()).hexdigest() == consent.text_sha256
    )
    data["consent"] = {
        "procedure": consent.procedure,
        "version": consent.text_version,
        "signed_at": clock.time(consent.signed_at),
        "witness": consent.witness_name or "—",
        "withdrawn": clock.time(consent.withdrawn_at) if consent.withdrawn_at else text["active"],
        "text": consent.text,
        "text_matches": matches,
        "no_text": text["no_text"].replace("{version}", consent.text_version),
        "sha256": consent.text_sha256,
        "signature": consent.signature,
        "drawn": consent.signature_png is not None,
    }
    if consent.signature_png is not None:
        images["signature.png"] = consent.signature_png
    pdf = render_pdf("consent.typ", data, images=images, printed_at=printed)
    name = f"consent_{patient.chart_number}_{consent.signed_at:%Y%m%d}.pdf"
    return ExportFile(pdf, name, MEDIA_TYPE)


# --------------------------------------------------------------------------- lot and vial log


def vial_log_pdf(
    db: Database, clinic_id: uuid.UUID, *, actor: str, paper: str = "a4"
) -> ExportFile:
    """Every reconstituted vial by lot: dilution, beyond-use, units drawn, charted, wasted and
    left, with totals per lot (landscape, for an inspection)."""
    from dosemap.services.vials import units_left

    printed = now()
    with writing(db) as uow:
        clinic = uow.clinics.get(clinic_id)
        vials = uow.exports.vials(clinic_id)
        charted = uow.exports.units_charted(clinic_id)
        record_export(uow, clinic_id, actor=actor, what="vial_log_pdf")
    clock = _Clock(clinic)
    text = document_text()["vial_log"]
    data, images = _frame(clinic, paper, f"{clinic.name} · {text['title']}", printed)
    data["landscape"] = True
    lots: dict[uuid.UUID, dict[str, Any]] = {}
    sums: dict[uuid.UUID, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for vial, lot in sorted(vials, key=lambda vl: (vl[1].lot_number, vl[1].product)):
        entry = lots.setdefault(
            lot.id,
            {
                "lot_number": lot.lot_number,
                "product": lot.product,
                "expires": lot.expires_on.isoformat(),
                "vials": [],
            },
        )
        sessions, units = charted.get(vial.id, (0, Decimal(0)))
        left = units_left(vial)
        total = sums[lot.id]
        total["vial_units"] += vial.vial_units
        total["drawn"] += vial.units_drawn
        total["charted"] += units
        total["sessions"] += sessions
        total["wasted"] += vial.units_wasted or 0
        total["left"] += left
        entry["vials"].append(
            {
                "label": vial.label,
                "reconstituted": clock.time(vial.reconstituted_at),
                "beyond_use": clock.time(vial.beyond_use_at),
                "policy": vial.beyond_use_policy,
                "vial_units": amount_text(vial.vial_units),
                "diluent_ml": amount_text(vial.diluent_ml),
                "units_per_ml": amount_text(
                    reconstitute(vial.vial_units, vial.diluent_ml).units_per_ml,
                    display.CONCENTRATION_PLACES,
                ),
                "drawn": units_text(vial.units_drawn),
                "charted": units_text(units),
                "sessions": str(sessions),
                "wasted": units_text(vial.units_wasted or Decimal(0)),
                "left": units_text(left),
                "discarded": (
                    f"{clock.time(vial.discarded_at)}: {vial.discard_reason or ''}"
                    if vial.discarded_at
                    else text["open"]
                ),
            }
        )
    for lot_id, entry in lots.items():
        total = sums[lot_id]
        entry["totals"] = {
            "vial_units": amount_text(total["vial_units"]),
            "drawn": units_text(total["drawn"]),
            "charted": units_text(total["charted"]),
            "sessions": str(int(total["sessions"])),
            "wasted": units_text(total["wasted"]),
            "left": units_text(total["left"]),
        }
    data["lots"] = list(lots.values())
    pdf = render_pdf("vial_log.typ", data, images=images, printed_at=printed)
    return ExportFile(pdf, f"vial_log_{printed:%Y%m%d}.pdf", MEDIA_TYPE)
