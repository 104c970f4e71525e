"""Jinja2 templates, compiled once per process and never re-read (``auto_reload=False``).

Templates render with the filters below; pages call :meth:`Templates.page` (a whole page),
:meth:`Templates.content` + :meth:`Templates.wrap` (a cached content in the layout) or
:meth:`Templates.partial` (an htmx fragment).
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse

from dosemap.web.permissions import ROLE_NAMES, allowed, permissions_of

HTMX_FILE = "htmx-2.0.11.min.js"

#: The navigation: (label, path, permission needed to see it).
NAV: tuple[tuple[str, str, str], ...] = (
    ("Today", "/", "today.view"),
    ("Patients", "/patients", "patients.list"),
    ("Vials", "/vials", "vials.view"),
    ("Recall", "/recall", "recall.view"),
    ("Follow-ups", "/followups", "followups.view"),
    ("Adverse events", "/adverse-events", "adverse_events.view"),
    ("Audit", "/audit", "audit.view"),
    ("Staff", "/staff", "staff.manage"),
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


_V = TypeVar("_V")  # what a PageCache entry holds
_CONTENT = "\x00content\x00"
_CSRF = "\x00csrf\x00"
_NAME = "\x00name\x00"
_SITE = "\x00site\x00"


@dataclass(frozen=True)
class _FrameUser:
    """Stands in for the signed-in person while a layout frame is rendered."""

    role: str
    display_name: str = _NAME


def _site_link(user: Any) -> str:
    """The header's site: where a person with grants works now, and the way to switch
    (nothing for everyone else: one site, nothing to choose)."""
    if not getattr(user, "can_switch", False) and getattr(user, "home_clinic_id", None) is None:
        return ""
    away = getattr(user, "home_clinic_id", None) is not None
    return (
        f'<a class="site{" away" if away else ""}" href="/sites">'
        f"{escape(getattr(user, 'site_name', ''))}<span>· switch site</span></a>"
    )


class Templates:
    """The app's Jinja2 environment.

    A page is its *content* (``templates/<page>.html``: what the page shows, the same for
    everyone of a clinic at one records version, so it can be cached) wrapped in the
    *layout* (``layout.html``: navigation, the signed-in person, the CSRF token).
    """

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
        self.env.globals.update(htmx_file=HTMX_FILE, role_names=ROLE_NAMES, allowed=allowed)
        self._nav: dict[str | None, list[tuple[str, str]]] = {
            role: [(label, path) for label, path, perm in NAV if perm in permissions_of(role)]
            for role in ROLE_NAMES
        }
        self._layout = self.env.get_template("layout.html")
        self._frames: dict[tuple[str | None, str, str, bool], tuple[str, str]] = {}

    def content(self, name: str, **context: Any) -> str:
        """The template ``name`` rendered with ``context`` (a page's content or a partial)."""
        return self.env.get_template(name).render(**context)

    def wrap(
        self,
        content: str,
        *,
        user: Any,
        title: str,
        active: str = "",
        csrf: str = "",
        status_code: int = 200,
    ) -> HTMLResponse:
        """``content`` in the layout, for ``user`` (``None`` before sign-in)."""
        role = getattr(user, "role", None)
        token = csrf or getattr(user, "csrf_token", None) or ""
        name = getattr(user, "display_name", "")
        head, tail = self._frame(role, title, active, bool(token))
        # The frame is the layout rendered once per (role, title, nav entry) around markers;
        # the per-person parts are escaped and put in here (a whole Jinja render cost ~0.1 ms).
        head = (
            head.replace(_CSRF, escape(token))
            .replace(_NAME, escape(name))
            .replace(_SITE, _site_link(user))
        )
        return HTMLResponse("".join((head, content, tail)), status_code=status_code)

    def _frame(self, role: str | None, title: str, active: str, csrf: bool) -> tuple[str, str]:
        key = (role, title, active, csrf)
        found = self._frames.get(key)
        if found is None:
            html = self._layout.render(
                content=Markup(_CONTENT),
                user=None if role is None else _FrameUser(role),
                title=title,
                nav=self._nav.get(role, []),
                active=active,
                csrf=_CSRF if csrf else "",
                site=_SITE,
            )
            head, _, tail = html.partition(_CONTENT)
            if _CSRF in tail or _NAME in tail or _SITE in tail:
                raise AssertionError("layout.html: the person's parts must come before content")
            found = self._frames[key] = (head, tail)
        return found

    def page(
        self,
        name: str,
        *,
        user: Any,
        title: str,
        status_code: int = 200,
        active: str = "",
        csrf: str = "",
        **context: Any,
    ) -> HTMLResponse:
        """A whole page: ``name``'s content (with ``csrf`` in its context) in the layout."""
        token = csrf or getattr(user, "csrf_token", None) or ""
        return self.wrap(
            self.content(name, csrf=token, title=title, **context),
            user=user,
            title=title,
            active=active,
            csrf=token,
            status_code=status_code,
        )

    def partial(self, name: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
        """An htmx fragment (no layout)."""
        return HTMLResponse(self.content(name, **context), status_code=status_code)


class PageCache:
    """Rendered page contents keyed by what they depend on, least recently used dropped.

    Keys always hold the clinic id and the records version (see
    :func:`dosemap.services.clinic_day.records_version`), so an entry is never shown to
    another clinic and is stale the moment the record changes. A value is usually the HTML,
    or what the page needs beside it (a search's rows and the patient ids to access-log).
    """

    def __init__(self, max_entries: int = 2048) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._pending: dict[Hashable, asyncio.Future[Any]] = {}

    def get(self, key: Hashable) -> Any:
        """The entry under ``key``, if any."""
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    async def get_or_make(self, key: Hashable, make: Callable[[], _V]) -> _V:
        """The entry under ``key``, else ``make()`` run once in the thread pool however many
        requests ask for it meanwhile (at the turn of a minute, 64 waiting requests would
        otherwise all render the same page)."""
        found: _V | None = self.get(key)
        if found is not None:
            return found
        pending = self._pending.get(key)
        if pending is not None:
            shared: _V = await asyncio.shield(pending)
            return shared
        future: asyncio.Future[_V] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            value = await run_in_threadpool(make)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: a waiter-less failure is not logged as lost
            raise
        finally:
            self._pending.pop(key, None)
        self.put(key, value)
        future.set_result(value)
        return value

    def put(self, key: Hashable, value: object) -> None:
        """Keep ``value`` under ``key``."""
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
