"""Signing a charted session where the clinic requires a second factor: the password and a
fresh authenticator code; a wrong code, or one already used, signs nothing."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pyotp
from fastapi.testclient import TestClient

from dosemap.resources import load_library
from dosemap.services import accounts, patients, sessions, vials
from dosemap.services.signin import SessionPolicy
from dosemap.web.security import SESSION_COOKIE
from support.clinic import make_plan
from support.web import PASSWORD, WebWorld, drawn_consent


def _signer(world: WebWorld) -> tuple[TestClient, str]:
    """A prescriber of clinic A (linked to the clinic's injector), under a policy that requires
    TOTP of prescribers, enrolled and signed in: (client, TOTP secret)."""
    own = world.own
    signer = accounts.create_account(
        world.db,
        own.clinic_id,
        accounts.AccountInput(
            username="a-signer", display_name="A Signer", role="prescriber", password=PASSWORD,
            staff_id=own.records["staff_id"],
        ),
        actor="test",
    )  # fmt: skip
    accounts.require_totp_for(world.db, own.clinic_id, {"prescriber"}, actor="test")
    secret = pyotp.random_base32()
    enrolled_at = datetime.now(UTC) - timedelta(minutes=5)  # an earlier step than any below
    assert accounts.check_totp(
        world.db, own.clinic_id, signer.id, pyotp.TOTP(secret).at(enrolled_at),
        enrol_secret=secret, actor="test", at=enrolled_at,
    )  # fmt: skip
    client = TestClient(world.app, follow_redirects=False)
    token = world.app.state.dosemap.sessions.create(
        signer, pending_totp=False, policy=SessionPolicy()
    )
    client.cookies.set(SESSION_COOKIE, token)
    return client, secret


def _charted(world: WebWorld, label: str) -> uuid.UUID:
    """A session charted half an hour ago from a vial opened for it (``label``), for a new
    patient of clinic A (consented; nothing earlier to weigh it against)."""
    own, library, db = world.own, load_library(), world.db
    at = datetime.now(UTC) - timedelta(minutes=30)
    vial = vials.open_vial(
        db, own.clinic_id,
        vials.VialInput(
            lot_id=own.records["lot_id"], label=label, vial_units=Decimal(100),
            diluent_ml=Decimal("2.5"), reconstituted_at=at - timedelta(minutes=30),
        ),
        library, actor="test",
    )  # fmt: skip
    patient = patients.register_patient(
        db, own.clinic_id,
        patients.PatientInput(
            chart_number=f"SIGN-{label}", given_name="Sam", family_name=f"Signer {label}",
            date_of_birth=date(1985, 5, 5),
        ),
        actor="test",
    )  # fmt: skip
    drawn_consent(db, own.clinic_id, patient.id)
    plan = make_plan(6)
    row = sessions.plan_session(
        db, own.clinic_id, patient_id=patient.id, injector_id=own.records["staff_id"],
        plan=plan, scheduled_at=at, actor="test",
    )  # fmt: skip
    chart = sessions.ChartInput(performed_at=at, points=sessions.chart_as_planned(plan, vial.id))
    sessions.chart_session(db, own.clinic_id, row.id, chart, library, expected_version=1, actor="t")
    return row.id


def _sign(client: TestClient, session_id: uuid.UUID, code: str) -> tuple[int, str]:
    form = client.get(f"/sessions/{session_id}/sign")
    assert form.status_code == 200 and 'name="totp"' in form.text  # the code is asked for
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    version = re.search(r'name="expected_version" value="(\d+)"', form.text)
    assert csrf and version
    response = client.post(
        f"/sessions/{session_id}/sign",
        data={
            "csrf_token": csrf.group(1),
            "expected_version": version.group(1),
            "password": PASSWORD,
            "totp": code,
        },
    )
    return response.status_code, response.text


def _status(world: WebWorld, session_id: uuid.UUID) -> str:
    return str(sessions.get_session(world.db, world.own.clinic_id, session_id).status)


def test_signing_needs_a_right_code_and_accepts_it_once(world: WebWorld) -> None:
    client, secret = _signer(world)
    first, second = _charted(world, "S-1"), _charted(world, "S-2")
    charted = _status(world, first)
    assert charted == "charted"
    totp, now = pyotp.TOTP(secret), datetime.now(UTC)
    right = totp.at(now)
    near = {totp.at(now + timedelta(seconds=30 * k)) for k in (-2, -1, 0, 1, 2)}
    wrong = next(c for c in (f"{n:06d}" for n in range(1_000_000)) if c not in near)

    status, page = _sign(client, first, wrong)
    assert status == 422 and "totp: code not accepted" in page
    assert _status(world, first) == charted

    status, page = _sign(client, first, right)
    assert status == 303, re.findall(r"<li[^>]*>(.*?)</li>", page)  # why it was refused
    assert _status(world, first) == "signed"

    # The same code again (say, read over the shoulder) signs nothing, even within its window.
    status, page = _sign(client, second, right)
    assert status == 422 and "already used" in page
    assert _status(world, second) == charted


def test_a_login_the_policy_caught_without_a_second_factor_is_told_to_set_one_up(
    world: WebWorld,
) -> None:
    """Signed in before the clinic required TOTP: signing is refused, saying what to do."""
    own = world.own
    account = accounts.create_account(
        world.db,
        own.clinic_id,
        accounts.AccountInput(
            username="a-late", display_name="A Late", role="prescriber", password=PASSWORD,
            staff_id=own.records["staff_id"],
        ),
        actor="test",
    )  # fmt: skip
    client = TestClient(world.app, follow_redirects=False)
    token = world.app.state.dosemap.sessions.create(
        account, pending_totp=False, policy=SessionPolicy()
    )
    client.cookies.set(SESSION_COOKIE, token)
    session_id = _charted(world, "S-3")
    accounts.require_totp_for(world.db, own.clinic_id, {"prescriber"}, actor="test")
    form = client.get(f"/sessions/{session_id}/sign").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
    version = re.search(r'name="expected_version" value="(\d+)"', form)
    assert csrf and version
    response = client.post(
        f"/sessions/{session_id}/sign",
        data={"csrf_token": csrf.group(1), "expected_version": version.group(1),
              "password": PASSWORD, "totp": "123456"},
    )  # fmt: skip
    assert response.status_code == 422
    assert "sign out and sign in again to set it up" in response.text
    assert _status(world, session_id) == "charted"
