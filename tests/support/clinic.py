"""A small, complete clinic and a hand-made plan for tests (not used by the application)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np

from dosemap.domain.atlas.surface import anchor_point
from dosemap.domain.atlas.zones import zone
from dosemap.domain.dosing import units_for_volume, vials_needed
from dosemap.domain.intake import ContraindicationAnswers, Intake
from dosemap.domain.library.catalog import Library
from dosemap.domain.plan import (
    MixComponentAmount,
    Plan,
    PlannedPoint,
    PlanRequest,
    PlanSummary,
    WorkingMix,
)
from dosemap.persistence.db import Database
from dosemap.persistence.models import TreatmentSession
from dosemap.resources import template_mesh
from dosemap.services import patients, sessions, staff, vials

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@dataclass
class SeededClinic:
    """Ids of what :func:`build_test_clinic` made."""

    db: Database
    library: Library = field(repr=False)
    clinic_id: uuid.UUID
    admin: uuid.UUID
    injector: uuid.UUID
    desk: uuid.UUID
    patient_id: uuid.UUID
    lot_id: uuid.UUID
    vial_id: uuid.UUID


def make_plan(n_points: int = 6, volume_ul: str = "10", units_per_ml: str = "20") -> Plan:
    """A small hand-made forehead plan (the planner is not needed to test storage)."""
    per_ml = Decimal(units_per_ml)
    vol = Decimal(volume_ul)
    units = units_for_volume(vol, per_ml)
    mesh = template_mesh()
    # Upper forehead, clear of the brow margin: rows of 8 points 6 mm apart.
    ring = np.asarray(mesh.vertices_mm)[list(zone("forehead").ring)]
    centre = ring.mean(axis=0)
    points = []
    for i in range(n_points):
        pos = (
            round(float(centre[0]) - 21.0 + 6.0 * (i % 8), 2),
            round(float(centre[1]) + 9.0 + 5.0 * (i // 8), 2),
            round(float(centre[2]), 2),
        )
        points.append(
            PlannedPoint(
                number=i + 1,
                zone="forehead",
                position_mm=pos,
                anchor=anchor_point(mesh, pos),
                technique="intradermal_wheal",
                depth="intradermal",
                volume_ul=vol,
                units=units,
            )
        )
    total = units * n_points
    needed, left = vials_needed(total, Decimal(100))
    return Plan(
        request=PlanRequest(zones=("forehead",)),
        protocol=None,
        protocol_citation=None,
        product="botox_cosmetic",
        technique="intradermal_wheal",
        spacing_mm=Decimal(8),
        mix=WorkingMix(
            product="botox_cosmetic",
            stock_vial_units=Decimal(100),
            stock_diluent_ml=Decimal("2.5"),
            units_per_ml=per_ml,
            components=(
                MixComponentAmount(ingredient="stock:botox_cosmetic", fraction=Decimal("0.5")),
                MixComponentAmount(ingredient="saline", fraction=Decimal("0.5")),
            ),
            contains_hyaluronic_acid=False,
        ),
        points=points,
        summary=PlanSummary(
            needle_entries=n_points,
            total_units=total,
            total_volume_ul=vol * n_points,
            zones=(),
            draw_up=(),
            vials_needed=needed,
            units_left_in_vials=left,
        ),
    )


def build_test_clinic(db: Database, library: Library) -> SeededClinic:
    """A clinic with staff, a credentialed injector, a patient with intake and consent, a lot
    and an opened vial."""
    c = staff.create_clinic(db, staff.ClinicInput(name="Test Clinic", jurisdiction="US-CA"))
    admin = staff.add_staff(
        db, c.id, staff.StaffInput(display_name="Ada Admin", role="admin"), actor="system"
    )
    inj = staff.add_staff(
        db,
        c.id,
        staff.StaffInput(display_name="Ivy Injector", role="injector"),
        actor=str(admin.id),
    )
    desk = staff.add_staff(
        db, c.id, staff.StaffInput(display_name="Dee Desk", role="front_desk"), actor=str(admin.id)
    )
    staff.add_credential(
        db,
        c.id,
        inj.id,
        staff.CredentialInput(
            type="RN", number="RN123", jurisdiction="US-CA", expires_on=date(2030, 1, 1)
        ),
        actor=str(admin.id),
    )
    for cred in ("MD", "NP", "RN"):
        staff.allow_procedure(
            db,
            c.id,
            procedure=staff.MICRODOSE_PROCEDURE,
            credential_type=cred,
            jurisdiction="US-CA",
            actor=str(admin.id),
        )
    p = patients.register_patient(
        db,
        c.id,
        patients.PatientInput(
            chart_number="C-0001",
            given_name="Pat",
            family_name="Example",
            date_of_birth=date(1985, 5, 17),
            phone="+1 555 0100",
            email="pat@example.org",
            fitzpatrick_type=3,
            skin_type="dry",
        ),
        actor=str(desk.id),
    )
    patients.record_intake(
        db,
        c.id,
        p.id,
        Intake(
            recorded_on=(T0 - timedelta(days=1)).date(),
            date_of_birth=date(1985, 5, 17),
            answers=ContraindicationAnswers(
                hypersensitivity=False,
                infection_at_site=False,
                neuromuscular_disease=False,
                aminoglycosides=False,
                pregnancy=False,
                breastfeeding=False,
                cow_milk_protein_allergy=False,
                anticoagulants=False,
                dry_skin_or_eczema=False,
            ),
        ),
        answered_at=T0 - timedelta(days=1),
        actor=str(desk.id),
    )
    patients.record_consent(
        db,
        c.id,
        p.id,
        patients.ConsentInput(
            text_version="2026-01",
            text="I consent to micro-dose toxin treatment.",
            signature="Pat Example",
            signed_at=T0 - timedelta(hours=1),
            witness_name="Dee Desk",
        ),
        actor=str(desk.id),
    )
    lot = vials.receive_lot(
        db,
        c.id,
        vials.LotInput(product="botox_cosmetic", lot_number="C1234A", expires_on=date(2027, 6, 30)),
        library,
        actor=str(admin.id),
    )
    vial = vials.open_vial(
        db,
        c.id,
        vials.VialInput(
            lot_id=lot.id,
            label="V-1",
            vial_units=Decimal(100),
            diluent_ml=Decimal("2.5"),
            reconstituted_at=T0 - timedelta(hours=2),
        ),
        library,
        actor=str(inj.id),
    )
    return SeededClinic(db, library, c.id, admin.id, inj.id, desk.id, p.id, lot.id, vial.id)


def sign(
    c: SeededClinic,
    row: TreatmentSession,
    signer: uuid.UUID | None = None,
    *,
    actor: str | None = None,
    at: datetime | None = None,
) -> TreatmentSession:
    """Sign ``row`` at its version, by ``signer`` (the clinic's injector unless named),
    acting as ``actor`` (the signer unless named)."""
    signer = signer or c.injector
    return sessions.sign_session(
        c.db,
        c.clinic_id,
        row.id,
        c.library,
        signer_id=signer,
        expected_version=row.version,
        actor=actor if actor is not None else str(signer),
        at=at,
    )
