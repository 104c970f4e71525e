"""A session of two products (plan file format 2): Botox on the forehead and glabella, Dysport
on the chin (under its 30 U preset ceiling), and an open Dysport vial to chart it from."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from dosemap.domain.library import Library
from dosemap.domain.plan import PlanRequest, SessionPlan, combine_plans
from dosemap.domain.planning import build_plan
from dosemap.persistence.db import Database
from dosemap.resources import template_mesh
from dosemap.services import sessions, vials

DYSPORT_LOT = "D-77"


def two_products(
    library: Library,
    botox_zones: tuple[str, ...] = ("forehead", "glabella"),
    dysport_zones: tuple[str, ...] = ("chin",),
    spacing_mm: str | None = None,
) -> SessionPlan:
    """A Botox plan (Diaspro grid) and a Dysport plan (Kesty, its own dilution) in one session:
    the Dysport points numbered on after the Botox ones."""
    spacing = Decimal(spacing_mm) if spacing_mm else None
    mesh = template_mesh()
    botox = build_plan(
        PlanRequest(zones=botox_zones, protocol="diaspro_2020_grid", spacing_mm=spacing),
        library,
        mesh,
    )
    dysport = build_plan(
        PlanRequest(zones=dysport_zones, protocol="kesty_2021_forehead_30", spacing_mm=spacing),
        library,
        mesh,
    )
    return combine_plans([botox, dysport])


def plan_two_products(
    db: Database,
    clinic_id: uuid.UUID,
    patient_id: uuid.UUID,
    injector_id: uuid.UUID,
    session: SessionPlan,
    scheduled_at: datetime,
) -> uuid.UUID:
    """The planned session's id."""
    return sessions.plan_session(
        db, clinic_id, patient_id=patient_id, injector_id=injector_id, plan=session,
        scheduled_at=scheduled_at, actor="test",
    ).id  # fmt: skip


def open_dysport_vial(
    db: Database,
    clinic_id: uuid.UUID,
    library: Library,
    *,
    label: str = "D-1",
    reconstituted_at: datetime | None = None,
) -> uuid.UUID:
    """An open 300 U Dysport vial of lot D-77 (received once), reconstituted an hour ago."""
    from dosemap.persistence.unit_of_work import reading

    with reading(db) as uow:
        found = uow.lots.numbered(clinic_id, DYSPORT_LOT)
    lot_id = (
        found[0].id
        if found
        else vials.receive_lot(
            db, clinic_id,
            vials.LotInput(product="dysport", lot_number=DYSPORT_LOT,
                           expires_on=date.today() + timedelta(days=300)),
            library, actor="test",
        ).id
    )  # fmt: skip
    made = reconstituted_at or datetime.now(UTC) - timedelta(hours=1)
    return vials.open_vial(
        db, clinic_id,
        vials.VialInput(lot_id=lot_id, label=label, vial_units=Decimal(300),
                        diluent_ml=Decimal("2.5"), reconstituted_at=made),
        library, actor="test",
    ).id  # fmt: skip


def charted_two_products(
    db: Database,
    clinic_id: uuid.UUID,
    patient_id: uuid.UUID,
    injector_id: uuid.UUID,
    botox_vial_id: uuid.UUID,
    library: Library,
    at: datetime,
    *,
    sign: bool = False,
) -> tuple[uuid.UUID, SessionPlan]:
    """A two-product session (:func:`two_products`) planned for ``at`` and charted as planned
    an hour later, Botox from ``botox_vial_id`` and Dysport from a new vial of lot D-77 (signed
    by the injector when ``sign``): the session's id and its plan."""
    session = two_products(library)
    row_id = plan_two_products(db, clinic_id, patient_id, injector_id, session, at)
    d_vial = open_dysport_vial(db, clinic_id, library, reconstituted_at=at - timedelta(hours=1))
    chosen = sessions.vials_for_points(db, clinic_id, session, [botox_vial_id, d_vial])
    row = sessions.chart_session(
        db, clinic_id, row_id,
        sessions.ChartInput(performed_at=at + timedelta(hours=1),
                            points=sessions.chart_as_planned(session, chosen)),
        library, expected_version=1, actor="test",
    )  # fmt: skip
    if sign:
        sessions.sign_session(
            db, clinic_id, row_id, library, signer_id=injector_id,
            expected_version=row.version, actor=str(injector_id),
        )  # fmt: skip
    return row_id, session
