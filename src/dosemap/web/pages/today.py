"""The Today page."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from dosemap.services.clinic_day import today as clinic_today
from dosemap.web.security import SignedInUser, router
from dosemap.web.state import app_state

routes = router()


@routes.get("/", name="today")
def today(request: Request, user: SignedInUser) -> Response:
    """Today's sessions, follow-ups due, open vials with their beyond-use countdown, lots
    expiring within 30 days."""
    state = app_state(request)
    day = clinic_today(state.db, user.clinic_id)
    return state.templates.page("today.html", user=user, active="/", day=day)
