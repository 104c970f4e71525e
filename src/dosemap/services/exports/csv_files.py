"""CSV exports of sessions, chart points, vials and adverse events for spreadsheets and audits.

The columns are fixed (the ``*_COLUMNS`` tuples; ``docs/exports.md`` describes each) and only
ever added to at the end. Files are UTF-8 with a header row and CRLF line ends (RFC 4180);
doses are exact decimals (``0.2``), times ISO 8601 in UTC. Patients appear by chart number
only. A free-text cell that a spreadsheet would run as a formula (starting with ``=``, ``+``,
``-``, ``@``, tab or carriage return) is written with a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

from dosemap.domain.concentration import reconstitute
from dosemap.persistence.db import Database
from dosemap.persistence.unit_of_work import writing
from dosemap.services.exports._common import (
    ExportFile,
    day_text,
    plain_decimal,
    record_export,
    utc_text,
)
from dosemap.services.sessions import product_figures
from dosemap.services.vials import units_left

MEDIA_TYPE = "text/csv; charset=utf-8"

SESSION_COLUMNS = (
    "session_id",
    "chart_number",
    "status",
    "procedure",
    "product",
    "injector",
    "scheduled_at",
    "performed_at",
    "points",
    "planned_units",
    "total_units",
    "botox_equivalent_units",
    "total_volume_ul",
    "pain_score",
    "numbing",
    "signed_at",
    "signed_by",
    "amendments",
    "session_products",
    "product_index",
)
POINT_COLUMNS = (
    "session_id",
    "chart_number",
    "performed_at",
    "number",
    "zone",
    "x_mm",
    "y_mm",
    "z_mm",
    "technique",
    "depth",
    "volume_ul",
    "units",
    "mix",
    "vial_label",
    "lot_number",
    "product",
)
VIAL_COLUMNS = (
    "vial_id",
    "label",
    "product",
    "lot_number",
    "lot_expires_on",
    "vial_units",
    "diluent",
    "diluent_ml",
    "units_per_ml",
    "reconstituted_at",
    "beyond_use_policy",
    "beyond_use_at",
    "units_drawn",
    "sessions",
    "units_charted",
    "units_wasted",
    "units_left",
    "discarded_at",
    "discard_reason",
)
ADVERSE_EVENT_COLUMNS = (
    "adverse_event_id",
    "chart_number",
    "session_id",
    "kind",
    "severity",
    "onset_at",
    "action",
    "outcome",
)

_Q = Decimal("0.0001")  # stock U/mL: 100 U in 3 mL is 33.3333 U/mL
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str | None) -> str:
    """Free text made safe for a spreadsheet (never read as a formula)."""
    if not value:
        return ""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _csv(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        assert len(row) == len(columns)
        writer.writerow(row)
    return buffer.getvalue().encode("utf-8")


def _name(kind: str, since: datetime | None, chart_number: str | None) -> str:
    parts = ["dosemap", kind]
    if chart_number:
        parts.append(chart_number)
    if since is not None:
        parts.append("since-" + since.strftime("%Y%m%d"))
    return "_".join(parts) + ".csv"


def sessions_csv(
    db: Database,
    clinic_id: uuid.UUID,
    *,
    actor: str,
    patient_id: uuid.UUID | None = None,
    since: datetime | None = None,
) -> ExportFile:
    """One row per product of each treatment session (of one patient, or the clinic's; since a
    time): a session of one product has one row."""
    with writing(db) as uow:
        chart = uow.patients.get(clinic_id, patient_id).chart_number if patient_id else None
        sessions = uow.exports.sessions(clinic_id, patient_id=patient_id, since=since)
        charts = {p.id: p.chart_number for p in uow.exports.patients(clinic_id)}
        staff = {s.id: s.display_name for s in uow.exports.staff(clinic_id)}
        product_of_vial = {v.id: lot.product for v, lot in uow.exports.vials(clinic_id)}
        figures = product_figures(uow, sessions)
        rows = []
        for s in sessions:
            # One row per product of the session, each with its own points, units and µL:
            # units of two products are never added into one figure.
            mine = figures[s.id]
            for index, f in enumerate(mine, start=1):
                points = [p for p in s.points if product_of_vial[p.vial_id] == f.product]
                rows.append(
                    (
                        str(s.id),
                        charts[s.patient_id],
                        s.status,
                        s.procedure,
                        f.product,
                        _text(staff[s.injector_id]),
                        utc_text(s.scheduled_at),
                        utc_text(s.performed_at),
                        str(len(points)),
                        plain_decimal(f.planned_units),
                        plain_decimal(f.total_units),
                        plain_decimal(s.botox_equivalent_units),
                        plain_decimal(sum((p.volume_ul for p in points), Decimal(0)))
                        if points
                        else "",
                        "" if s.pain_score is None else str(s.pain_score),
                        _text(s.numbing),
                        utc_text(s.signed_at),
                        _text(staff[s.signed_by]) if s.signed_by else "",
                        str(s.amendment_count),
                        str(len(mine)),
                        str(index),
                    )
                )
        record_export(uow, clinic_id, actor=actor, what="sessions_csv", patient_id=patient_id)
    return ExportFile(_csv(SESSION_COLUMNS, rows), _name("sessions", since, chart), MEDIA_TYPE)


def points_csv(
    db: Database,
    clinic_id: uuid.UUID,
    *,
    actor: str,
    patient_id: uuid.UUID | None = None,
    since: datetime | None = None,
) -> ExportFile:
    """One row per charted droplet, with the vial and lot it came from."""
    with writing(db) as uow:
        chart = uow.patients.get(clinic_id, patient_id).chart_number if patient_id else None
        sessions = uow.exports.sessions(clinic_id, patient_id=patient_id, since=since)
        charts = {p.id: p.chart_number for p in uow.exports.patients(clinic_id)}
        vials = {v.id: (v, lot) for v, lot in uow.exports.vials(clinic_id)}
        rows = []
        for s in sessions:
            for p in s.points:
                vial, lot = vials[p.vial_id]
                rows.append(
                    (
                        str(s.id),
                        charts[s.patient_id],
                        utc_text(s.performed_at),
                        str(p.number),
                        p.zone,
                        f"{p.x_mm:.2f}",
                        f"{p.y_mm:.2f}",
                        f"{p.z_mm:.2f}",
                        p.technique,
                        _text(p.depth),
                        plain_decimal(p.volume_ul),
                        plain_decimal(p.units),
                        _text(p.mix),
                        _text(vial.label),
                        _text(lot.lot_number),
                        lot.product,
                    )
                )
        record_export(uow, clinic_id, actor=actor, what="points_csv", patient_id=patient_id)
    return ExportFile(_csv(POINT_COLUMNS, rows), _name("points", since, chart), MEDIA_TYPE)


def vials_csv(db: Database, clinic_id: uuid.UUID, *, actor: str) -> ExportFile:
    """One row per reconstituted vial: lot, dilution, beyond-use time, units drawn, charted,
    wasted and left (an inspection's vial log)."""
    with writing(db) as uow:
        charted = uow.exports.units_charted(clinic_id)
        rows = []
        for vial, lot in uow.exports.vials(clinic_id):
            sessions, units = charted.get(vial.id, (0, None))
            rows.append(
                (
                    str(vial.id),
                    _text(vial.label),
                    lot.product,
                    _text(lot.lot_number),
                    day_text(lot.expires_on),
                    plain_decimal(vial.vial_units),
                    _text(vial.diluent),
                    plain_decimal(vial.diluent_ml),
                    plain_decimal(
                        reconstitute(vial.vial_units, vial.diluent_ml).units_per_ml.quantize(_Q)
                    ),
                    utc_text(vial.reconstituted_at),
                    vial.beyond_use_policy,
                    utc_text(vial.beyond_use_at),
                    plain_decimal(vial.units_drawn),
                    str(sessions),
                    plain_decimal(units) if units is not None else "0",
                    plain_decimal(vial.units_wasted),
                    plain_decimal(units_left(vial)),
                    utc_text(vial.discarded_at),
                    _text(vial.discard_reason),
                )
            )
        record_export(uow, clinic_id, actor=actor, what="vials_csv")
    return ExportFile(_csv(VIAL_COLUMNS, rows), "dosemap_vials.csv", MEDIA_TYPE)


def adverse_events_csv(
    db: Database,
    clinic_id: uuid.UUID,
    *,
    actor: str,
    patient_id: uuid.UUID | None = None,
    since: datetime | None = None,
) -> ExportFile:
    """One row per adverse event."""
    with writing(db) as uow:
        chart = uow.patients.get(clinic_id, patient_id).chart_number if patient_id else None
        charts = {p.id: p.chart_number for p in uow.exports.patients(clinic_id)}
        events = uow.exports.adverse_events(
            clinic_id, patient_ids=[patient_id] if patient_id else None, since=since
        )
        rows = [
            (
                str(e.id),
                charts[e.patient_id],
                str(e.session_id) if e.session_id else "",
                e.kind,
                e.severity,
                utc_text(e.onset_at),
                _text(e.action),
                _text(e.outcome),
            )
            for e in events
        ]
        record_export(uow, clinic_id, actor=actor, what="adverse_events_csv", patient_id=patient_id)
    return ExportFile(
        _csv(ADVERSE_EVENT_COLUMNS, rows), _name("adverse_events", since, chart), MEDIA_TYPE
    )


#: Every CSV export by the name the CLI and the web app use.
TABLES = ("sessions", "points", "vials", "adverse_events")
