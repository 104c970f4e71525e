"""Sites: where a person with grants works now, and switching to another site of the group.

The session keeps the site; every page is then scoped to it exactly as to one's own clinic
(``services.sites``). A site the person holds no live grant for is *not found*, like any
other clinic's.
"""

from __future__ import annotations

import uuid

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from dosemap.domain.errors import InvalidInputError
from dosemap.services import sites
from dosemap.web.forms import form_dict
from dosemap.web.security import router, signed_in_user
from dosemap.web.state import app_state

routes = router()


@routes.get("/sites", name="sites")
def sites_page(request: Request) -> Response:
    """The sites one may work at: one's own clinic and those whose grants hold."""
    user = signed_in_user(request)
    state = app_state(request)
    choices = sites.sites_of(state.db, user.user_id, user.own_clinic_id)
    return state.templates.page(
        "sites.html", user=user, title="Sites", choices=choices, current=user.clinic_id
    )


@routes.post("/sites", name="site_switch")
async def site_switch(request: Request) -> Response:
    """Work at another site (a live grant there, or one's own clinic), then Today."""
    user = signed_in_user(request)
    state = app_state(request)
    form = await form_dict(request)
    try:
        clinic_id = uuid.UUID(form.get("clinic_id", ""))
    except ValueError:
        raise InvalidInputError("clinic_id", "is not a site id", "a site listed on Sites") from None
    if user.session_hash is None:  # an access token has no session to move
        raise InvalidInputError("clinic_id", "only a signed-in browser switches sites", "sign in")
    site = await run_in_threadpool(
        sites.check_site, state.db, user.user_id, user.own_clinic_id, clinic_id
    )
    await run_in_threadpool(state.sessions.work_at, user.session_hash, site)
    return RedirectResponse("/", status_code=303)
