"""Exports: the clinic's records in the formats the world reads (CSV, iCalendar, FHIR R4, PDF).

Each export is a plain function returning an :class:`ExportFile` (bytes, a file name and a media
type) so that the CLI writes it to disk and the web app serves it as a download. Every export
is an access to patient data and is recorded in the audit log (action ``export``).
"""

from __future__ import annotations

from dosemap.services.exports._common import ExportFile

__all__ = ["ExportFile"]
