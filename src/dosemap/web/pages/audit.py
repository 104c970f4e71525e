"""The Audit page (admin, auditor): verify the hash-chained audit log end to end and view the
access log with filters."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from dosemap.domain.errors import InvalidInputError
from dosemap.services import audit as audit_trail
from dosemap.services.accounts import accounts_of
from dosemap.services.desk import ACCESS_LOG_LIMIT, AccessFilter, access_log_view
from dosemap.web.forms import field_errors
from dosemap.web.security import router, signed_in_user
from dosemap.web.state import app_state

routes = router()

FILTERS = ("username", "entity", "entity_id", "since", "until")
#: At most this many chain problems are listed (the count says how many there are).
PROBLEMS_SHOWN = 50


def _page(request: Request, user: Any, query: dict[str, str], *, report: Any = None) -> Response:
    state = app_state(request)
    errors: dict[str, str] = {}
    try:
        filters = AccessFilter.model_validate({k: v for k, v in query.items() if v})
        timezone, rows = access_log_view(state.db, user.clinic_id, filters)
    except (ValidationError, InvalidInputError) as exc:
        errors = field_errors(exc)
        timezone, rows = access_log_view(state.db, user.clinic_id, AccessFilter())
    return state.templates.page(
        "audit.html",
        user=user,
        title="Audit",
        active="/audit",
        status_code=422 if errors else 200,
        rows=rows,
        tz=timezone,
        limit=ACCESS_LOG_LIMIT,
        query=query,
        usernames=[a.username for a in accounts_of(state.db, user.clinic_id)],
        report=report,
        problems_shown=PROBLEMS_SHOWN,
        errors=errors,
    )


def _query(request: Request) -> dict[str, str]:
    return {k: request.query_params.get(k, "").strip()[:80] for k in FILTERS}


@routes.get("/audit", name="audit")
def audit(request: Request) -> Response:
    """The access log, newest first, filtered by person, kind, record and days."""
    user = signed_in_user(request)
    return _page(request, user, _query(request))


@routes.post("/audit/verify", name="audit_verify")
async def audit_verify(request: Request) -> Response:
    """Verify the keyed chain, every audited record against its last entry, and the log
    against the latest checkpoint, as ``dosemap audit verify`` does; show what it found in
    this clinic's records (other clinics' problems are counted, never named)."""
    user = signed_in_user(request)
    state = app_state(request)
    report = await run_in_threadpool(
        audit_trail.verify_for_clinic,
        state.db,
        user.clinic_id,
        state.settings.records.checkpoints_location,
    )
    return await run_in_threadpool(_page, request, user, _query(request), report=report)
