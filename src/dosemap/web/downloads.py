"""Serving an export (:class:`dosemap.services.exports.ExportFile`) as a download."""

from __future__ import annotations

from starlette.responses import Response

from dosemap.services.exports import ExportFile


def download(export: ExportFile) -> Response:
    """``export`` as an attachment (never shown inline, never cached: headers say no-store)."""
    safe = "".join(c for c in export.filename if c.isalnum() or c in "._-") or "export"
    return Response(
        export.content,
        media_type=export.media_type,
        headers={"Content-Disposition": f'attachment; filename="{safe}"'},
    )
