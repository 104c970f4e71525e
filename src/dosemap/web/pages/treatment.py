"""The treatment pages: plan editor, chart mode, sign, amend; and their JSON endpoints.

The editor and chart mode draw the plan on the face (:mod:`dosemap.services.plan_views`) with
two small scripts (``plan_editor.js``, ``chart_mode.js``); every edit and every tap goes to a
JSON endpoint here, through the services that keep the record (optimistic locking, audit).
Every page that shows a session's plan writes the read to the access log first.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, get_args

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, RedirectResponse, Response

from dosemap.domain.errors import InvalidInputError
from dosemap.domain.plan import Plan
from dosemap.domain.plan_edit import PlanEdit, placed_point
from dosemap.domain.plan_review import PlanReview
from dosemap.domain.safety.finding import ZONE_MISMATCH
from dosemap.resources import load_library
from dosemap.services import charting, compare, sessions
from dosemap.services.charting import SessionPlan, TapInput, VialChoice
from dosemap.services.clinic_day import record_read
from dosemap.services.followups import (
    SEVERITIES,
    AdverseEventInput,
    AdverseKind,
    record_adverse_event,
)
from dosemap.services.photos import PhotoStore
from dosemap.services.plan_views import FaceView, photo_view, template_view
from dosemap.web.forms import clean, field_errors, form_dict
from dosemap.web.permissions import allowed
from dosemap.web.security import router, signed_in_user
from dosemap.web.state import app_state

# A queue replayed after a dropped connection goes in requests of this many taps at most.
MAX_TAPS_A_REQUEST = 100
routes = router()

#: Point radius drawn in the editor and (at most) in chart mode, mm on the face.
EDITOR_POINT_MM = 2.0
CHART_POINT_MM = 4.5
#: What to do at once for suspected vascular occlusion with an HA mix (no doses here: the
#: clinic's own hyaluronidase protocol gives them). Sources: cmac_vascular_occlusion_2021,
#: delorenzi_2017 in the reference library.
OCCLUSION_STEPS = (
    "Stop injecting. Do not inject further product into the area.",
    "Assess: capillary refill, colour (blanching, livedo, dusky), pain out of proportion.",
    "Give hyaluronidase now, flooding the whole affected area, under the clinic's protocol "
    "(Murray et al. 2021 guideline; DeLorenzi 2017 high-dose pulsed protocol).",
    "Any change in vision, eye pain or ptosis: emergency eye referral at once (call now).",
    "Warm compresses and massage; reassess every 60 minutes and repeat as the protocol says.",
    "Record the event below, the time and every dose given; arrange review within 24 hours.",
)


def _library() -> Any:
    return load_library()


def _point_data(plans: Sequence[Plan]) -> dict[int, dict[str, Any]]:
    """Each point of every product's plan as the editor draws it, by number (numbers run on
    across the products), with its plan's index (what the plans alone decide)."""
    return {
        p.number: {
            "number": p.number,
            "plan": index,
            "zone": p.zone,
            "anchor": {"vertices": list(p.anchor.vertices), "weights": list(p.anchor.weights)},
            "volume_ul": str(p.volume_ul),
            "units": str(p.units.quantize(Decimal("0.001")).normalize()),
        }
        for index, plan in enumerate(plans)
        for p in plan.points
    }


def _codes(review: PlanReview | None) -> dict[int, list[str]]:
    """The finding codes of each flagged point (they depend on more than the plan)."""
    if review is None:
        return {}
    return {number: list(codes) for number, codes in review.point_codes.items() if codes}


def _points(plans: Sequence[Plan], review: PlanReview | None) -> list[dict[str, Any]]:
    codes = _codes(review)
    return [{**p, "codes": codes.get(n, [])} for n, p in _point_data(plans).items()]


class _SentPoints:
    """The point data each (clinic, session, version) was drawn with, a few hundred kept.

    An edit names the version the editor last saw, so its answer needs only the points that
    differ from that version's (a move: one of ~200; the whole list was ~30 kB of the answer).
    A plan at one version never changes, so an entry is never stale; on a miss (another
    worker process drew it, or it was dropped) the answer has every point.
    """

    def __init__(self, max_entries: int = 256) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, dict[int, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> dict[int, dict[str, Any]] | None:
        with self._lock:
            return self._entries.get(key)

    def put(self, key: Hashable, points: dict[int, dict[str, Any]]) -> None:
        with self._lock:
            self._entries[key] = points
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)


_SENT = _SentPoints()


def _edit_answer_points(
    key: Hashable, before: Hashable, plans: Sequence[Plan], review: PlanReview
) -> dict[str, Any]:
    """The points part of an edit's answer: the changed and removed points against the
    version the editor had (``before``), or every point; and every flagged point's codes."""
    now = _point_data(plans)
    _SENT.put(key, now)
    codes = _codes(review)
    seen = _SENT.get(before)
    if seen is None:
        return {
            "points": [{**p, "codes": codes.get(n, [])} for n, p in now.items()],
            "codes": codes,
        }
    return {
        "changed": [p for n, p in now.items() if seen.get(n) != p],
        "removed": [n for n in seen if n not in now],
        "codes": codes,
    }


def _view(request: Request, user: Any, current: SessionPlan) -> FaceView:
    """The patient's latest good photo, else the template face (the caption says which)."""
    state = app_state(request)
    has_ha = any(plan.mix.contains_hyaluronic_acid for plan in current.plans)  # any product's
    store = PhotoStore(state.settings.records.photos_dir)
    latest = compare.latest_good_photo(
        state.db, store, user.clinic_id, current.patient_id, reader=user.user_id
    )
    if latest is None:
        return template_view(has_ha=has_ha)
    caption = f"On the photo of {latest.taken_at:%Y-%m-%d} (mm from its iris scale)."
    if latest.skipped:
        caption += " Newer photos not used: " + "; ".join(latest.skipped) + "."
    return photo_view(latest.analysis, latest.image_uri, has_ha=has_ha, caption=caption)


def _panel(request: Request, current: SessionPlan, review: PlanReview, can_edit: bool) -> str:
    return app_state(request).templates.content(
        "_plan_panel.html",
        review=review,
        timezone=current.timezone,
        can_edit=can_edit,
    )


def _editable(user: Any, current: SessionPlan) -> tuple[bool, str]:
    if not allowed(user.role, "clinical.write"):
        return False, "Read only: your role does not plan treatments."
    if current.status != "planned":
        return False, f"Read only: the session is {current.status}."
    if any(p.state != "pending" for p in current.points.values()):
        return False, "Read only: charting has begun, the plan is fixed."
    return True, ""


@routes.get("/sessions/{session_id}/plan", name="plan_editor")
def plan_editor(request: Request, session_id: uuid.UUID) -> Response:
    """The plan on the face, editable by touch, with the live totals and findings."""
    user = signed_in_user(request)
    state = app_state(request)
    current = charting.session_plan(state.db, user.clinic_id, session_id)
    record_read(
        state.db, clinic_id=user.clinic_id, user_id=user.user_id, entity="session",
        entity_id=session_id, via="page:plan_editor",
    )  # fmt: skip
    review = charting.review_session_plan(state.db, user.clinic_id, session_id, _library())
    can_edit, locked = _editable(user, current)
    view = _view(request, user, current)
    data = {
        "session_id": str(session_id),
        "version": current.version,
        "csrf": user.csrf_token or "",
        "can_edit": can_edit,
        "edit_url": f"/api/v1/sessions/{session_id}/plan/edits",
        "ack_url": f"/api/v1/sessions/{session_id}/plan/acknowledgements",
        # One entry per product's plan: edits act on the one chosen.
        "plans": [
            {
                "product": plan.product,
                "spacing_mm": str(plan.spacing_mm),
                "zone_spacing": {z.zone: str(plan.spacing_mm) for z in plan.summary.zones},
            }
            for plan in current.plans
        ],
        # A point lying outside every zone is kept in its zone and blocked by this finding.
        "outside_code": ZONE_MISMATCH.code,
        "view": view.data(point_radius_mm=EDITOR_POINT_MM),
        "points": _points(current.plans, review),
    }
    _SENT.put((user.clinic_id, session_id, current.version), _point_data(current.plans))
    from dosemap.domain.atlas.zones import ZONE_ORDER

    return state.templates.page(
        "plan_editor.html",
        title="Plan",
        user=user,
        active="/patients",
        plan=current.plan,
        plans=current.plans,
        review=review,
        session_id=session_id,
        patient_id=current.patient_id,
        patient_name=current.patient_name,
        view_caption=view.caption,
        timezone=current.timezone,
        can_edit=can_edit,
        locked_reason=locked,
        zones=list(ZONE_ORDER),
        editor_data=data,
    )


class EditBody(BaseModel):
    """Edits to apply in order, against the version the editor last saw."""

    model_config = ConfigDict(extra="forbid")

    expected_version: int = Field(ge=1)
    edits: list[PlanEdit] = Field(min_length=1, max_length=50)
    #: Which product's plan the edits act on (its index in a session of several products).
    plan: int = Field(default=0, ge=0, le=50)


@routes.post("/api/v1/sessions/{session_id}/plan/edits", name="plan_edit")
async def plan_edit(request: Request, session_id: uuid.UUID, body: EditBody) -> JSONResponse:
    """Apply edits; answer the new version, the points that changed (or all of them), every
    flagged point's codes and the panel."""
    user = signed_in_user(request)
    state = app_state(request)
    library = _library()

    current = await run_in_threadpool(
        lambda: charting.edit_session_plan(
            state.db, user.clinic_id, session_id, body.edits, library,
            expected_version=body.expected_version, actor=user.actor, review=True,
            plan_index=body.plan,
        )
    )  # fmt: skip
    review = current.review
    assert review is not None
    placed = placed_point(current.plans[body.plan], body.edits[-1], current.before_last_edit)
    points = _edit_answer_points(
        (user.clinic_id, session_id, current.version),
        (user.clinic_id, session_id, body.expected_version),
        current.plans,
        review,
    )
    return JSONResponse(
        {
            "version": current.version,
            **points,
            "placed": None if placed is None else placed.number,
            "panel_html": _panel(request, current, review, True),
            "blocked": review.blocked,
            "total_units": str(review.summary.total_units),
        }
    )


class AckBody(BaseModel):
    """An acknowledgement of one warning."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=60)
    zone: str | None = Field(default=None, max_length=60)
    point_numbers: list[int] = Field(default_factory=list, max_length=2000)
    reason: str = Field(min_length=1, max_length=2000)


@routes.post("/api/v1/sessions/{session_id}/plan/acknowledgements", name="plan_acknowledge")
async def plan_acknowledge(request: Request, session_id: uuid.UUID, body: AckBody) -> JSONResponse:
    """Record who accepts a warning and why; answer the panel."""
    user = signed_in_user(request)
    state = app_state(request)
    staff_id = user.staff_id
    if staff_id is None:
        raise InvalidInputError("user", "this login is not linked to a staff member", "staff")
    library = _library()

    def work() -> tuple[SessionPlan, PlanReview]:
        charting.acknowledge_warning(
            state.db, user.clinic_id, session_id, library, code=body.code, zone=body.zone,
            point_numbers=tuple(body.point_numbers), reason=body.reason,
            staff_id=staff_id, actor=user.actor,
        )  # fmt: skip
        current = charting.session_plan(state.db, user.clinic_id, session_id)
        return current, charting.review_session_plan(state.db, user.clinic_id, session_id, library)

    current, review = await run_in_threadpool(work)
    can_edit, _ = _editable(user, current)
    return JSONResponse({"panel_html": _panel(request, current, review, can_edit)})


@routes.get("/sessions/{session_id}/chart", name="chart")
def chart(request: Request, session_id: uuid.UUID) -> Response:
    """Chart mode: the points in injection order, large, tap by tap."""
    return _chart_page(request, signed_in_user(request), session_id)


#: How each product's points are told apart in chart mode besides colour (accessibility): the
#: marker's shape and the letter the legend gives it, by the product's place in the session.
CHART_MARKERS = (("circle", "A"), ("square", "B"), ("diamond", "C"), ("triangle", "D"))


@dataclass(frozen=True)
class ChartProduct:
    """One product of the session as chart mode shows it: its marker, dilution, vial choice."""

    index: int
    plan: Plan
    shape: str
    letter: str
    vials: tuple[VialChoice, ...]
    lot: LotPick | None  # the lot typed for this product's vial, if it was this one's
    errors: dict[str, str]  # the lot form's errors, when it was this product's

    @property
    def suffix(self) -> str:
        """The ids' suffix of this product's vial fields (none for the first product)."""
        return "" if self.index == 0 else f"-{self.index}"


def _chart_page(
    request: Request,
    user: Any,
    session_id: uuid.UUID,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    lot: LotPick | None = None,
) -> Response:
    state = app_state(request)
    current = charting.session_plan(state.db, user.clinic_id, session_id)
    record_read(
        state.db, clinic_id=user.clinic_id, user_id=user.user_id, entity="session",
        entity_id=session_id, via="page:chart",
    )  # fmt: skip
    if current.status == "signed":
        return RedirectResponse(f"/sessions/{session_id}/amend", status_code=303)
    view = _view(request, user, current)
    errors = errors or {}
    lot_errors = {k: v for k, v in errors.items() if k in ("lot_number", "vial_id")}
    picked_plan = lot.plan if lot is not None else 0
    products = []
    for index, plan in enumerate(current.plans):
        shape, letter = CHART_MARKERS[index % len(CHART_MARKERS)]
        mine = index == picked_plan
        products.append(
            ChartProduct(
                index=index,
                plan=plan,
                shape=shape,
                letter=letter if index < len(CHART_MARKERS) else f"{letter}{index}",
                vials=tuple(charting.open_vials(state.db, user.clinic_id, plan.product)),
                lot=lot if mine else None,
                errors=lot_errors if mine else {},
            )
        )
    data = {
        "session_id": str(session_id),
        "version": current.version,
        "csrf": user.csrf_token or "",
        "tap_url": f"/api/v1/sessions/{session_id}/taps",
        "max_taps_a_request": MAX_TAPS_A_REQUEST,
        "view": view.data(point_radius_mm=CHART_POINT_MM),
        # One entry per product: its marker and the vial select its taps draw from.
        "plans": [
            {
                "product": p.plan.product,
                "units_per_ml": str(p.plan.mix.units_per_ml),
                "shape": p.shape,
                "letter": p.letter,
                "vial_select": f"vial-select{p.suffix}",
            }
            for p in products
        ],
        "points": [
            {
                "number": p.number,
                "plan": index,
                "zone": p.zone,
                "anchor": {"vertices": list(p.anchor.vertices), "weights": list(p.anchor.weights)},
                "planned_ul": str(p.volume_ul),
                "volume_ul": str(p.volume_ul),
                "state": "pending",
            }
            for index, plan in enumerate(current.plans)
            for p in plan.points
        ],
        "recorded": current.recorded_taps,
    }
    zones: dict[str, int] = {}
    for plan in current.plans:
        for z in plan.summary.zones:
            zones[z.zone] = zones.get(z.zone, 0) + z.points
    return state.templates.page(
        "chart.html",
        title="Chart",
        user=user,
        active="/patients",
        status_code=status_code,
        plan=current.plan,
        products=products,
        zones=[(zone, count) for zone, count in zones.items() if count],
        has_ha=any(p.mix.contains_hyaluronic_acid for p in current.plans),
        session_id=session_id,
        patient_name=current.patient_name,
        version=current.version,
        occlusion_steps=OCCLUSION_STEPS,
        hyaluronidase="ask and record it before starting",
        adverse_kinds=get_args(AdverseKind),
        severities=SEVERITIES,
        chart_data=data,
        form=form or {},
        errors=errors,
        lot=lot,
    )


@dataclass(frozen=True)
class LotPick:
    """A lot number typed or scanned in chart mode, its open vials and the one chosen."""

    number: str
    vials: tuple[VialChoice, ...] = ()
    chosen: uuid.UUID | None = None
    plan: int = 0  # the product (its plan's index in the session) the vial is for


@routes.post("/sessions/{session_id}/chart/vial", name="chart_vial")
async def chart_vial(request: Request, session_id: uuid.UUID) -> Response:
    """The vial by its lot number (typed, or a barcode scanner's keys and Enter): one open vial
    of the lot is chosen; several are offered to pick from; none is a field error."""
    user = signed_in_user(request)
    state = app_state(request)
    form = await form_dict(request)
    number = form.get("lot_number", "").strip()

    def work() -> Response:
        current = charting.session_plan(state.db, user.clinic_id, session_id)
        try:
            index = _plan_index(form.get("plan", "0"), len(current.plans))
        except InvalidInputError as exc:  # no product's form: named above them all
            return _chart_page(request, user, session_id, errors=field_errors(exc), status_code=422)
        product = current.plans[index].product
        try:
            found = tuple(charting.vials_of_lot(state.db, user.clinic_id, product, number))
        except InvalidInputError as exc:
            return _chart_page(
                request, user, session_id, errors=field_errors(exc), status_code=422,
                lot=LotPick(number, plan=index),
            )  # fmt: skip
        picked = form.get("vial_id", "")
        if picked:
            match = [v for v in found if str(v.id) == picked]
            if not match:
                labels = ", ".join(v.label for v in found)
                errors = {"vial_id": f"is not an open vial of lot {number} (allowed: {labels})"}
                return _chart_page(
                    request, user, session_id, errors=errors, status_code=422,
                    lot=LotPick(number, found, plan=index),
                )  # fmt: skip
            found = tuple(match)
        chosen = found[0].id if len(found) == 1 else None
        return _chart_page(
            request, user, session_id, lot=LotPick(number, found, chosen, plan=index)
        )

    return await run_in_threadpool(work)


def _plan_index(text: str, count: int) -> int:
    """The ``plan`` field of the lot form: which product's vial (0 … count − 1)."""
    allowed_ = f"0 to {count - 1} (the product's place in the session)"
    try:
        index = int(text or "0")
    except ValueError:
        raise InvalidInputError("plan", f"{text!r} is not a whole number", allowed_) from None
    if not 0 <= index < count:
        raise InvalidInputError("plan", f"no product {index} in this session", allowed_)
    return index


class TapBody(BaseModel):
    """Taps and the session version the device last saw: ``tap`` (one) or ``taps`` (a queue)."""

    model_config = ConfigDict(extra="forbid")

    expected_version: int = Field(ge=1)
    tap: TapInput | None = None
    taps: list[TapInput] | None = Field(default=None, min_length=1, max_length=MAX_TAPS_A_REQUEST)

    @model_validator(mode="after")
    def _one_or_a_queue(self) -> TapBody:
        if (self.tap is None) == (self.taps is None):
            raise ValueError("give either tap (one tap) or taps (the queued taps, in order)")
        return self


@routes.post("/api/v1/sessions/{session_id}/taps", name="chart_tap")
async def chart_tap(request: Request, session_id: uuid.UUID, body: TapBody) -> JSONResponse:
    """Save one tap or a device's queued taps in order, all or none (each written once by its
    id); answer the session's new version."""
    user = signed_in_user(request)
    state = app_state(request)
    taps = body.taps if body.taps is not None else [body.tap] if body.tap is not None else []
    result = await run_in_threadpool(
        charting.record_taps, state.db, user.clinic_id, session_id, taps,
        expected_version=body.expected_version, actor=user.actor,
    )  # fmt: skip
    return JSONResponse({"version": result.version, "duplicate": result.duplicate})


def _decimal_or_none(value: str) -> int | None:
    return int(value) if value.strip() else None


@routes.post("/sessions/{session_id}/chart/finish", name="chart_finish")
async def chart_finish(request: Request, session_id: uuid.UUID) -> Response:
    """Write the chart from the taps; on to signing."""
    user = signed_in_user(request)
    state = app_state(request)
    form = await form_dict(request)
    try:
        pain = _decimal_or_none(form.get("pain_score", ""))
        version = int(form.get("expected_version", "0"))
    except ValueError:
        raise InvalidInputError("pain_score", "is not a whole number", "0-10") from None
    await run_in_threadpool(
        charting.finish_chart, state.db, user.clinic_id, session_id, _library(),
        performed_at=datetime.now().astimezone(), pain_score=pain,
        numbing=form.get("numbing", "")[:120], notes=form.get("notes", "")[:4000],
        expected_version=version, actor=user.actor,
    )  # fmt: skip
    return RedirectResponse(f"/sessions/{session_id}/sign", status_code=303)


@routes.post("/sessions/{session_id}/adverse-events", name="chart_adverse_event")
async def chart_adverse_event(request: Request, session_id: uuid.UUID) -> Response:
    """Record an immediate adverse event of this session, at the severity the injector chose."""
    user = signed_in_user(request)
    state = app_state(request)
    form = await form_dict(request)
    current = await run_in_threadpool(charting.session_plan, state.db, user.clinic_id, session_id)
    try:
        data = AdverseEventInput(
            session_id=session_id,
            kind=_choice(form, "kind", get_args(AdverseKind)),
            onset_at=datetime.now().astimezone(),
            severity=_choice(form, "severity", SEVERITIES),
            action=form.get("description", "").strip() or None,
        )
        await run_in_threadpool(
            record_adverse_event, state.db, user.clinic_id, current.patient_id, data,
            actor=user.actor, recorded_by=user.staff_id,
        )  # fmt: skip
    except (ValidationError, InvalidInputError) as exc:
        errors = {_AE_FIELDS.get(k, k): v for k, v in field_errors(exc).items()}
        return await run_in_threadpool(
            lambda: _chart_page(
                request, user, session_id, form=clean(form), errors=errors, status_code=422
            )
        )
    return RedirectResponse(f"/sessions/{session_id}/chart", status_code=303)


#: The adverse-event input's field -> the chart form's field it came from.
_AE_FIELDS = {"action": "description"}


def _choice(form: dict[str, str], field: str, allowed: tuple[str, ...]) -> Any:
    """The form's value of ``field`` if it is one of ``allowed`` (else a field error)."""
    value = form.get(field, "")
    if value not in allowed:
        said = f"{value!r} is not one" if value else "none chosen"
        raise InvalidInputError(field, said, ", ".join(allowed))
    return value


def _volume(text: str, field: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise InvalidInputError(field, f"{text!r} is not a number", "µL") from None


__all__ = ["routes", "sessions"]
