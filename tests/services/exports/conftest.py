"""A charted, signed session on the test clinic, shared by the export tests."""

from __future__ import annotations

import io
import math
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from dosemap.persistence.models import TreatmentSession
from dosemap.services import acknowledgements, followups, patients, photos, sessions, staff
from support.clinic import T0, SeededClinic, make_plan

CONSENT_TEXT = (
    "I understand that micro-dose botulinum toxin injections into the skin are off-label.\n"
    "I have been told what to expect, the risks, and whom to call."
)


def signature_png() -> bytes:
    """A drawn signature: a pen stroke on a white pad."""
    pad = Image.new("RGB", (360, 120), "white")
    pen = ImageDraw.Draw(pad)
    stroke = [(20 + x, 60 + 30 * math.sin(x / 18) * math.exp(-x / 400)) for x in range(0, 320, 4)]
    pen.line(stroke, fill=(20, 30, 120), width=4)
    out = io.BytesIO()
    pad.save(out, "PNG")
    return out.getvalue()


def logo_png() -> bytes:
    """A clinic logo: a teal disc with a white bar."""
    logo = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    pen = ImageDraw.Draw(logo)
    pen.ellipse((10, 10, 190, 190), fill=(0, 128, 128, 255))
    pen.rectangle((50, 90, 150, 110), fill=(255, 255, 255, 255))
    out = io.BytesIO()
    logo.save(out, "PNG")
    return out.getvalue()


@dataclass
class Treated:
    """The test clinic after one signed session and an adverse event."""

    clinic: SeededClinic
    session: TreatmentSession
    adverse_event_id: uuid.UUID


def treat(
    clinic: SeededClinic, n_points: int = 6, *, acknowledge: bool = False
) -> TreatmentSession:
    """Plan, chart as planned (pain 3, topical numbing) and sign one session at T0 (after
    acknowledging its off-label notice, when asked)."""
    plan = make_plan(n_points)
    row = sessions.plan_session(
        clinic.db,
        clinic.clinic_id,
        patient_id=clinic.patient_id,
        injector_id=clinic.injector,
        plan=plan,
        scheduled_at=T0,
        actor="t",
    )
    chart = sessions.ChartInput(
        performed_at=T0,
        points=sessions.chart_as_planned(plan, clinic.vial_id),
        pain_score=3,
        numbing="topical lidocaine 4%",
    )
    row = sessions.chart_session(
        clinic.db, clinic.clinic_id, row.id, chart, clinic.library, expected_version=1, actor="t"
    )
    if acknowledge:
        acknowledgements.acknowledge_finding(
            clinic.db,
            clinic.clinic_id,
            row.id,
            acknowledgements.AcknowledgementInput(
                code="DM901-OFF-LABEL", reason="Discussed off-label use; patient agrees."
            ),
            clinic.library,
            by=clinic.injector,
            actor="t",
            at=T0 + timedelta(minutes=20),
        )
    return sessions.sign_session(
        clinic.db,
        clinic.clinic_id,
        row.id,
        clinic.library,
        signer_id=clinic.injector,
        expected_version=row.version,
        actor=str(clinic.injector),  # a signature's actor is a known, active staff member
        at=T0 + timedelta(minutes=30),
    )


@pytest.fixture
def treated(clinic: SeededClinic) -> Treated:
    row = treat(clinic)
    event = followups.record_adverse_event(
        clinic.db,
        clinic.clinic_id,
        clinic.patient_id,
        followups.AdverseEventInput(
            session_id=row.id,
            kind="bruising",
            onset_at=T0 + timedelta(days=1),
            severity="mild",
            action="=cold compress",  # a spreadsheet would run this as a formula
            outcome="resolved in 3 days",
        ),
        actor="t",
    )
    return Treated(clinic, sessions.get_session(clinic.db, clinic.clinic_id, row.id), event.id)


def document(clinic: SeededClinic, photo_dir: Path) -> Treated:
    """Everything a document or bundle can show: clinic heading and logo, a consent with its
    text and drawn signature, an acknowledged finding, a signed and amended session, an adverse
    event, a skin measurement from a photo."""
    staff.update_clinic_profile(
        clinic.db,
        clinic.clinic_id,
        staff.ClinicProfileInput(
            address="12 Harbour Street\nSpringfield, CA 90210",
            phone="+1 555 0142",
            logo_png=logo_png(),
        ),
        actor="t",
    )
    patients.record_consent(
        clinic.db,
        clinic.clinic_id,
        clinic.patient_id,
        patients.ConsentInput(
            text_version="2026-02",
            text=CONSENT_TEXT,
            signature="Pat Example",
            signed_at=T0 - timedelta(minutes=30),
            witness_name="Dee Desk",
            signature_png=signature_png(),
        ),
        actor="t",
    )
    row = treat(clinic, acknowledge=True)
    plan = make_plan(6)
    chart = sessions.ChartInput(
        performed_at=T0,
        points=sessions.chart_as_planned(plan, clinic.vial_id)[:5],
        pain_score=3,
        numbing="topical lidocaine 4%",
        aftercare="Cold pack for 10 minutes.",
    )
    sessions.amend_session(
        clinic.db,
        clinic.clinic_id,
        row.id,
        chart,
        clinic.library,
        reason="Point 6 was not injected (patient moved).",
        amended_by=clinic.injector,
        expected_version=row.version,
        actor=str(clinic.injector),
    )
    event = followups.record_adverse_event(
        clinic.db,
        clinic.clinic_id,
        clinic.patient_id,
        followups.AdverseEventInput(
            session_id=row.id,
            kind="bruising",
            onset_at=T0 + timedelta(days=1),
            severity="mild",
            action="cold compress",
            outcome="resolved in 3 days",
        ),
        actor="t",
        recorded_by=clinic.desk,
    )
    store = photos.PhotoStore(photo_dir)
    photo = photos.add_photo(
        clinic.db,
        store,
        clinic.clinic_id,
        clinic.patient_id,
        logo_png(),
        photos.PhotoInput(
            media_type="image/png",
            taken_at=T0 + timedelta(days=14),
            view="frontal",
            session_id=row.id,
        ),
        actor="t",
    )
    photos.record_measurement(
        clinic.db,
        clinic.clinic_id,
        photo.id,
        photos.MeasurementInput(
            metric="redness_a_star",
            value=11.25,
            unit="a*",
            zone="forehead",
            measured_at=T0 + timedelta(days=14, minutes=5),
        ),
        actor="t",
    )
    return Treated(clinic, sessions.get_session(clinic.db, clinic.clinic_id, row.id), event.id)


@pytest.fixture
def documented(clinic: SeededClinic, tmp_path: Path) -> Treated:
    return document(clinic, tmp_path / "photos")
