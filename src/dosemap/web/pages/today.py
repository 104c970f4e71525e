"""The Today page."""

from __future__ import annotations

import time
import uuid

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from dosemap.services.clinic_day import records_version
from dosemap.services.clinic_day import today as clinic_today
from dosemap.web.security import router, signed_in_user
from dosemap.web.state import AppState, app_state

routes = router()


@routes.get("/", name="today")
async def today(request: Request) -> Response:
    """Today's sessions, follow-ups due, open vials with their beyond-use countdown, lots
    expiring within 30 days.

    The content is the same for everyone of the clinic until the records change or the minute
    turns (the countdowns), so it is rendered once per (clinic, records version, minute).
    """
    user = signed_in_user(request)
    state = app_state(request)
    version = user.records_version or await run_in_threadpool(records_version, state.db)
    key = ("today", user.clinic_id, version, int(time.time() // 60))
    content = await state.pages.get_or_make(key, lambda: _content(state, user.clinic_id))
    return state.templates.wrap(content, user=user, title="Today", active="/")


def _content(state: AppState, clinic_id: uuid.UUID) -> str:
    return state.templates.content("today.html", day=clinic_today(state.db, clinic_id))
