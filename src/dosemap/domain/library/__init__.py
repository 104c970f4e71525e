"""The cited reference library: products, conversions, protocols, adjuncts, techniques, goals.

Build one with :func:`build_library` from parsed documents (the shell's
``dosemap.resources.load_library`` reads the embedded TOML and a clinic's files).
"""

from __future__ import annotations

from dosemap.domain.library.build import build_library
from dosemap.domain.library.catalog import Library
from dosemap.domain.library.zones import KNOWN_ZONES

__all__ = ["KNOWN_ZONES", "Library", "build_library"]
