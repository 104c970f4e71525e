"""The JSON API, ``/api/v1``: what the daily pages show, for scripts and other systems.

Authenticated by a personal access token (``Authorization: Bearer dm_pat_…``, made on the
Access tokens page) or a browser session (then POSTs carry ``X-CSRF-Token``). The OpenAPI
document is ``/api/v1/openapi.json``; ``tests/web/test_api_schema.py`` runs schemathesis
against it. Reads of a patient's record are access-logged like the pages'.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from fastapi import Depends, Request
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from dosemap.services.clinic_day import search_patients, today, unlogged_patient_record
from dosemap.web.security import router, signed_in_user
from dosemap.web.state import app_state

# Declares the bearer scheme in the OpenAPI document (authorise does the checking).
_bearer = HTTPBearer(auto_error=False, description="A personal access token (dm_pat_…)")
routes = router(
    prefix="/api/v1", include_in_schema=True, tags=["v1"], dependencies=[Depends(_bearer)]
)


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class Me(_Out):
    """Who the token or session acts for."""

    username: str
    display_name: str
    role: str
    scopes: list[str] | None = Field(description="the token's scopes; null for a session")


class ProductUnitsOut(_Out):
    product: str
    planned_units: Decimal


class SessionOut(_Out):
    session_id: uuid.UUID
    scheduled_at: datetime
    status: str
    product: str = Field(description="the lead (first) product; every product is in products")
    planned_units: Decimal = Field(description="the lead product's planned units")
    products: list[ProductUnitsOut] = Field(
        description="every product of the session with its own planned units (never added)"
    )
    patient_id: uuid.UUID
    chart_number: str
    patient_name: str
    injector: str


class FollowUpOut(_Out):
    followup_id: uuid.UUID
    kind: str
    due_on: date
    patient_id: uuid.UUID
    chart_number: str
    patient_name: str
    phone: str | None


class VialOut(_Out):
    vial_id: uuid.UUID
    label: str
    product: str
    lot_number: str
    units_left: Decimal
    beyond_use_at: datetime


class LotOut(_Out):
    lot_id: uuid.UUID
    product: str
    lot_number: str
    expires_on: date


class TodayOut(_Out):
    """The Today page as data."""

    clinic_name: str
    day: date
    sessions: list[SessionOut]
    followups_due: list[FollowUpOut]
    open_vials: list[VialOut]
    lots_expiring: list[LotOut]


_PRINTABLE = r"^[^\x00-\x1f]*$"  # no control characters (the search refuses them too)


class PatientQuery(BaseModel):
    """A patient search (a POST body: names never go into a URL)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="", max_length=120, pattern=_PRINTABLE)
    chart_number: str = Field(default="", max_length=40, pattern=_PRINTABLE)
    date_of_birth: date | None = None
    limit: int = Field(default=50, ge=1, le=200)


class PatientOut(_Out):
    patient_id: uuid.UUID
    chart_number: str
    given_name: str
    family_name: str
    date_of_birth: date


class TimelineOut(_Out):
    at: datetime
    kind: str
    record_id: uuid.UUID
    summary: str


class PatientRecordOut(PatientOut):
    """One patient's record (the read is access-logged)."""

    sex: str | None
    phone: str | None
    email: str | None
    fitzpatrick_type: int | None
    skin_type: str | None
    consent_on_file: bool
    timeline: list[TimelineOut]


@routes.get("/me", name="api_me", response_model=Me)
async def me(request: Request) -> Me:
    """The caller."""
    user = signed_in_user(request)
    scopes = sorted(user.scopes) if user.scopes is not None else None
    return Me(username=user.username, display_name=user.display_name, role=user.role,
              scopes=scopes)  # fmt: skip


@routes.get("/today", name="api_today", response_model=TodayOut)
def api_today(request: Request) -> TodayOut:
    """Today's sessions, follow-ups due, open vials, lots expiring within 30 days."""
    user = signed_in_user(request)
    day = today(app_state(request).db, user.clinic_id)
    return TodayOut(
        clinic_name=day.clinic_name,
        day=day.day,
        sessions=[
            SessionOut(
                session_id=s.session_id, scheduled_at=s.scheduled_at, status=s.status,
                product=s.product, planned_units=s.planned_units,
                products=[ProductUnitsOut(product=p, planned_units=u) for p, u in s.products],
                patient_id=s.patient_id,
                chart_number=s.chart_number, patient_name=f"{s.given_name} {s.family_name}",
                injector=s.injector,
            )
            for s in day.sessions
        ],
        followups_due=[
            FollowUpOut(
                followup_id=f.followup_id, kind=f.kind, due_on=f.due_on, patient_id=f.patient_id,
                chart_number=f.chart_number, patient_name=f"{f.given_name} {f.family_name}",
                phone=f.phone,
            )
            for f in day.followups_due
        ],
        open_vials=[
            VialOut(
                vial_id=v.vial_id, label=v.label, product=v.product, lot_number=v.lot_number,
                units_left=v.vial_units - v.units_drawn, beyond_use_at=v.beyond_use_at,
            )
            for v in day.open_vials
        ],
        lots_expiring=[
            LotOut(lot_id=lot.lot_id, product=lot.product, lot_number=lot.lot_number,
                   expires_on=lot.expires_on)
            for lot in day.lots_expiring
        ],
    )  # fmt: skip


@routes.post("/patients/search", name="api_patients_search", response_model=list[PatientOut])
async def api_patients_search(request: Request, query: PatientQuery) -> list[PatientOut]:
    """The clinic's patients matching every given criterion (names by prefix). Each patient
    in the answer is access-logged (one entry each, one transaction) before it is sent."""
    user = signed_in_user(request)
    state = app_state(request)
    rows = await run_in_threadpool(
        search_patients,
        state.db,
        user.clinic_id,
        name=query.name,
        chart_number=query.chart_number,
        date_of_birth=query.date_of_birth,
        limit=query.limit,
    )
    await state.access_log.log_many(
        clinic_id=user.clinic_id, user_id=user.user_id, entity="patient",
        entity_ids=[r.patient_id for r in rows], via="api:patients_search",
    )  # fmt: skip
    return [
        PatientOut(patient_id=r.patient_id, chart_number=r.chart_number, given_name=r.given_name,
                   family_name=r.family_name, date_of_birth=r.date_of_birth)
        for r in rows
    ]  # fmt: skip


@routes.get(
    "/patients/{patient_id}",
    name="api_patient",
    response_model=PatientRecordOut,
    responses={404: {"description": "No such patient in the caller's clinic"}},
)
async def api_patient(request: Request, patient_id: uuid.UUID) -> PatientRecordOut:
    """One patient's record; the read is committed to the access log before it is sent."""
    user = signed_in_user(request)
    state = app_state(request)
    p = await run_in_threadpool(unlogged_patient_record, state.db, user.clinic_id, patient_id)
    await state.access_log.log(
        clinic_id=user.clinic_id, user_id=user.user_id, entity="patient",
        entity_id=patient_id, via="api:patient",
    )  # fmt: skip
    return PatientRecordOut(
        patient_id=p.patient_id, chart_number=p.chart_number, given_name=p.given_name,
        family_name=p.family_name, date_of_birth=p.date_of_birth, sex=p.sex, phone=p.phone,
        email=p.email, fitzpatrick_type=p.fitzpatrick_type, skin_type=p.skin_type,
        consent_on_file=p.consent.on_file,
        timeline=[TimelineOut(at=e.at, kind=e.kind, record_id=e.record_id, summary=e.summary)
                  for e in p.timeline],
    )  # fmt: skip
