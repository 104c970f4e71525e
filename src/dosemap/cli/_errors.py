"""Turn pydantic validation errors into the one-line messages the CLI prints."""

from __future__ import annotations

from pydantic import ValidationError


def format_validation_error(exc: ValidationError, source: str | None = None) -> str:
    """One line per error would be too long for a CLI: name the first field and the count."""
    errors = exc.errors()
    first = errors[0]
    field = ".".join(str(part) for part in first["loc"]) or "(root)"
    text = f"{field}: {first['msg']}"
    if "input" in first and not isinstance(first["input"], dict | list):
        text += f" (got {first['input']!r})"
    if len(errors) > 1:
        text += f" (+{len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return f"{source}: {text}" if source else text
