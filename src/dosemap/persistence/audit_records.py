"""Every audited record's current state checked against its last audit entry.

The log holds, for each write, keyed digests of the record as written (one per field). Here the
same digests are recomputed from what the tables hold now, in a few whole-table queries (no
round trip per record), and every difference is named: the table, the record id and, where the
fields differ, which ones. A record with no entry (invented outside the services) and an entry
whose record is gone (deleted outside them) are named too. Signed sessions are also checked
against the hash of the content that was signed.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dosemap.persistence.audit import (
    LastEntry,
    canonical_json,
    digest,
    field_digests,
    record_digest,
)
from dosemap.persistence.audit_key import AuditKeys
from dosemap.persistence.models import (
    AdverseEvent,
    Amendment,
    Base,
    ChartPoint,
    ChartTap,
    Clinic,
    ClinicGroup,
    ClinicGroupMember,
    Consent,
    ConsentText,
    Credential,
    FindingAcknowledgement,
    FollowUp,
    FollowUpContact,
    IntakeRecord,
    OutcomeMeasurement,
    Patient,
    PhotoRecord,
    PlanAcknowledgement,
    ProcedurePolicy,
    ProductLot,
    SessionProduct,
    SessionVialUsage,
    SiteGrant,
    Staff,
    TreatmentSession,
    Vial,
)

#: The audit log's entity name for each audited table (a session's entry covers its chart
#: points and vial usage too).
ENTITIES: dict[str, type[Base]] = {
    "clinic": Clinic,
    "staff": Staff,
    "credential": Credential,
    "procedure_policy": ProcedurePolicy,
    "patient": Patient,
    "intake": IntakeRecord,
    "consent": Consent,
    "consent_text": ConsentText,
    "lot": ProductLot,
    "vial": Vial,
    "session": TreatmentSession,
    "amendment": Amendment,
    "finding_acknowledgement": FindingAcknowledgement,
    "followup": FollowUp,
    "followup_contact": FollowUpContact,
    "adverse_event": AdverseEvent,
    "photo": PhotoRecord,
    "measurement": OutcomeMeasurement,
    "plan_acknowledgement": PlanAcknowledgement,
    "chart_tap": ChartTap,
    "clinic_group": ClinicGroup,
    "clinic_group_member": ClinicGroupMember,  # its id is the member clinic's
    "site_grant": SiteGrant,
}
#: Tables covered through another record's entry, and the log's own tables.
COVERED_BY_SESSION = (ChartPoint, SessionVialUsage, SessionProduct)

#: Session fields a signature does not cover: the signature itself and bookkeeping.
_NOT_SIGNED = frozenset(
    {"status", "signed_at", "signed_by", "signed_content_sha256", "version", "updated_at"}
)


def signed_content(snap: Mapping[str, Any]) -> dict[str, Any]:
    """What a signature covers, from a session snapshot: the chart (points, vial usage) and the
    session's clinical fields, not the signature fields."""
    session = {k: v for k, v in snap["session"].items() if k not in _NOT_SIGNED}
    content = {"session": session, "points": snap["points"], "usage": snap["usage"]}
    if snap.get("products"):  # absent for sessions signed before products were kept
        content["products"] = snap["products"]
    return content


def signed_content_sha256(snap: Mapping[str, Any], encoded: Mapping[str, str] | None = None) -> str:
    """SHA-256 of :func:`signed_content` (canonical on both back ends). ``encoded`` may hold
    the canonical JSON of ``points`` and ``usage`` already made: the result is the same."""
    if encoded is None:
        return digest(signed_content(snap))
    # canonical_json of the whole, assembled from its parts (keys in sorted order).
    session = ",".join(
        f"{json.dumps(k, ensure_ascii=False)}:{encoded[f'session.{k}']}"
        for k in sorted(snap["session"])
        if k not in _NOT_SIGNED
    )
    products = f'"products":{encoded["products"]},' if "products" in encoded else ""
    text = (
        f'{{"points":{encoded["points"]},{products}"session":{{{session}}},'
        f'"usage":{encoded["usage"]}}}'
    )

    return hashlib.sha256(text.encode()).hexdigest()


def _columns(model: type[Base]) -> list[Any]:
    mapper = model.__mapper__
    return [attr.columns[0].label(attr.key) for attr in mapper.column_attrs]


def _rows(session: Session, model: type[Base], *order: Any) -> Iterator[dict[str, Any]]:
    q = select(*_columns(model))
    if order:
        q = q.order_by(*order)
    # Core on the session's connection: the ORM's result machinery costs ~1 s on 18,000 rows.
    result = session.connection().execute(q)
    keys = list(result.keys())
    for row in result:
        yield dict(zip(keys, row, strict=True))


def snapshots(session: Session) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """``(entity, record id, snapshot)`` for every audited record, as the services snapshot it
    when writing (sessions with their chart points and vial usage)."""
    points: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for p in _rows(session, ChartPoint, ChartPoint.session_id, ChartPoint.number):
        points[p["session_id"]].append(p)
    usage: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for u in _rows(
        session, SessionVialUsage, SessionVialUsage.session_id, SessionVialUsage.vial_id
    ):
        usage[u["session_id"]].append(u)
    products: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for p in _rows(session, SessionProduct, SessionProduct.session_id, SessionProduct.position):
        products[p["session_id"]].append(p)
    for entity, model in ENTITIES.items():
        (pk,) = (str(c.key) for c in model.__mapper__.primary_key)  # one-column keys only
        for row in _rows(session, model):
            if model is TreatmentSession:
                snap = {
                    "session": row,
                    "points": points.pop(row["id"], []),
                    "usage": usage.pop(row["id"], []),
                }
                mine = products.pop(row["id"], [])
                if mine:
                    snap["products"] = mine
                yield entity, str(row["id"]), snap
            else:
                yield entity, str(row[pk]), row
    for sid in points.keys() | products.keys():  # chart rows whose session is gone
        yield "session", str(sid), {"session": None, "points": points.get(sid, []), "usage": []}


@dataclass(frozen=True)
class RecordProblem:
    """A record that differs from its last audit entry."""

    table: str
    record_id: str
    problem: str
    #: The record's clinic (``None`` when nothing left says which).
    clinic_id: uuid.UUID | None = field(default=None, compare=False)

    def __str__(self) -> str:
        return f"{self.table} {self.record_id}: {self.problem}"


def _clinic_of(entity: str, snap: Mapping[str, Any], entry: LastEntry | None) -> uuid.UUID | None:
    """Whose record this is: its own ``clinic_id`` (a clinic's is its id), else its last
    entry's."""
    row = snap.get("session", snap) if entity == "session" else snap
    found = None
    if row is not None:
        found = row.get("id") if entity == "clinic" else row.get("clinic_id")
    if found is None and entry is not None:
        return entry.clinic_id
    return found if found is None or isinstance(found, uuid.UUID) else uuid.UUID(str(found))


_FIELD_NAMES = {"points": "chart points", "usage": "vial usage", "products": "session products"}


def _changed(before: Mapping[str, str] | None, now: Mapping[str, str]) -> list[str]:
    if before is None:
        return []
    names = sorted(k for k in set(before) | set(now) if before.get(k) != now.get(k))
    return [_FIELD_NAMES.get(n, n.removeprefix("session.")) for n in names]


def check_records(
    session: Session, last: Mapping[tuple[str, str], LastEntry], keys: AuditKeys
) -> tuple[int, list[RecordProblem], dict[uuid.UUID | None, int]]:
    """Compare every audited record with its last entry; returns (records checked, problems,
    how many of the records checked each clinic's are: ``None`` for those of no clinic)."""
    problems: list[RecordProblem] = []
    seen: set[tuple[str, str]] = set()
    count = 0
    by_clinic: dict[uuid.UUID | None, int] = {}
    for entity, rid, snap in snapshots(session):
        table = ENTITIES[entity].__tablename__
        count += 1
        seen.add((entity, rid))
        entry = last.get((entity, rid))
        clinic = _clinic_of(entity, snap, entry)
        by_clinic[clinic] = by_clinic.get(clinic, 0) + 1
        if entity == "session" and snap["session"] is None:
            problems.append(
                RecordProblem(
                    table, rid, "chart points remain but the session is gone (deleted)", clinic
                )
            )
            continue
        if entry is None:
            problems.append(
                RecordProblem(table, rid, "has no audit entry (written outside dosemap?)", clinic)
            )
            continue
        if entry.key_id not in keys.by_id:
            continue  # the chain check names the unknown key
        if entry.after_digest is None:
            problems.append(
                RecordProblem(table, rid, f"exists, but audit entry {entry.seq} removed it", clinic)
            )
            continue
        encoded = None
        if entity == "session":  # encoded once, for the field digests and the signed content
            encoded = {f"session.{k}": canonical_json(v) for k, v in snap["session"].items()}
            encoded["points"] = canonical_json(snap["points"])
            encoded["usage"] = canonical_json(snap["usage"])
            if "products" in snap:
                encoded["products"] = canonical_json(snap["products"])
        fields = field_digests(snap, keys, entry.key_id, encoded)
        if record_digest(fields) != entry.after_digest:
            changed = _changed(entry.after_fields, fields)
            what = f": {', '.join(changed)}" if changed else ""
            problems.append(
                RecordProblem(
                    table,
                    rid,
                    f"differs from its last audit entry {entry.seq} ({entry.action}){what}",
                    clinic,
                )
            )
        if entity == "session":
            problems.extend(
                replace(p, clinic_id=clinic)
                for p in _signature_problems(table, rid, snap, entry, encoded)
            )
    for (entity, rid), entry in last.items():
        if (entity, rid) in seen or entity not in ENTITIES or entry.after_digest is None:
            continue
        problems.append(
            RecordProblem(
                ENTITIES[entity].__tablename__,
                rid,
                f"is missing, but audit entry {entry.seq} ({entry.action}) wrote it (deleted?)",
                entry.clinic_id,
            )
        )
    return count, problems, by_clinic


def _signature_problems(
    table: str,
    rid: str,
    snap: Mapping[str, Any],
    entry: LastEntry,
    encoded: Mapping[str, str] | None,
) -> list[RecordProblem]:
    row = snap["session"]
    stored = row.get("signed_content_sha256")
    if row.get("status") != "signed":
        if stored is not None:
            return [
                RecordProblem(
                    table, rid, f"carries a signature but its status is {row.get('status')}"
                )
            ]
        return []
    problems = []
    content = signed_content_sha256(snap, encoded)
    if stored != content:
        problems.append(RecordProblem(table, rid, "signed content changed since it was signed"))
    if entry.content_sha256 is not None and entry.content_sha256 != stored:
        problems.append(
            RecordProblem(
                table, rid, f"signature's content hash differs from audit entry {entry.seq}"
            )
        )
    return problems
