"""CPU µs per request that a request body limit adds, around an ASGI app that answers at once:
nothing, dosemap's ``BodyLimit`` (``web/body_limit.py``), Starlette's
``RequestBodyLimitMiddleware`` and FastAPI's app-wide ``max_body_size``. A GET without a body,
and a POST whose 7-byte body the app reads (the patient search's size).

Usage::

    .venv/bin/python benchmarks/bench_body_limit.py [--requests 200000]

Prints, per limiter, the least over five rounds of CPU µs per request, and the difference to
no limiter (what the limiter costs a request).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from fastapi._body_limit import AppBodyLimitMiddleware
from starlette.middleware.body_limit import RequestBodyLimitMiddleware

from dosemap.web.body_limit import DEFAULT_BODY_BYTES, BodyLimit, BodyLimits

ROUNDS = 5
HEADERS = [
    (b"host", b"127.0.0.1:8000"),
    (b"user-agent", b"Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X)"),
    (b"accept", b"*/*"),
    (b"cookie", b"dm_session=0123456789abcdef0123456789abcdef"),
    (b"hx-request", b"true"),
    (b"x-csrf-token", b"0123456789abcdef"),
    (b"content-type", b"application/x-www-form-urlencoded"),
    (b"content-length", b"7"),
]


async def answer(scope: Any, receive: Any, send: Any) -> None:
    if scope["method"] == "POST":
        await receive()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"name=Ga", "more_body": False}


async def send(message: dict[str, Any]) -> None:
    return None


def per_request(app: Any, method: str, n: int, loop: asyncio.AbstractEventLoop) -> float:
    scope = {"type": "http", "method": method, "path": "/patients/search", "headers": HEADERS}

    async def many() -> None:
        for _ in range(n):
            await app(dict(scope), receive, send)

    loop.run_until_complete(many())  # warm-up
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.process_time()
        loop.run_until_complete(many())
        best = min(best, (time.process_time() - started) / n * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200_000, help="per round (5 rounds)")
    args = parser.parse_args()
    loop = asyncio.new_event_loop()
    limiters = {
        "none": answer,
        "dosemap BodyLimit": BodyLimit(answer, limits=BodyLimits(DEFAULT_BODY_BYTES)),
        "Starlette middleware": RequestBodyLimitMiddleware(answer, DEFAULT_BODY_BYTES),
        "FastAPI max_body_size": AppBodyLimitMiddleware(answer, DEFAULT_BODY_BYTES),
    }
    base: dict[str, float] = {}
    print(f"{'limiter':<22} {'GET µs':>7} {'added':>6} {'POST µs':>8} {'added':>6}")
    for name, app in limiters.items():
        get = per_request(app, "GET", args.requests, loop)
        post = per_request(app, "POST", args.requests, loop)
        base.setdefault("GET", get)
        base.setdefault("POST", post)
        print(
            f"{name:<22} {get:>7.2f} {get - base['GET']:>+6.2f} "
            f"{post:>8.2f} {post - base['POST']:>+6.2f}"
        )


if __name__ == "__main__":
    main()
