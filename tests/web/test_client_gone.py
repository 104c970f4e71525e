"""A client that hangs up before its form arrives is let go quietly: nothing is written, and
the app does not treat it as a crash (it was logged as "Exception in ASGI application")."""

from __future__ import annotations

import asyncio
from typing import Any

from dosemap.services.audit import verify
from dosemap.web.security import SESSION_COOKIE
from support.web import WebWorld


def test_a_form_whose_client_hung_up_is_answered_and_writes_nothing(world: WebWorld) -> None:
    client = world.client("injector")
    cookie = f"{SESSION_COOKIE}={client.cookies[SESSION_COOKIE]}".encode()
    headers = [
        (b"cookie", cookie),
        (b"x-csrf-token", world.csrf(client).encode()),
        (b"content-type", b"application/x-www-form-urlencoded"),
        (b"content-length", b"200"),
    ]
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/patients", "raw_path": b"/patients", "query_string": b"",
        "root_path": "", "headers": headers, "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80), "state": {},
    }  # fmt: skip
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    entries = verify(world.db, records=False).entries
    asyncio.run(world.app(scope, receive, send))  # raised ClientDisconnect before
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 400
    assert verify(world.db, records=False).entries == entries  # no patient registered
