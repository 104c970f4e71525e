"""The patient kiosk: one-time pass (code or link), hashed at rest, expiring, single use; the
tablet shows the patient only their questionnaire and ends by asking for the tablet back."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dosemap.domain.errors import InvalidInputError
from dosemap.persistence.models import KioskPass
from dosemap.persistence.unit_of_work import reading
from dosemap.services import kiosk
from dosemap.services._common import now
from dosemap.services.audit import verify
from dosemap.services.intake_forms import QUESTIONS
from dosemap.services.reporting import patient_timeline
from dosemap.services.signin import hash_token
from dosemap.web.kiosk_gate import KIOSK_COOKIE
from dosemap.web.security import SESSION_COOKIE
from support.web import OTHER_CLINIC_MARKER, WebWorld


def _answers(**overrides: str) -> dict[str, str]:
    data = {f"answers.{key}": "no" for key, _ in QUESTIONS}
    data.update({f"answers.{k}": v for k, v in overrides.items()})
    return data


def _intakes(world: WebWorld) -> list[str]:
    events = patient_timeline(world.db, world.own.clinic_id, world.own.patient_id)
    return [e.summary for e in events if e.kind == "intake"]


def _code_from_intake_page(world: WebWorld) -> tuple[str, str]:
    staff = world.client("front_desk")
    page = staff.post(
        f"/patients/{world.own.patient_id}/kiosk", data={"csrf_token": world.csrf(staff)}
    )
    assert page.status_code == 200
    code = re.search(r'class="code"[^>]*>(\w{4}) (\w{4})<', page.text)
    link = re.search(r"(http://testserver/kiosk/t/[\w-]+)", page.text)
    assert code and link, page.text
    return code.group(1) + code.group(2), link.group(1)


def _tablet_csrf(tablet: TestClient, url: str = "/kiosk") -> str:
    page = tablet.get(url)
    assert page.status_code == 200
    return page.text.split('name="csrf_token" value="')[1].split('"')[0]


def _no_way_out(html: str) -> None:
    """A kiosk page: no navigation, no sign-in, no sign-out, no other patient."""
    assert "<nav" not in html and "/login" not in html and "/logout" not in html
    assert 'href="/' not in html.replace('href="/static/', "")
    assert OTHER_CLINIC_MARKER not in html


def test_code_opens_the_questionnaire_once_and_ends_with_hand_back(world: WebWorld) -> None:
    code, _ = _code_from_intake_page(world)
    before = len(_intakes(world))
    tablet = world.client(None)
    typed = f"{code[:4].lower()}-{code[4:]}"  # as a person types it
    opened = tablet.post("/kiosk", data={"csrf_token": _tablet_csrf(tablet), "code": typed})
    assert opened.status_code == 303 and opened.headers["location"] == "/kiosk/questionnaire"
    assert tablet.cookies.get(KIOSK_COOKIE)
    form = tablet.get("/kiosk/questionnaire")
    assert form.status_code == 200 and "Hello Pat" in form.text
    _no_way_out(form.text)
    assert "Example" not in form.text  # not even the family name or chart number
    csrf = form.text.split('name="csrf_token" value="')[1].split('"')[0]
    done = tablet.post(
        "/kiosk/questionnaire",
        data={"csrf_token": csrf, **_answers(pregnancy="yes"), "medications": "aspirin"},
    )
    assert done.status_code == 303 and done.headers["location"] == "/kiosk/done"
    thanks = tablet.get("/kiosk/done")
    assert "hand the tablet back" in thanks.text
    _no_way_out(thanks.text)
    assert len(_intakes(world)) == before + 1
    # The session ended with the answers; the code works once.
    again = tablet.get("/kiosk/questionnaire")
    assert again.status_code == 401 and "closed" in again.text
    _no_way_out(again.text)
    second = world.client(None)
    reused = second.post("/kiosk", data={"csrf_token": _tablet_csrf(second), "code": code})
    assert reused.status_code == 422 and "expired or already used" in reused.text
    assert not second.cookies.get(KIOSK_COOKIE)


def test_the_link_works_once_and_needs_a_press(world: WebWorld) -> None:
    _, link = _code_from_intake_page(world)
    path = link.removeprefix("http://testserver")
    tablet = world.client(None)
    start = tablet.get(path)  # a link preview: shows a button, uses nothing up
    assert start.status_code == 200 and "Start" in start.text
    token = path.rsplit("/", 1)[1]
    csrf = _tablet_csrf(tablet, path)
    assert tablet.post("/kiosk", data={"csrf_token": csrf, "token": token}).status_code == 303
    other = world.client(None)
    csrf = _tablet_csrf(other, path)
    assert other.post("/kiosk", data={"csrf_token": csrf, "token": token}).status_code == 422


def test_passes_are_hashed_at_rest_and_expire(world: WebWorld) -> None:
    db = world.db
    user = world.own.accounts["front_desk"]
    issued = kiosk.open_pass(
        db, world.own.clinic_id, world.own.patient_id, created_by=user.id, actor="t"
    )
    with reading(db) as uow:
        row = uow.kiosk.get(world.own.clinic_id, issued.pass_id)
        stored = {c.key: getattr(row, c.key) for c in KioskPass.__table__.columns}
    assert stored["token_hash"] == hash_token(issued.token)
    assert stored["code_hash"] == hash_token(issued.code)
    assert all(issued.token not in str(v) and issued.code not in str(v) for v in stored.values())
    # An unused pass expires.
    late = issued.expires_at + timedelta(seconds=1)
    with pytest.raises(InvalidInputError) as refused:
        kiosk.redeem(db, code=issued.code, at=late)
    assert refused.value.field == "code"
    # A redeemed pass's session expires too.
    fresh = kiosk.open_pass(
        db, world.own.clinic_id, world.own.patient_id, created_by=user.id, actor="t"
    )
    at = now()
    cookie, session = kiosk.redeem(db, token=fresh.token, at=at)
    assert kiosk.kiosk_session(db, cookie, at=at) == session
    assert kiosk.kiosk_session(db, cookie, at=at + kiosk.SESSION_LIFETIME) is None
    with reading(db) as uow:
        row = uow.kiosk.get(world.own.clinic_id, fresh.pass_id)
        assert row.session_hash == hash_token(cookie)


def test_handing_this_tablet_over_signs_the_staff_member_out(world: WebWorld) -> None:
    staff = world.client("injector")
    staff_cookie = staff.cookies.get(SESSION_COOKIE)
    handed = staff.post(
        f"/patients/{world.own.patient_id}/kiosk/here", data={"csrf_token": world.csrf(staff)}
    )
    assert handed.status_code == 303 and handed.headers["location"] == "/kiosk/questionnaire"
    cleared = [h for h in handed.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE)]
    assert cleared and "Max-Age=0" in cleared[0]
    # The patient now holds the tablet: no staff page opens, even with the old cookie.
    assert staff.get("/").status_code == 303
    replay = world.client(None)
    replay.cookies.set(SESSION_COOKIE, staff_cookie or "")
    assert replay.get(f"/patients/{world.own.patient_id}").status_code == 303
    form = staff.get("/kiosk/questionnaire")
    assert form.status_code == 200 and "Hello Pat" in form.text
    _no_way_out(form.text)


def test_a_bad_answer_keeps_the_kiosk_open_and_writes_nothing(
    world: WebWorld, tmp_path: Path
) -> None:
    code, _ = _code_from_intake_page(world)
    tablet = world.client(None)
    tablet.post("/kiosk", data={"csrf_token": _tablet_csrf(tablet), "code": code})
    page = tablet.get("/kiosk/questionnaire").text
    csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
    before = len(_intakes(world))
    bad = tablet.post(
        "/kiosk/questionnaire",
        data={
            "csrf_token": csrf,
            **_answers(),
            "prior_treatments.0.treated_on": "2025-13-40",
            "prior_treatments.0.product": "dysport",
            "prior_treatments.0.units": "20",
        },
    )
    assert bad.status_code == 422 and 'id="e-prior_treatments-0-treated_on"' in bad.text
    _no_way_out(bad.text)
    assert len(_intakes(world)) == before
    # No CSRF token: refused, nothing written.
    forged = tablet.post("/kiosk/questionnaire", data=_answers())
    assert forged.status_code == 403
    ok = tablet.post("/kiosk/questionnaire", data={"csrf_token": csrf, **_answers()})
    assert ok.status_code == 303
    assert len(_intakes(world)) == before + 1
    assert verify(world.db, tmp_path / "checkpoints").problems == ()


def test_a_wrong_code_is_refused_naming_the_field(world: WebWorld) -> None:
    tablet = world.client(None)
    for code in ("", "12", "ABCDEFGH", "!!!!!!!!"):
        response = tablet.post("/kiosk", data={"csrf_token": _tablet_csrf(tablet), "code": code})
        assert response.status_code == 422, code
        assert "code:" in response.text
        _no_way_out(response.text)
    assert not tablet.cookies.get(KIOSK_COOKIE)


def test_intake_and_kiosk_pages_have_no_inline_code(world: WebWorld) -> None:
    staff = world.client("front_desk")
    tablet = world.client(None)
    pages = [
        staff.get(f"/patients/{world.own.patient_id}/intake"),
        tablet.get("/kiosk"),
        tablet.get("/kiosk/t/k_whatever"),
        tablet.get("/kiosk/done"),
        tablet.get("/kiosk/questionnaire"),
    ]
    for response in pages:
        html = response.text
        assert response.headers["cache-control"] == "no-store"
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
        assert not re.search(r"\sstyle=", html)
        assert not re.search(r"\son[a-z]+=", html)
