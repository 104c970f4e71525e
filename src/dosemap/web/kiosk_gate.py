"""The gate of the patient kiosk's routes (permission ``kiosk`` in the table).

A kiosk route is open only to the tablet holding a live kiosk session cookie (``dm_kiosk``,
scoped to ``/kiosk``), and shows only that session's patient. A staff session gives no access
to it, and a kiosk session none to anything else. Called by
:func:`dosemap.web.security.authorise`.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from dosemap.services.kiosk import KioskSession, kiosk_session
from dosemap.web.forms import posted_form
from dosemap.web.state import app_state

KIOSK_COOKIE = "dm_kiosk"
KIOSK_PATH = "/kiosk"


class KioskEnded(Exception):
    """No live kiosk session: the questionnaire was handed in, expired, or never opened."""


async def kiosk_gate(request: Request, *, safe_method: bool) -> None:
    """Find the kiosk session of ``request`` (else :class:`KioskEnded`); check CSRF on writes."""
    from dosemap.web.security import CSRF_FIELD, CSRF_HEADER, Forbidden

    cookie = request.cookies.get(KIOSK_COOKIE)
    session = (
        await run_in_threadpool(kiosk_session, app_state(request).db, cookie) if cookie else None
    )
    if session is None:
        raise KioskEnded()
    request.state.kiosk = session
    if safe_method:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        value = (await posted_form(request)).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(session.csrf_token, sent):
        raise Forbidden("the form's security token is missing or stale; reload the page")


def current_kiosk(request: Request) -> KioskSession:
    """The kiosk session :func:`kiosk_gate` found for this request."""
    session: KioskSession | None = getattr(request.state, "kiosk", None)
    if session is None:
        raise KioskEnded()
    return session


KioskUser = Annotated[KioskSession, Depends(current_kiosk)]
