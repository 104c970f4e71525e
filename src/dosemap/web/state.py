"""What the app holds for its lifetime: settings, database, session store, templates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from dosemap.persistence.db import Database
from dosemap.services.access_log import AccessLogWriter
from dosemap.services.accounts import LockoutPolicy
from dosemap.services.signin import SessionPolicy, SessionStore
from dosemap.web.body_limit import BodyLimits
from dosemap.web.settings import WebSettings
from dosemap.web.throttle import Throttle

if TYPE_CHECKING:
    from fastapi import Request

    from dosemap.web.templating import PageCache, Templates


@dataclass
class AppState:
    """The app's long-lived parts (``app.state.dosemap``)."""

    settings: WebSettings
    db: Database
    sessions: SessionStore
    policy: SessionPolicy
    lockout: LockoutPolicy
    templates: Templates
    login_throttle: Throttle
    totp_throttle: Throttle
    pages: PageCache
    access_log: AccessLogWriter
    body_limits: BodyLimits


def app_state(request: Request) -> AppState:
    """The state of the app serving ``request``."""
    state: AppState = request.app.state.dosemap
    return state
