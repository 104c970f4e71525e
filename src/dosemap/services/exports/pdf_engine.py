"""Typesetting: a document template and its data in, PDF bytes out, through Typst.

Typst (the ``typst`` package bundles the compiler; no external program) was chosen over
WeasyPrint by measurement (``benchmarks/bench_exports.py``, ``docs/exports.md``): several times
faster per document and smaller files, fonts embedded from the compiler itself
(``ignore_system_fonts``: the same glyphs on every machine, nothing fetched), text extractable.

Templates (``data/documents/*.typ``) hold layout only; every word comes from
``data/documents/text.toml`` through ``data.json``. Each compile runs in a private temporary
folder holding the template, its data and its images, which is the compiler's whole world.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from dosemap.domain.errors import InvalidInputError
from dosemap.resources import document_bytes, document_data

Paper = Literal["a4", "us-letter"]
PAPERS: dict[str, Paper] = {"a4": "a4", "letter": "us-letter"}
MEDIA_TYPE = "application/pdf"
_SHARED = ("common.typ",)


def paper_size(name: str) -> Paper:
    """``a4`` or ``letter`` as Typst names them; anything else is refused, naming the field."""
    try:
        return PAPERS[name.lower()]
    except KeyError:
        raise InvalidInputError("paper", f"is {name!r}", "a4 or letter") from None


def document_text() -> dict[str, Any]:
    """Every label the documents print (``data/documents/text.toml``)."""
    return document_data("text.toml")


def render_pdf(
    template: str,
    data: Mapping[str, Any],
    *,
    images: Mapping[str, bytes] | None = None,
    printed_at: datetime,
) -> bytes:
    """Compile ``data/documents/<template>`` with ``data`` (as ``data.json``) and ``images``
    (file name → bytes, e.g. ``plan.svg``, ``logo.png``) into a PDF."""
    import typst  # imported when a PDF is made: the compiler is ~40 MB of native code

    with tempfile.TemporaryDirectory(prefix="dosemap-pdf-") as folder:
        root = Path(folder)
        for name in (*_SHARED, template):
            (root / name).write_bytes(document_bytes(name))
        (root / "data.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        for name, content in (images or {}).items():
            (root / name).write_bytes(content)
        pdf = typst.compile(
            str(root / template),
            root=str(root),
            ignore_system_fonts=True,
            format="pdf",
            timestamp=printed_at.replace(microsecond=0),
        )
    assert isinstance(pdf, bytes)
    return pdf
