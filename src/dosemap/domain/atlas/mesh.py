"""The metric template face and mesh anchors.

The template is MediaPipe's canonical face model (468 vertices, Apache-2.0, attribution in
``dosemap/data/NOTICE.canonical_face_model``). It is parsed here from text; reading the file is
the shell's job (``dosemap.resources``).

Frame: millimetres; x towards the patient's LEFT (viewer's right in a frontal view), y up, z out of
the face towards the viewer. (The OBJ's x already grows towards the patient's left: landmark 263,
the left eye's outer corner, has x > 0.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dosemap.domain.errors import InvalidInputError
from dosemap.domain.plan import MeshAnchor

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

TEMPLATE_VERTEX_COUNT = 468


@dataclass(frozen=True, eq=False)
class FaceMesh:
    """Vertices (N×3, mm) and triangles (M×3 vertex indices) of a face with MediaPipe topology."""

    vertices_mm: FloatArray
    triangles: IntArray

    def __post_init__(self) -> None:
        if self.vertices_mm.ndim != 2 or self.vertices_mm.shape[1] != 3:
            raise InvalidInputError("vertices_mm", f"shape {self.vertices_mm.shape}", "N×3")
        if self.triangles.ndim != 2 or self.triangles.shape[1] != 3:
            raise InvalidInputError("triangles", f"shape {self.triangles.shape}", "M×3")
        if self.triangles.size and int(self.triangles.max()) >= len(self.vertices_mm):
            raise InvalidInputError("triangles", "index past the last vertex", "< vertex count")
        self.vertices_mm.setflags(write=False)
        self.triangles.setflags(write=False)


def parse_obj(text: str) -> FaceMesh:
    """Parse a Wavefront OBJ face model in centimetres into a :class:`FaceMesh` in millimetres.

    Examples
    --------
    >>> mesh = parse_obj("v 0 0 0\\nv 1 0 0\\nv 0 1 0\\nf 1/1 2/2 3/3\\n")
    >>> mesh.vertices_mm[1].tolist(), mesh.triangles.tolist()
    ([10.0, 0.0, 0.0], [[0, 1, 2]])
    """
    vertices: list[tuple[float, float, float]] = []
    faces: list[tuple[int, int, int]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "v":
            try:
                x, y, z = (float(p) for p in parts[1:4])
            except ValueError as exc:
                raise InvalidInputError(f"line {number}", "bad vertex", "v x y z") from exc
            vertices.append((x * 10.0, y * 10.0, z * 10.0))
        elif parts[0] == "f":
            if len(parts) != 4:
                raise InvalidInputError(f"line {number}", "face is not a triangle", "3 corners")
            a, b, c = (int(p.split("/")[0]) - 1 for p in parts[1:4])
            faces.append((a, b, c))
    return FaceMesh(
        vertices_mm=np.asarray(vertices, dtype=np.float64).reshape(-1, 3),
        triangles=np.asarray(faces, dtype=np.int64).reshape(-1, 3),
    )


def resolve_anchor(anchor: MeshAnchor, landmarks: FloatArray) -> FloatArray:
    """Position of an anchored point on any landmark set of the same topology.

    ``landmarks`` is N×D (D = 2 for a photo in pixels, 3 for a mesh in mm); the result has D
    components in the same units.

    Examples
    --------
    >>> a = MeshAnchor(vertices=(0, 1, 2), weights=(0.5, 0.25, 0.25))
    >>> resolve_anchor(a, np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 8.0]])).tolist()
    [1.0, 2.0]
    """
    if max(anchor.vertices) >= len(landmarks):
        raise InvalidInputError(
            "anchor.vertices", f"index {max(anchor.vertices)}", f"< {len(landmarks)} landmarks"
        )
    points = landmarks[list(anchor.vertices)]
    weights = np.asarray(anchor.weights, dtype=np.float64)
    result: FloatArray = weights @ points
    return result


def resolve_anchors(anchors: list[MeshAnchor], landmarks: FloatArray) -> FloatArray:
    """Vectorised :func:`resolve_anchor` for many anchors: K×D."""
    if not anchors:
        return np.zeros((0, landmarks.shape[1]), dtype=np.float64)
    index = np.asarray([a.vertices for a in anchors], dtype=np.int64)
    weights = np.asarray([a.weights for a in anchors], dtype=np.float64)
    if int(index.max()) >= len(landmarks):
        raise InvalidInputError(
            "anchor.vertices", f"index {int(index.max())}", f"< {len(landmarks)} landmarks"
        )
    result: FloatArray = np.einsum("kj,kjd->kd", weights, landmarks[index])
    return result
