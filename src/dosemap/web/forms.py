"""Form helpers: read a posted form, turn validation errors into per-field messages."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from fastapi import Request
from pydantic import ValidationError
from starlette.datastructures import FormData

from dosemap.domain.errors import InvalidInputError
from dosemap.web.state import app_state

#: More fields than any form of the app has: a bigger urlencoded body is refused (422).
MAX_FORM_FIELDS = 1000
#: The most files a form of the app carries (the photo upload's one): each would be a
#: temporary file held open until the request ends.
MAX_FORM_FILES = 1


async def posted_form(request: Request) -> FormData:
    """``request.form()`` within the app's limits; read forms through it (the first read
    decides: Starlette keeps the form it parsed).

    Starlette's parser refuses (400) more than ``max_files`` files or ``max_fields`` fields. Its
    cap on one field (``max_part_size``, 1 MiB by default) is set to the route's body limit,
    which already bounds the whole form: else the consent's signature, allowed up to 3 MiB by
    the route, would be refused at 1 MiB by whichever read came first.
    """
    limit = app_state(request).body_limits.of(request.scope)
    return await request.form(
        max_files=MAX_FORM_FILES, max_fields=MAX_FORM_FIELDS, max_part_size=limit
    )


async def form_dict(request: Request) -> dict[str, str]:
    """The posted form's text fields (files are left out)."""
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        # What Starlette's parser gives (latin-1 bytes, percent-decoded as UTF-8, the last of
        # a repeated name) for ~1/3 of its cost (python-multipart's parser is pure Python):
        # the patient search is posted at every few letters typed.
        try:
            body = (await request.body()).decode("latin-1")
        except RuntimeError:  # already read by posted_form() (a CSRF check): parsed below
            body = None
        if body is not None:
            try:
                pairs = parse_qsl(body, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
            except ValueError:
                raise InvalidInputError(
                    "form", "has too many fields", f"at most {MAX_FORM_FIELDS}"
                ) from None
            return dict(pairs)
    form = await posted_form(request)
    return {k: v for k, v in form.items() if isinstance(v, str)}


def field_errors(exc: ValidationError | InvalidInputError) -> dict[str, str]:
    """``{field: message}`` for a form; ``"_"`` holds an error of the whole form."""
    if isinstance(exc, InvalidInputError):
        text = exc.message + (f" (allowed: {exc.allowed})" if exc.allowed else "")
        return {exc.field: text}
    errors: dict[str, str] = {}
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "_"
        if err["type"] == "extra_forbidden":
            field, message = "_", f"unexpected field {field!r}"
        else:
            message = err["msg"]
        errors.setdefault(field, message)
    return errors


def local_datetime(text: str, timezone: str) -> str:
    """A ``datetime-local`` field's value (no offset) as an ISO time in the clinic's zone.

    A value that is not a time is returned as it is, for the input model to name the field.
    """
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return text
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(timezone))
    return value.isoformat()


def clean(form: dict[str, str], *, drop: tuple[str, ...] = ()) -> dict[str, str]:
    """A posted form without its CSRF token, ``drop``ped fields and empty values."""
    return {k: v for k, v in form.items() if k != "csrf_token" and k not in drop and v != ""}


async def form_lists(request: Request) -> dict[str, list[str]]:
    """The posted form's text fields, every value of each (checkboxes repeat a name)."""
    form = await posted_form(request)
    out: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            out.setdefault(key, []).append(value)
    return out
