"""Request body limits (``web/body_limit.py``): a body over its route's limit is refused with
413 before it is read whole, as a page (or JSON under ``/api/v1``) naming the limit, and
nothing is written; the photo upload and the signed consent take larger bodies."""

from __future__ import annotations

import asyncio
import base64
import io
import select
import socket
import struct
import zlib
from collections.abc import AsyncIterator, Iterable
from math import ceil
from typing import Annotated
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
from fastapi import Body, FastAPI
from fastapi.testclient import TestClient
from PIL import Image

from dosemap.imaging.signature import MAX_SIGNATURE_BYTES
from dosemap.services import consent
from dosemap.services.audit import verify
from dosemap.services.consent import DATA_URL_PREFIX, MAX_SIGNATURE_URL_CHARS
from dosemap.services.job_queue import InProcessRunner, SharedDetector
from dosemap.services.photos import MAX_PHOTO_BYTES, PhotoStore
from dosemap.web.app import refuse_unlimited_bodies
from dosemap.web.body_limit import (
    CONSENT_BODY_BYTES,
    DEFAULT_BODY_BYTES,
    PHOTO_BODY_BYTES,
    BodyLimits,
)
from dosemap.web.pages.photos import PhotoServices
from dosemap.web.security import SESSION_COOKIE
from dosemap.web.settings import load_web_settings
from support.browser import LiveApp
from support.faces import face
from support.web import WebWorld, signature_data_url

CHUNK = 64 * 1024
TOTAL = 2000  # chunks of a body streamed to the live server (125 MiB)
FORM = {"content-type": "application/x-www-form-urlencoded"}


def _entries(world: WebWorld) -> int:
    return verify(world.db, records=False).entries


def _stream(
    world: WebWorld, role: str | None, path: str, chunks: Iterable[bytes], headers: dict[str, str]
) -> tuple[httpx.Response, int]:
    """POST ``chunks`` as they come (chunked, unless ``headers`` give a Content-Length), as
    ``role`` (signed in, CSRF token in the header); the answer and how many chunks the app
    pulled."""
    pulled = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal pulled
        for chunk in chunks:
            pulled += 1
            yield chunk

    sent = dict(headers)
    cookies = {}
    if role is not None:
        client = world.client(role)
        sent["x-csrf-token"] = world.csrf(client)
        cookies[SESSION_COOKIE] = client.cookies[SESSION_COOKIE]

    async def post() -> httpx.Response:
        transport = httpx.ASGITransport(app=world.app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", cookies=cookies
        ) as client:
            return await client.post(path, content=body(), headers=sent)

    return asyncio.run(post()), pulled


def test_the_larger_limits_hold_what_the_services_accept() -> None:
    assert PHOTO_BODY_BYTES > MAX_PHOTO_BYTES + 4096  # the largest photo and its form
    largest_drawing = len(DATA_URL_PREFIX) + 4 * ceil(MAX_SIGNATURE_BYTES / 3)
    assert largest_drawing <= MAX_SIGNATURE_URL_CHARS
    assert CONSENT_BODY_BYTES > 3 * MAX_SIGNATURE_URL_CHARS + 4096  # every character %-encoded
    assert min(PHOTO_BODY_BYTES, CONSENT_BODY_BYTES) > DEFAULT_BODY_BYTES


def test_the_limits_are_read_from_the_environment_in_kib() -> None:
    settings = load_web_settings(
        {
            "DOSEMAP_WEB_BODY_LIMIT_KIB": "256",
            "DOSEMAP_WEB_PHOTO_BODY_LIMIT_KIB": "20480",
            "DOSEMAP_WEB_CONSENT_BODY_LIMIT_KIB": "2048",
        }
    )
    assert settings.body_limit == 256 * 1024
    assert settings.photo_body_limit == 20 * 1024 * 1024
    assert settings.consent_body_limit == 2 * 1024 * 1024
    defaults = load_web_settings({})
    assert (defaults.body_limit, defaults.photo_body_limit, defaults.consent_body_limit) == (
        DEFAULT_BODY_BYTES,
        PHOTO_BODY_BYTES,
        CONSENT_BODY_BYTES,
    )
    for bad in ("0", "-1", "1MB"):
        with pytest.raises(ValueError, match="DOSEMAP_WEB_BODY_LIMIT_KIB"):
            load_web_settings({"DOSEMAP_WEB_BODY_LIMIT_KIB": bad})


@pytest.mark.parametrize("csrf_in", ["field", "header"])
def test_a_form_over_the_default_limit_is_refused_and_writes_nothing(
    world: WebWorld, csrf_in: str
) -> None:
    """Read first by the CSRF check (the token in the form) or by the page (htmx: header)."""
    client = world.client("admin")
    csrf = world.csrf(client)
    url = f"/patients/{world.own.patient_id}/consent-texts"
    text = "A consent text long enough. " * (DEFAULT_BODY_BYTES // 28 + 1)
    form = {"version": "big-1", "title": "Big", "text": text}
    before, entries = consent.current_text(world.db, world.own.clinic_id), _entries(world)
    if csrf_in == "field":
        response = client.post(url, data={"csrf_token": csrf, **form})
    else:
        response = client.post(url, data=form, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")
    assert "Too large" in response.text and "at most 1 MiB (1048576 bytes)" in response.text
    assert consent.current_text(world.db, world.own.clinic_id) == before
    assert _entries(world) == entries
    # Just under the limit the same form is read, and refused for its own reasons (422).
    form["text"] = "x" * 60_000
    assert client.post(url, data={"csrf_token": csrf, **form}).status_code == 422


def _big_face_jpeg() -> bytes:
    """A test portrait as a tablet camera sends it: several MiB (noise keeps JPEG large)."""
    image = Image.open(face("A000014.jpg")).convert("RGB")
    image = image.resize((image.width * 10, image.height * 10), Image.Resampling.BICUBIC)
    noise = Image.effect_noise(image.size, 40).convert("RGB")
    out = io.BytesIO()
    Image.blend(image, noise, 0.1).save(out, format="JPEG", quality=95)
    return out.getvalue()


def test_a_photo_over_the_default_limit_is_accepted_but_not_by_a_form(world: WebWorld) -> None:
    store = PhotoStore(world.app.state.dosemap.settings.records.photos_dir)
    runner = InProcessRunner(world.db, store)
    world.app.state.dosemap_photos = PhotoServices(store, runner, SharedDetector())
    client = world.client("injector")
    csrf = world.csrf(client)
    photo = _big_face_jpeg()
    assert DEFAULT_BODY_BYTES < len(photo) < PHOTO_BODY_BYTES
    fields = {"csrf_token": csrf, "view": "frontal"}
    files = {"photo": ("tablet.jpg", photo, "image/jpeg")}
    pid = world.own.patient_id
    refused = client.post("/patients/search", data=fields, files=files)
    assert refused.status_code == 413 and "at most 1 MiB" in refused.text
    accepted = client.post(f"/patients/{pid}/photos", data=fields, files=files)
    assert accepted.status_code == 303, accepted.text[:500]
    ((_job, analysis),) = runner.futures.items()
    assert analysis.result(timeout=300) == "done"  # and no job left running after the test


def test_a_photo_over_its_limit_is_refused_before_a_byte_is_read(world: WebWorld) -> None:
    client = world.client("injector")
    pid = world.own.patient_id
    size = PHOTO_BODY_BYTES + 1
    before = len(list(world.app.state.dosemap.settings.records.photos_dir.rglob("*")))
    response, pulled = _stream(
        world,
        "injector",
        f"/patients/{pid}/photos",
        (b"\0" * CHUNK for _ in range(size // CHUNK + 1)),
        {"content-type": "multipart/form-data; boundary=x", "content-length": str(size)},
    )
    assert response.status_code == 413 and pulled == 0
    assert "at most 51 MiB (53477376 bytes)" in response.text
    assert len(list(world.app.state.dosemap.settings.records.photos_dir.rglob("*"))) == before
    assert client.get(f"/patients/{pid}/photos").status_code == 200


def _signature_with_slashes() -> str:
    """A drawn signature whose base64 is mostly ``/`` (an ancillary chunk of 0xFF bytes): each
    such character takes 3 bytes once form-encoded, so the form is over 1 MiB."""
    png = base64.b64decode(signature_data_url().split(",", 1)[1])
    payload = b"\xff" * 450_000
    chunk = b"prVt" + payload
    extra = struct.pack(">I", len(payload)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    at = png.index(b"IEND") - 4  # before the IEND chunk's length
    return "data:image/png;base64," + base64.b64encode(png[:at] + extra + png[at:]).decode()


def test_a_large_signature_is_accepted_by_the_consent_but_not_by_another_form(
    world: WebWorld,
) -> None:
    client = world.client("front_desk")
    text = consent.current_text(world.db, world.own.clinic_id)
    form = {
        "csrf_token": world.csrf(client),
        "text_version": text.version,
        "text_sha256": text.sha256,
        "signer_name": "Pat Example",
        "signature": _signature_with_slashes(),
    }
    assert DEFAULT_BODY_BYTES < len(urlencode(form)) < CONSENT_BODY_BYTES
    pid = world.own.patient_id
    before = len(consent.consents_of(world.db, world.own.clinic_id, pid))
    refused = world.client("admin").post(f"/patients/{pid}/consent-texts", data=form)
    assert refused.status_code == 413
    signed = client.post(f"/patients/{pid}/consent", data=form)
    assert signed.status_code == 303, signed.text[:500]
    assert len(consent.consents_of(world.db, world.own.clinic_id, pid)) == before + 1


def test_a_chunked_body_is_refused_once_past_the_limit(world: WebWorld) -> None:
    """No Content-Length: the bytes are counted as they come, and reading stops there."""
    entries = _entries(world)
    total = 3 * DEFAULT_BODY_BYTES // CHUNK
    response, pulled = _stream(
        world,
        "front_desk",
        "/patients/search",
        (b"name=" + b"x" * (CHUNK - 5) for _ in range(total)),
        FORM,
    )
    assert response.status_code == 413 and "at most 1 MiB" in response.text
    assert pulled == DEFAULT_BODY_BYTES // CHUNK + 1 < total
    assert _entries(world) == entries
    # A chunked body within the limit is read as before.
    found, _ = _stream(world, "front_desk", "/patients/search", [b"name=", b"Exa"], FORM)
    assert found.status_code == 200 and "C-0001" in found.text


def test_a_caller_refused_anyway_is_answered_without_reading(world: WebWorld) -> None:
    response, pulled = _stream(
        world,
        None,
        "/patients/search",
        (b"x" * CHUNK for _ in range(40)),
        {**FORM, "hx-request": "true"},
    )
    assert response.status_code == 401 and pulled == 0


def test_the_api_answers_json(world: WebWorld) -> None:
    token, _ = world.new_token("front_desk", {"patients.list"})
    api = TestClient(world.app, headers={"Authorization": f"Bearer {token}"})
    big = api.post("/api/v1/patients/search", json={"name": "x" * DEFAULT_BODY_BYTES})
    assert big.status_code == 413
    assert big.json() == {
        "detail": "The request is larger than this address accepts: at most 1 MiB (1048576 bytes)."
    }
    found = api.post("/api/v1/patients/search", json={"name": "Exa"})
    assert found.status_code == 200 and [p["chart_number"] for p in found.json()] == ["C-0001"]


def test_start_up_refuses_an_unknown_route_or_a_get_reading_a_body(world: WebWorld) -> None:
    with pytest.raises(RuntimeError, match="photo_uplod"):
        refuse_unlimited_bodies(world.app, BodyLimits(by_route={"photo_uplod": 1}))
    refuse_unlimited_bodies(world.app, world.app.state.dosemap.body_limits)
    app = FastAPI()

    @app.get("/x", name="x")
    def x(payload: Annotated[dict[str, str], Body()]) -> dict[str, str]:
        return payload

    with pytest.raises(RuntimeError, match=r"\['x'\]"):
        refuse_unlimited_bodies(app, BodyLimits())


def _live_post(
    live: LiveApp, path: str, headers: list[str], chunks: Iterable[bytes]
) -> tuple[str, int]:
    """POST to the live server (uvicorn) over a socket, sending ``chunks`` until it answers;
    its status line and how many bytes were sent by then."""
    address = urlsplit(live.url)
    with socket.create_connection((address.hostname, address.port), timeout=30) as conn:
        head = [f"POST {path} HTTP/1.1", f"Host: {address.netloc}"]
        head.append(f"Cookie: {SESSION_COOKIE}={live.cookie}")
        conn.sendall(("\r\n".join([*head, *headers]) + "\r\n\r\n").encode())
        sent = 0
        for chunk in chunks:
            if select.select([conn], [], [], 0)[0]:
                break  # answered before the body was all sent
            conn.sendall(chunk)
            sent += len(chunk)
        answer = conn.makefile("rb").readline().decode().strip()
    return answer, sent


def test_the_server_answers_before_the_body_is_sent(live: LiveApp) -> None:
    """With uvicorn: a Content-Length over the limit is answered with nothing sent; a chunked
    body once past it, while the client is still sending."""
    photos = f"/patients/{live.clinic.patient_id}/photos"
    status, _ = _live_post(
        live,
        photos,
        [
            "Content-Type: multipart/form-data; boundary=x",
            f"Content-Length: {PHOTO_BODY_BYTES + 1}",
        ],
        [],
    )
    assert status == "HTTP/1.1 413 Request Entity Too Large"
    chunk = b"name=" + b"x" * (CHUNK - 5)
    # 125 MiB, more than the socket buffers could take ahead of the server's reading.
    framed = (f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" for _ in range(TOTAL))
    status, sent = _live_post(
        live,
        "/patients/search",
        ["Content-Type: application/x-www-form-urlencoded", "Transfer-Encoding: chunked"],
        framed,
    )
    assert status == "HTTP/1.1 413 Request Entity Too Large"
    assert sent < TOTAL * CHUNK  # the rest was never needed
