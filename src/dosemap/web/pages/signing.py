"""Signing a charted session (password re-entered, the signature's manifest shown) and amending
a signed one with a reason."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from dosemap.domain.dosing import units_for_volume
from dosemap.domain.errors import InvalidInputError
from dosemap.domain.plan import MeshAnchor
from dosemap.persistence.errors import SigningRefusedError
from dosemap.resources import load_library
from dosemap.services import accounts, charting, sessions
from dosemap.services.clinic_day import record_read
from dosemap.services.sessions import ChartInput, ChartPointInput
from dosemap.web.forms import form_dict
from dosemap.web.permissions import allowed
from dosemap.web.security import router, signed_in_user
from dosemap.web.state import app_state

routes = router()

#: What a signature on a treatment record means (shown in the manifest and kept with it).
SIGNATURE_MEANING = (
    "I performed or supervised this treatment, and this chart is a true and complete record of "
    "what was injected, where, from which vial, and what followed."
)


def _has_totp(state: Any, username: str) -> bool:
    account = accounts.find_account(state.db, username)
    return account is not None and account.has_totp


def _sign_page(
    request: Request, user: Any, session_id: uuid.UUID, *, error: str = "", reasons: list[str]
) -> Response:
    state = app_state(request)
    row = sessions.get_session(state.db, user.clinic_id, session_id)
    findings = sessions.session_findings(state.db, user.clinic_id, session_id, load_library())
    return state.templates.page(
        "sign.html",
        title="Sign",
        user=user,
        active="/patients",
        status_code=422 if error else 200,
        row=row,
        session_id=session_id,
        findings=findings,
        figures=charting.record_figures(state.db, user.clinic_id, session_id),
        meaning=SIGNATURE_MEANING,
        signer_name=user.display_name,
        signed_at=datetime.now().astimezone(),
        error=error,
        reasons=reasons,
        needs_totp=_has_totp(state, user.username),
    )


@routes.get("/sessions/{session_id}/sign", name="sign_form")
def sign_form(request: Request, session_id: uuid.UUID) -> Response:
    """The signature manifest, the full safety check, and the password to re-enter."""
    user = signed_in_user(request)
    page = _sign_page(request, user, session_id, reasons=[])  # 404 for another clinic's
    record_read(
        app_state(request).db, clinic_id=user.clinic_id, user_id=user.user_id,
        entity="session", entity_id=session_id, via="page:sign",
    )  # fmt: skip
    return page


@routes.post("/sessions/{session_id}/sign", name="sign")
async def sign(request: Request, session_id: uuid.UUID) -> Response:
    """Sign: the password again (and the second factor where the account has one)."""
    user = signed_in_user(request)
    state = app_state(request)
    form = await form_dict(request)
    result = await run_in_threadpool(
        accounts.check_password, state.db, user.username, form.get("password", ""),
        lockout=state.lockout,
    )  # fmt: skip
    if result.account is None or result.account.id != user.user_id:
        return _sign_page(
            request, user, session_id, error="password: not accepted (re-enter it)", reasons=[]
        )
    if result.totp_setup_required:  # the clinic's policy came in after this sign-in
        return _sign_page(
            request, user, session_id,
            error="totp: your clinic requires a second factor and this login has none yet "
            "(sign out and sign in again to set it up)",
            reasons=[],
        )  # fmt: skip
    if result.needs_totp and not await run_in_threadpool(
        lambda: accounts.check_totp(
            state.db, user.clinic_id, user.user_id, form.get("totp", ""), actor=user.actor
        )
    ):
        return _sign_page(
            request, user, session_id,
            error="totp: code not accepted (wrong or already used; enter the next one)",
            reasons=[],
        )  # fmt: skip
    if user.staff_id is None:
        return _sign_page(
            request, user, session_id, error="this login is not linked to a staff member",
            reasons=[],
        )  # fmt: skip
    try:
        version = int(form.get("expected_version", "0"))
        await run_in_threadpool(
            sessions.sign_session, state.db, user.clinic_id, session_id, load_library(),
            signer_id=user.staff_id, expected_version=version, actor=user.actor,
        )  # fmt: skip
    except SigningRefusedError as exc:
        return _sign_page(request, user, session_id, error="signing refused", reasons=exc.reasons)
    return RedirectResponse(f"/sessions/{session_id}/amend", status_code=303)


def _chart_points(
    row: Any, figures: charting.RecordFigures, volumes: dict[int, Decimal]
) -> tuple[ChartPointInput, ...]:
    """The chart with the amended volumes, each point's units at its own product's dilution."""
    points = []
    for p in row.points:
        volume = volumes.get(p.number, p.volume_ul)
        units_per_ml = figures.units_per_ml(p.number)
        points.append(
            ChartPointInput(
                number=p.number,
                zone=p.zone,
                position_mm=(p.x_mm, p.y_mm, p.z_mm),
                anchor=MeshAnchor(
                    vertices=tuple(p.anchor["vertices"]), weights=tuple(p.anchor["weights"])
                ),
                technique=p.technique,
                depth=p.depth,
                volume_ul=volume,
                units=units_for_volume(volume, units_per_ml).quantize(Decimal("0.0001")),
                mix=p.mix,
                vial_id=p.vial_id,
            )
        )
    return tuple(points)


@routes.get("/sessions/{session_id}/amend", name="amend_form")
def amend_form(request: Request, session_id: uuid.UUID) -> Response:
    """A signed session: its chart, its amendments, and a form to amend it with a reason."""
    user = signed_in_user(request)
    state = app_state(request)
    row = sessions.get_session(state.db, user.clinic_id, session_id)  # 404 for another clinic's
    record_read(
        state.db, clinic_id=user.clinic_id, user_id=user.user_id, entity="session",
        entity_id=session_id, via="page:amend",
    )  # fmt: skip
    return state.templates.page(
        "amend.html",
        title="Treatment record",
        user=user,
        active="/patients",
        row=row,
        session_id=session_id,
        amendments=charting.amendment_history(state.db, user.clinic_id, session_id),
        figures=charting.record_figures(state.db, user.clinic_id, session_id),
        followups=charting.session_followups(state.db, user.clinic_id, session_id),
        can_book=allowed(user.role, "clinical.write"),
        error="",
    )


@routes.post("/sessions/{session_id}/book", name="followup_book")
async def followup_book(request: Request, session_id: uuid.UUID) -> Response:
    """Book the suggested follow-up (form field ``followup``) in one tap: a planned session on
    its day, with this session's plan."""
    user = signed_in_user(request)
    state = app_state(request)
    form = await form_dict(request)
    injector = user.staff_id
    if injector is None:
        raise InvalidInputError("user", "this login is not linked to a staff member", "staff")
    booked = await run_in_threadpool(
        lambda: charting.book_followup(
            state.db, user.clinic_id, session_id, form.get("followup", ""),
            injector_id=injector, actor=user.actor,
        )
    )  # fmt: skip
    return RedirectResponse(f"/sessions/{booked.id}/plan", status_code=303)


@routes.post("/sessions/{session_id}/amend", name="amend")
async def amend(request: Request, session_id: uuid.UUID) -> Response:
    """Amend the signed chart: changed volumes (µL per point), with the reason."""
    user = signed_in_user(request)
    state = app_state(request)
    form = await form_dict(request)
    if user.staff_id is None:
        raise InvalidInputError("user", "this login is not linked to a staff member", "staff")
    row = await run_in_threadpool(sessions.get_session, state.db, user.clinic_id, session_id)
    figures = await run_in_threadpool(charting.record_figures, state.db, user.clinic_id, session_id)
    volumes: dict[int, Decimal] = {}
    for p in row.points:
        text = form.get(f"volume_{p.number}", "").strip()
        if text:
            try:
                volumes[p.number] = Decimal(text)
            except InvalidOperation:
                raise InvalidInputError(
                    f"volume_{p.number}", f"{text!r} is not a number", "µL"
                ) from None
    chart = ChartInput(
        performed_at=row.performed_at,
        points=_chart_points(row, figures, volumes),
        pain_score=row.pain_score,
        numbing=row.numbing,
        aftercare=row.aftercare,
    )
    await run_in_threadpool(
        sessions.amend_session, state.db, user.clinic_id, session_id, chart, load_library(),
        reason=form.get("reason", ""), amended_by=user.staff_id,
        expected_version=int(form.get("expected_version", "0") or 0), actor=user.actor,
    )  # fmt: skip
    return RedirectResponse(f"/sessions/{session_id}/amend", status_code=303)
