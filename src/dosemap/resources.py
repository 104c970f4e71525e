"""Loads the data files embedded in the package. The only place that reads them."""

from __future__ import annotations

from functools import cache
from importlib import resources

from dosemap.domain.atlas.mesh import FaceMesh, parse_obj


@cache
def template_mesh() -> FaceMesh:
    """The metric template face (MediaPipe canonical face model, mm)."""
    text = resources.files("dosemap.data").joinpath("canonical_face_model.obj").read_text()
    return parse_obj(text)
