"""Errors raised by the domain core.

DosemapError
 ├── InvalidInputError      a value a person typed or a file held is outside what is allowed;
 │    │                     names the field, the value and the allowed range
 │    └── UnknownNameError  a product, zone, protocol … id that the library does not hold
 └── LibraryError           a reference-library file is malformed; names the file and the key

Warnings are never raised: safety rules *return* findings (see ``dosemap.domain.safety``).
"""

from __future__ import annotations

from collections.abc import Iterable


class DosemapError(Exception):
    """Base class of every error dosemap raises on purpose."""


class InvalidInputError(DosemapError, ValueError):
    """A value outside what is allowed.

    Parameters
    ----------
    field
        The name of the field as the user knows it (``diluent_ml``, ``zones[2]``).
    message
        What is wrong, in one short clause.
    allowed
        What would be accepted (``"> 0 and <= 20 mL"``, ``"one of: forehead, glabella"``).
    """

    def __init__(self, field: str, message: str, allowed: str | None = None) -> None:
        self.field = field
        self.message = message
        self.allowed = allowed
        text = f"{field}: {message}"
        if allowed:
            text += f" (allowed: {allowed})"
        super().__init__(text)


class UnknownNameError(InvalidInputError):
    """An id that the library or atlas does not hold."""

    def __init__(self, field: str, name: str, known: Iterable[str]) -> None:
        self.name = name
        self.known = sorted(known)
        super().__init__(field, f"unknown {name!r}", "one of: " + ", ".join(self.known))


class LibraryError(DosemapError):
    """A reference-library source (embedded or a clinic's TOML file) is invalid.

    Nothing from the offending file is loaded.
    """

    def __init__(self, source: str, key: str, message: str) -> None:
        self.source = source
        self.key = key
        self.message = message
        super().__init__(f"{source}: {key}: {message}")
