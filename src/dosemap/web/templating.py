"""Jinja2 templates, compiled once per process and never re-read (``auto_reload=False``).

Templates render with the filters below; pages call :meth:`Templates.page` (a whole page in
``base.html``) or :meth:`Templates.partial` (an htmx fragment).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse

from dosemap.web.permissions import ROLE_NAMES, permissions_of

HTMX_FILE = "htmx-2.0.11.min.js"

#: The navigation: (label, path, permission needed to see it).
NAV: tuple[tuple[str, str, str], ...] = (
    ("Today", "/", "today.view"),
    ("Patients", "/patients", "patients.list"),
)


def units(value: Decimal | None, places: int = 2) -> str:
    """Units at the chart's sensible precision (``2.5``, ``0.25``, ``100``)."""
    if value is None:
        return "—"
    q = Decimal(1).scaleb(-places)
    text = f"{value.quantize(q):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def local_time(value: datetime | None, tz: str = "UTC", fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A timestamp in the clinic's time zone."""
    if value is None:
        return "—"
    return value.astimezone(ZoneInfo(tz)).strftime(fmt)


def countdown(until: datetime, at: datetime) -> str:
    """``in 3 d 4 h`` / ``expired 2 h ago``: what the beyond-use column shows."""
    delta = until - at
    past = delta < timedelta(0)
    delta = abs(delta)
    days, rest = divmod(int(delta.total_seconds()), 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    text = (
        f"{days} d {hours} h"
        if days
        else (f"{hours} h {minutes} min" if hours else f"{minutes} min")
    )
    return f"expired {text} ago" if past else f"in {text}"


def iso_day(value: date | None) -> str:
    """A day as YYYY-MM-DD."""
    return value.isoformat() if value is not None else "—"


class Templates:
    """The app's Jinja2 environment and its two ways of rendering."""

    def __init__(self) -> None:
        self.env = Environment(
            loader=PackageLoader("dosemap.web", "templates"),
            autoescape=select_autoescape(["html"]),
            auto_reload=False,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(
            units=units, local_time=local_time, countdown=countdown, day=iso_day
        )
        self.env.globals.update(htmx_file=HTMX_FILE, role_names=ROLE_NAMES)
        self._nav: dict[str | None, list[tuple[str, str]]] = {
            role: [(label, path) for label, path, perm in NAV if perm in permissions_of(role)]
            for role in ROLE_NAMES
        }
        self._nav[None] = []

    def render(self, name: str, **context: Any) -> str:
        """The template ``name`` rendered with ``context``."""
        return self.env.get_template(name).render(**context)

    def page(
        self, name: str, *, user: Any, status_code: int = 200, active: str = "", **context: Any
    ) -> HTMLResponse:
        """A whole page: ``name`` extends ``base.html``; ``user`` is the signed-in caller."""
        role = getattr(user, "role", None)
        csrf = context.pop("csrf", "") or getattr(user, "csrf_token", None) or ""
        html = self.render(
            name, user=user, nav=self._nav.get(role, []), active=active, csrf=csrf, **context
        )
        return HTMLResponse(html, status_code=status_code)

    def partial(self, name: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
        """An htmx fragment (no layout)."""
        return HTMLResponse(self.render(name, **context), status_code=status_code)
