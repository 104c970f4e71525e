"""Form helpers: read a posted form, turn validation errors into per-field messages."""

from __future__ import annotations

from fastapi import Request
from pydantic import ValidationError

from dosemap.domain.errors import InvalidInputError


async def form_dict(request: Request) -> dict[str, str]:
    """The posted form's text fields (files are left out)."""
    form = await request.form()
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


async def form_lists(request: Request) -> dict[str, list[str]]:
    """The posted form's text fields, every value of each (checkboxes repeat a name)."""
    form = await request.form()
    out: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            out.setdefault(key, []).append(value)
    return out
