"""Loads the data files embedded in the package. The only place that reads them."""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError

from dosemap.domain.errors import LibraryError
from dosemap.domain.evidence import Cited, Source
from dosemap.domain.library import Library, build_library

if TYPE_CHECKING:
    from dosemap.domain.atlas.mesh import FaceMesh


@cache
def template_mesh() -> FaceMesh:
    """The metric template face (MediaPipe canonical face model, mm)."""
    # Imported here: the atlas brings NumPy and Shapely, which `catalog` and `dilute` never use.
    from dosemap.domain.atlas.mesh import parse_obj

    text = resources.files("dosemap.data").joinpath("canonical_face_model.obj").read_text()
    return parse_obj(text)


# --------------------------------------------------------------------------- reference library


def _parse_toml(name: str, text: str) -> dict[str, Any]:
    try:
        # Decimal, never float: 2.5 mL must stay exactly 2.5.
        return tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise LibraryError(name, "(syntax)", str(exc)) from None


@cache
def _embedded_documents() -> tuple[tuple[str, dict[str, Any]], ...]:
    folder = resources.files("dosemap.data").joinpath("library")
    files = sorted(
        (entry for entry in folder.iterdir() if entry.name.endswith(".toml")),
        key=lambda entry: entry.name,
    )
    return tuple(
        (f"embedded:{entry.name}", _parse_toml(f"embedded:{entry.name}", entry.read_text("utf-8")))
        for entry in files
    )


@cache
def _embedded_library() -> Library:
    return build_library(_embedded_documents())


def load_library(clinic_files: Sequence[Path] = ()) -> Library:
    """The reference library: embedded cited data, plus a clinic's own TOML files.

    Parameters
    ----------
    clinic_files
        Clinic TOML files of the same shape as the embedded data (``docs/library.md``); later
        files add records or replace records with the same id.

    Raises
    ------
    LibraryError
        A file is unreadable or invalid; names the file and the key. Nothing is loaded half-way.
    """
    if not clinic_files:
        return _embedded_library()
    documents = list(_embedded_documents())
    for path in clinic_files:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise LibraryError(str(path), "(file)", f"cannot read: {exc}") from None
        documents.append((str(path), _parse_toml(str(path), text)))
    return build_library(documents)


# --------------------------------------------------------------------------- photo checks


class PhotoCheckFigures(BaseModel):
    """The figures the photo checks compare against (``data/photo_checks.toml``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    sources: dict[str, Source]
    same_person_max_distance: Cited[Decimal]
    mirror_min_gain: Cited[Decimal]
    visibility: dict[str, Cited[Decimal]]


@cache
def photo_checks() -> PhotoCheckFigures:
    """The embedded photo-check figures, each cited (see ``docs/photos.md``)."""
    name = "embedded:photo_checks.toml"
    raw = _parse_toml(
        name, resources.files("dosemap.data").joinpath("photo_checks.toml").read_text("utf-8")
    )
    try:
        figures = PhotoCheckFigures(
            version=raw["version"],
            sources={key: Source(id=key, **value) for key, value in raw["sources"].items()},
            same_person_max_distance=raw["identity"]["same_person_max_distance"],
            mirror_min_gain=raw["identity"]["mirror_min_gain"],
            visibility=raw["visibility"],
        )
    except (KeyError, ValidationError) as exc:
        raise LibraryError(name, "(photo checks)", str(exc)) from None
    cited = {
        "identity.same_person_max_distance": figures.same_person_max_distance,
        "identity.mirror_min_gain": figures.mirror_min_gain,
        **{f"visibility.{key}": value for key, value in figures.visibility.items()},
    }
    for key, value in cited.items():
        if value.source not in figures.sources:
            raise LibraryError(name, key, "names an unknown source")
    return figures


# --------------------------------------------------------------------------- documents


@cache
def document_data(name: str) -> dict[str, Any]:
    """One TOML file of ``data/documents`` (document text, aftercare statements, FHIR codes)."""
    entry = resources.files("dosemap.data").joinpath("documents").joinpath(name)
    return _parse_toml(f"embedded:documents/{name}", entry.read_text("utf-8"))


def document_bytes(name: str) -> bytes:
    """A file of ``data/documents`` as bytes (a document template)."""
    return resources.files("dosemap.data").joinpath("documents").joinpath(name).read_bytes()


# --------------------------------------------------------------------------- consent templates


@cache
def consent_template(procedure: str) -> tuple[str, str, str]:
    """dosemap's template consent text for ``procedure``: (version, title, text)."""
    for entry in resources.files("dosemap.data").joinpath("consent").iterdir():
        if not entry.name.endswith(".toml"):
            continue
        doc = tomllib.loads(entry.read_text("utf-8"))
        if doc.get("procedure") == procedure:
            return str(doc["version"]), str(doc["title"]), str(doc["text"]).strip()
    raise LookupError(f"no consent template for procedure {procedure!r}")
