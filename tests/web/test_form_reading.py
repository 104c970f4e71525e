"""``forms.form_dict`` reads an urlencoded body itself; it must read it as Starlette does."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.types import Message

from dosemap.domain.errors import InvalidInputError
from dosemap.web.body_limit import BodyLimits
from dosemap.web.forms import MAX_FORM_FIELDS, form_dict

#: An app holding what ``forms.posted_form`` reads: the body limits.
APP = Starlette()
APP.state.dosemap = SimpleNamespace(body_limits=BodyLimits())

BODIES = [
    urlencode({"name": "Gå é", "csrf_token": "x+y/z=", "empty": ""}).encode(),
    b"a=1&a=2&b",  # a repeated name: the last; a bare name: empty
    b"name=%ZZ&q=%E2%82%AC+x",  # a broken escape stays as typed
    b"",
    b"k=caf\xe9",  # not UTF-8: read as latin-1, as Starlette does
]


def _request(body: bytes) -> Request:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    headers = [(b"content-type", b"application/x-www-form-urlencoded")]
    scope = {
        "type": "http", "method": "POST", "headers": headers, "path": "/", "query_string": b"",
        "app": APP,
    }  # fmt: skip
    return Request(scope, receive)


async def _starlette(body: bytes) -> dict[str, str]:
    form = await _request(body).form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


@pytest.mark.parametrize("body", BODIES)
def test_an_urlencoded_form_reads_as_starlette_reads_it(body: bytes) -> None:
    assert asyncio.run(form_dict(_request(body))) == asyncio.run(_starlette(body))


@pytest.mark.parametrize("body", BODIES)
def test_a_form_already_read_by_a_csrf_check_is_read_again(body: bytes) -> None:
    async def twice() -> dict[str, str]:
        request = _request(body)
        await request.form()  # what security._check_csrf does without the header
        return await form_dict(request)

    assert asyncio.run(twice()) == asyncio.run(_starlette(body))


def test_too_many_fields_is_a_field_error() -> None:
    body = "&".join(f"f{i}=x" for i in range(MAX_FORM_FIELDS + 1)).encode()
    with pytest.raises(InvalidInputError, match="too many fields"):
        asyncio.run(form_dict(_request(body)))
