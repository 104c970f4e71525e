"""A web app over a test database with two clinics and one login per role in each.

``WebWorld`` holds signed-in clients (sessions made directly in the store: no password hashing
per test) and the records the authorisation matrix and page tests refer to.
"""

from __future__ import annotations

import base64
import io
import socket
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw

from dosemap.config import Settings
from dosemap.persistence.db import Database
from dosemap.resources import load_library
from dosemap.services import accounts, consent, patients, sessions, staff
from dosemap.services.photos import PhotoInput, PhotoStore, add_photo
from dosemap.services.signin import Principal, SessionPolicy
from dosemap.services.tokens import TokenInput, TokenView, create_token
from dosemap.web.app import create_app
from dosemap.web.permissions import ROLES
from dosemap.web.security import SESSION_COOKIE
from dosemap.web.settings import WebSettings
from support.clinic import T0, build_test_clinic, make_plan
from support.desk import add_desk_records, add_spare_login, treat_own

#: A name that exists only in the other clinic: it must never show up in clinic A's pages.
OTHER_CLINIC_MARKER = "Zebedee"
PASSWORD = "correct horse battery"


@dataclass
class ClinicSide:
    """One clinic of the world: its id, a patient, and one account per role."""

    clinic_id: uuid.UUID
    patient_id: uuid.UUID
    accounts: dict[str, accounts.AccountView] = field(default_factory=dict)
    session_id: uuid.UUID | None = None  # a planned treatment session of the patient
    tokens: dict[str, uuid.UUID] = field(default_factory=dict)
    consent_id: uuid.UUID | None = None  # a consent signed with a drawing
    photo_id: uuid.UUID | None = None  # a stored photo (no analysis queued)
    #: The desk pages' records (lot, vial, …) by path parameter name (``support.desk``).
    records: dict[str, uuid.UUID] = field(default_factory=dict)


@dataclass
class WebWorld:
    """The app, its database and the two clinics."""

    app: FastAPI
    db: Database
    own: ClinicSide
    other: ClinicSide

    def client(self, role: str | None, side: str = "own") -> TestClient:
        """A client signed in as ``role`` of clinic ``side`` (``None``: not signed in)."""
        client = TestClient(self.app, follow_redirects=False)
        if role is not None:
            account = getattr(self, side).accounts[role]
            token = self.app.state.dosemap.sessions.create(
                account, pending_totp=False, policy=SessionPolicy()
            )
            client.cookies.set(SESSION_COOKIE, token)
        return client

    def token_of(self, side: ClinicSide, role: str) -> uuid.UUID:
        """The id of an access token of ``role``'s account in clinic ``side`` (made once)."""
        if role not in side.tokens:
            _, view = self.new_token(role, {"today.view"}, side=side, name="matrix")
            side.tokens[role] = view.id
        return side.tokens[role]

    def new_token(
        self, role: str, scopes: Iterable[str], *, side: ClinicSide | None = None, name: str = "t"
    ) -> tuple[str, TokenView]:
        """A new access token of ``role``'s account (clinic A unless ``side``) with ``scopes``:
        (the secret to send as ``Bearer``, its view)."""
        account = (side or self.own).accounts[role]
        owner = Principal(
            user_id=account.id, clinic_id=account.clinic_id, staff_id=None,
            username=account.username, display_name=account.display_name, role=role,
        )  # fmt: skip
        wanted = frozenset(scopes)
        return create_token(
            self.db, owner, TokenInput(name=name, scopes=wanted), allowed_scopes=wanted
        )

    def csrf(self, client: TestClient) -> str:
        """The CSRF token of ``client``'s session (read from a page, as a browser would)."""
        page = client.get("/").text
        marker = '"X-CSRF-Token": "'
        start = page.index(marker) + len(marker)
        return page[start : page.index('"', start)]


def web_settings(tmp_path: Path, db: Database) -> WebSettings:
    """Settings for a test app (cookies not Secure: the test client speaks plain http)."""
    return WebSettings(
        records=Settings(data_dir=tmp_path, database_url=str(db.engine.url)),
        secure_cookies=False,
        login_rate_per_minute=1000,
    )


def make_accounts(
    db: Database, clinic_id: uuid.UUID, prefix: str
) -> dict[str, accounts.AccountView]:
    """One login per role (password :data:`PASSWORD`)."""
    return {
        role: accounts.create_account(
            db,
            clinic_id,
            accounts.AccountInput(
                username=f"{prefix}-{role.replace('_', '-')}",
                display_name=f"{prefix} {role}",
                role=role,  # type: ignore[arg-type]
                password=PASSWORD,
            ),
            actor="test",
        )
        for role in ROLES
    }


def signature_data_url(strokes: int = 3) -> str:
    """A drawn signature as the tablet's pad sends it (a PNG data URL with ink)."""
    image = Image.new("RGB", (600, 200), "white")
    pen = ImageDraw.Draw(image)
    for i in range(strokes):
        pen.line(
            [(40 + 60 * i, 150), (90 + 60 * i, 40), (140 + 60 * i, 160)], fill="#10243a", width=4
        )
    out = io.BytesIO()
    image.save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def drawn_consent(db: Database, clinic_id: uuid.UUID, patient_id: uuid.UUID) -> uuid.UUID:
    """A consent signed on the pad well before the seeded one (the patient page shows the
    newest)."""
    text = consent.current_text(db, clinic_id)
    row = consent.sign_consent(
        db,
        clinic_id,
        patient_id,
        consent.SignatureInput(
            text_version=text.version,
            text_sha256=text.sha256,
            signer_name="Test Signer",
            signature=signature_data_url(),
        ),
        witness="Test Witness",
        actor="test",
        at=datetime(2025, 1, 2, 9, 0, tzinfo=UTC),
    )
    return row.id


def stored_photo(
    db: Database, store: PhotoStore, clinic_id: uuid.UUID, patient_id: uuid.UUID
) -> uuid.UUID:
    """A small stored picture (not a face: for routes that only read it back)."""
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "#c89a7a").save(out, format="PNG")
    row = add_photo(
        db,
        store,
        clinic_id,
        patient_id,
        out.getvalue(),
        PhotoInput(media_type="image/png", taken_at=datetime(2025, 1, 2, 9, 0, tzinfo=UTC)),
        actor="test",
    )
    return row.id


def build_web_world(db: Database, tmp_path: Path) -> WebWorld:
    """Clinic A (the test clinic) and clinic B (one patient named :data:`OTHER_CLINIC_MARKER`)."""
    seeded = build_test_clinic(db, load_library())
    own = ClinicSide(seeded.clinic_id, seeded.patient_id, make_accounts(db, seeded.clinic_id, "a"))
    b = staff.create_clinic(db, staff.ClinicInput(name="Other Clinic", jurisdiction="US-NY"))
    other_patient = patients.register_patient(
        db,
        b.id,
        patients.PatientInput(
            chart_number="B-0001",
            given_name=OTHER_CLINIC_MARKER,
            family_name=OTHER_CLINIC_MARKER + "son",
            date_of_birth=date.today() - timedelta(days=365 * 40),
        ),
        actor="test",
    )
    other = ClinicSide(b.id, other_patient.id, make_accounts(db, b.id, "b"))
    b_injector = staff.add_staff(
        db, b.id, staff.StaffInput(display_name="Bea Injector", role="injector"), actor="test"
    )
    for side, injector in ((own, seeded.injector), (other, b_injector.id)):
        side.session_id = sessions.plan_session(
            db,
            side.clinic_id,
            patient_id=side.patient_id,
            injector_id=injector,
            plan=make_plan(),
            scheduled_at=T0,
            actor="test",
        ).id
    store = PhotoStore(tmp_path / "photos")  # the app's: its data directory is tmp_path
    for side in (own, other):
        side.consent_id = drawn_consent(db, side.clinic_id, side.patient_id)
        side.photo_id = stored_photo(db, store, side.clinic_id, side.patient_id)
    treat_own(seeded, own)
    add_desk_records(db, other)
    add_spare_login(db, own, "a")
    add_spare_login(db, other, "b")
    app = create_app(web_settings(tmp_path, db), db=db)
    return WebWorld(app=app, db=db, own=own, other=other)


class SignalledServer(uvicorn.Server):
    """uvicorn's server that sets ``ready`` once it listens (a signal to wait on, not a poll)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.ready.set()


def site_grant_of(world: WebWorld, side: ClinicSide) -> uuid.UUID:
    """A grant made by ``side`` to the other clinic's auditor login (made once; the two
    clinics are put in one group first). Nobody switches to it: the matrix's clinics stay
    foreign to each other."""
    from dosemap.services import sites

    if "grant_id" not in side.records:
        if sites.group_of_clinic(world.db, world.own.clinic_id) is None:
            sites.create_group(world.db, "Matrix group", actor="test")
            for member in (world.own, world.other):
                sites.join_group(world.db, "Matrix group", member.clinic_id, actor="test")
        holder = world.other if side is world.own else world.own
        side.records["grant_id"] = sites.grant_site(
            world.db,
            side.clinic_id,
            sites.GrantInput(
                account_id=holder.accounts["auditor"].id,
                role="auditor",
                expires_on=datetime.now(UTC).date() + timedelta(days=30),
            ),
            actor="test",
        ).id
    return side.records["grant_id"]
