"""The request body limit: every body is held to a size before it is read into memory.

A body over its route's limit is refused with 413 (:class:`BodyTooLarge`, rendered by the
app's error handler as a page, or as JSON under ``/api/``): at the first read when the
``Content-Length`` is over, else as soon as the bytes streamed (a chunked body) pass it.
Nothing is read beyond the limit, so no form, photo or record is ever handled half-read.

Starlette's and FastAPI's own ``max_body_size`` do the same, but not cheaply or per app: the
app-wide one adds ~4 µs to every request, a GET too (a responder object, a header parse, a
wrapped ``send``), and a route's own figure is fixed when the route is declared at import
time, while ours come from the app's settings. :class:`BodyLimit` passes a GET or HEAD on
untouched (~0.2 µs) and finds the route's figure only when a body is read, by the route the
router has already matched (``scope["route"]``): ~1.5 µs a POST
(``benchmarks/bench_body_limit.py``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from math import ceil

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dosemap.services.consent import MAX_SIGNATURE_URL_CHARS
from dosemap.services.photos import MAX_PHOTO_BYTES

KIB = 1024
MIB = 1024 * KIB
#: Room for a form's small fields (CSRF token, names, a view) and multipart framing beside
#: its one large field.
FORM_ROOM = 64 * KIB
#: Any form or JSON body: the largest field of the app's ordinary forms is a consent text
#: (50 000 characters, under 1 MiB even if every one is percent-encoded UTF-8).
DEFAULT_BODY_BYTES = 1 * MIB
#: The photo upload: a photo as large as the photo store accepts, whole MiB.
PHOTO_BODY_BYTES = ceil((MAX_PHOTO_BYTES + FORM_ROOM) / MIB) * MIB  # 51 MiB
#: The signed consent: the longest signature data URL the service accepts, each character
#: up to 3 bytes once form-encoded (base64's ``+``, ``/`` and ``=`` become ``%2B`` …).
CONSENT_BODY_BYTES = ceil((3 * MAX_SIGNATURE_URL_CHARS + FORM_ROOM) / MIB) * MIB  # 3 MiB

#: Requests whose body no route reads (``create_app`` refuses a GET route declaring one).
BODILESS_METHODS = frozenset({"GET", "HEAD"})


def size_text(n: int) -> str:
    """``n`` bytes for a person: ``1 MiB``, ``51 MiB``, ``640 KiB``, ``1.5 MiB``."""
    if n >= MIB:
        return f"{n / MIB:.1f}".removesuffix(".0") + " MiB"
    if n >= KIB:
        return f"{n / KIB:.1f}".removesuffix(".0") + " KiB"
    return f"{n} bytes"


class BodyTooLarge(HTTPException):
    """A request body over its limit (413). An HTTPException, so that FastAPI's body reading
    passes it on as it is rather than as a 400 "error parsing the body"."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            413, f"The request is larger than this address accepts: at most "
            f"{size_text(limit)} ({limit} bytes).",
        )  # fmt: skip
        self.limit = limit


@dataclass(frozen=True)
class BodyLimits:
    """The app's figures: ``default`` for every route but those in ``by_route`` (by name)."""

    default: int = DEFAULT_BODY_BYTES
    by_route: Mapping[str, int] = field(default_factory=dict)

    def of(self, scope: Scope) -> int:
        """The limit of the route matched for ``scope`` (the default before routing)."""
        name = getattr(scope.get("route"), "name", None)
        return self.by_route.get(name, self.default) if name else self.default


class BodyLimit:
    """The pure ASGI middleware that holds each request body to :class:`BodyLimits`."""

    def __init__(self, app: ASGIApp, *, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    # Not ``async``: the inner app's awaitable is returned as it is, so a request pays no
    # coroutine frame of its own here (a GET: one set look-up).
    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if scope["type"] != "http" or scope["method"] in BODILESS_METHODS:
            return self.app(scope, receive, send)
        return self.app(scope, _limited(scope, receive, self.limits), send)


def _limited(scope: Scope, receive: Receive, limits: BodyLimits) -> Receive:
    limit = -1  # found at the first read, when the router has set scope["route"]
    seen = 0

    async def receive_limited() -> Message:
        nonlocal limit, seen
        if limit < 0:
            limit = limits.of(scope)
            length = _content_length(scope)
            if length is not None and length > limit:
                raise BodyTooLarge(limit)  # before a byte is read (nor 100 Continue sent)
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
        return message

    return receive_limited


def _content_length(scope: Scope) -> int | None:
    for key, value in scope["headers"]:
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed one; else the count decides
    return None
