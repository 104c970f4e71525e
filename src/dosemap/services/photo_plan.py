"""A plan drawn on the patient's own photo: PNG and SVG, in millimetres.

Joins the photo shell (:mod:`dosemap.imaging`: intake, landmarks, iris scale) and the plan
renderer (:mod:`dosemap.render`); it lives in ``services`` because the layer contract keeps
those two shells independent of each other. Every point, zone and danger zone is placed through
the plan's mesh anchors and landmark rings, so the same plan lands on any photo of the patient.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from PIL import Image

from dosemap.domain.atlas.mesh import resolve_anchors
from dosemap.domain.plan import MeshAnchor, Plan
from dosemap.domain.planning.regions import Ring, treatable_outlines, zone_outlines
from dosemap.render.raster import png_bytes, to_png
from dosemap.render.scene import Scene, build_plan_scene, template_projection
from dosemap.render.svg import to_svg
from dosemap.resources import load_library, template_mesh

if TYPE_CHECKING:  # imported where a photo is read: a plan on the template face needs none
    from dosemap.imaging.landmarks import Detector
    from dosemap.imaging.quality import PhotoAnalysis

# The renderer's sizes suit a face ~1200 px wide (scale 1). Smaller photos are enlarged so the
# face is at least this wide and labels stay legible when the picture fills a phone screen.
MIN_DRAWN_FACE_PX = 1000
# Text and symbols also grow with the picture, so a 12-48 MP photo shown whole is readable.
REFERENCE_PICTURE_PX = 1600


TreatablePart = tuple[Ring, tuple[Ring, ...]]  # a treatable area's outline and its holes


@dataclass(frozen=True, eq=False)
class PlanDrawing:
    """A plan's drawing geometry, worked out once and drawn on any number of photos.

    The zone outlines and the treatable areas (the zones less their danger margins) depend only
    on the plan and the template mesh, as mesh anchors; working them out costs more than the
    rest of a photo's scene, so a caller drawing one plan on many photos makes this once with
    :func:`prepare_plan_drawing` and passes it to each drawing call.
    """

    plan: Plan
    zone_outlines: Mapping[str, Ring]
    treatable: Mapping[str, tuple[TreatablePart, ...]]

    @property
    def outline_anchors(self) -> list[MeshAnchor]:
        """Every zone outline's corners: the picture's crop must hold them all."""
        return [a for ring in self.zone_outlines.values() for a in ring]


def plan_margins(plan: Plan) -> dict[str, Decimal]:
    """The danger margins ``plan`` was planned with; the embedded library's for a plan file
    written before plans recorded them."""
    return dict(plan.danger_margins_mm) or load_library().margins_mm()


def prepare_plan_drawing(plan: Plan) -> PlanDrawing:
    """The drawing geometry of ``plan`` on the template mesh (see :class:`PlanDrawing`)."""
    mesh = template_mesh()
    treatable = {
        zone: tuple((outer, tuple(holes)) for outer, holes in parts)
        for zone, parts in treatable_outlines(plan, mesh, plan_margins(plan)).items()
    }
    return PlanDrawing(
        plan, MappingProxyType(zone_outlines(plan, mesh)), MappingProxyType(treatable)
    )


def _drawing_for(plan: Plan, drawing: PlanDrawing | None) -> PlanDrawing:
    """``drawing`` if it was prepared for ``plan``, else a new one."""
    if drawing is None:
        return prepare_plan_drawing(plan)
    if drawing.plan is not plan and drawing.plan != plan:
        raise ValueError("the prepared drawing is of another plan")
    return drawing


@dataclass(frozen=True, eq=False)
class PhotoPlanPicture:
    """The plan over a photo, ready to write."""

    analysis: PhotoAnalysis
    scene: Scene
    png: Image.Image | None  # None when only the SVG was asked for
    svg: str  # "" when not asked for
    drawn_scale: float  # drawn pixels per full-resolution photo pixel (>= 1)
    crop: tuple[int, int, int, int]  # the photo region drawn, full-resolution pixels
    off_skin: Mapping[int, str] = field(default_factory=dict)  # point number -> why not on skin

    @property
    def warnings(self) -> tuple[str, ...]:
        """What the person drawing must be told, one line each."""
        return off_skin_warnings(self.off_skin)


def off_skin_warnings(off_skin: Mapping[int, str]) -> tuple[str, ...]:
    """One line per point not on visible skin, with what gave it away."""
    return tuple(
        f"point {number} is not on visible skin in this photo ({why}): hair or a fringe "
        "over it? Check on the patient."
        for number, why in sorted(off_skin.items())
    )


# Zones a fringe or hair falls over, where points are checked for hair. Not the cheeks (their
# skin is the reference), nose, lips or chin; not the crow's feet, whose glasses frames and
# lashes read as hair at portrait resolution (docs/photos.md).
HAIR_ZONES = frozenset({"forehead", "glabella", "temple_left", "temple_right"})


def points_off_skin(plan: Plan, analysis: PhotoAnalysis) -> dict[int, str]:
    """Point number -> why, for the plan's points in :data:`HAIR_ZONES` that fall on no visible
    skin in the photo (hair, a fringe, off the picture), judged by
    :mod:`dosemap.imaging.visibility` with the cited limits of ``data/photo_checks.toml``."""
    from dosemap.imaging.visibility import SkinLimits, point_visibility
    from dosemap.resources import photo_checks

    checked = [k for k, p in enumerate(plan.points) if p.zone in HAIR_ZONES]
    if not checked:
        return {}
    figures = {key: float(value.value) for key, value in photo_checks().visibility.items()}
    limits = SkinLimits(**figures)
    scale = analysis.photo.detect_scale
    points = anchored_points_px(plan, analysis)[checked] / scale
    found = point_visibility(
        analysis.photo.detect_rgb,
        analysis.landmarks.xy / scale,
        points,
        analysis.scale.mm_per_px * scale,
        limits,
    )
    return {plan.points[checked[k]].number: found.points[k].reason for k in found.hidden}


# The picture is the face and some context, not the whole frame: fractions of the face's
# landmark box added on each side (more above, for the forehead's upper part and hairline).
CROP_MARGINS = {"left": 0.3, "right": 0.3, "top": 0.35, "bottom": 0.12}


def face_crop(
    analysis: PhotoAnalysis, beyond_px: npt.NDArray[np.float64] | None = None
) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the face with margins, in full-resolution pixels, inside the photo.

    ``beyond_px`` (K×2) are points off the landmarks the crop must hold too (the forehead
    planned above the mesh), with a margin above them.
    """
    xy = analysis.landmarks.xy[:468]
    (x0, y0), (x1, y1) = xy.min(axis=0), xy.max(axis=0)
    w, h = x1 - x0, y1 - y0
    width, height = analysis.photo.size
    top = y0 - CROP_MARGINS["top"] * h
    if beyond_px is not None and len(beyond_px):
        top = min(top, float(beyond_px[:, 1].min()) - 0.05 * h)
    return (
        max(0, int(x0 - CROP_MARGINS["left"] * w)),
        max(0, int(top)),
        min(width, int(np.ceil(x1 + CROP_MARGINS["right"] * w))),
        min(height, int(np.ceil(y1 + CROP_MARGINS["bottom"] * h))),
    )


def _drawing_size(face_px: float, width_px: int) -> tuple[float, float]:
    """(enlargement of the photo, renderer scale) for a face ``face_px`` wide."""
    enlarge = max(1.0, MIN_DRAWN_FACE_PX / face_px)
    scale = max(face_px * enlarge / 1200.0, width_px * enlarge / REFERENCE_PICTURE_PX, 0.8)
    return enlarge, scale


def draw_plan_on_photo(
    plan: Plan,
    analysis: PhotoAnalysis,
    *,
    product_name: str | None = None,
    png: bool = True,
    svg: bool = True,
    drawing: PlanDrawing | None = None,
) -> PhotoPlanPicture:
    """Render ``plan`` over an inspected photo: the face region at full resolution (enlarged
    when the face is under :data:`MIN_DRAWN_FACE_PX` wide).

    ``drawing`` is the plan's geometry from :func:`prepare_plan_drawing`, for drawing one plan
    on many photos; without it the geometry is worked out here. Raises :class:`ValueError` if
    it was prepared for another plan.
    """
    from dosemap.imaging import framing  # OpenCV: only when drawing on a photo

    drawing = _drawing_for(plan, drawing)
    beyond = resolve_anchors(drawing.outline_anchors, analysis.landmarks.xy[:468])
    x0, y0, x1, y1 = face_crop(analysis, beyond)
    enlarge, scale = _drawing_size(analysis.quality.face_width_px, x1 - x0)
    size = (round((x1 - x0) * enlarge), round((y1 - y0) * enlarge))
    landmarks = (analysis.landmarks.xy - [x0, y0]) * enlarge
    off_skin = points_off_skin(plan, analysis)
    scene = build_plan_scene(
        plan,
        landmarks,
        image_size=size,
        mm_per_px=analysis.scale.mm_per_px / enlarge,
        depth_px=analysis.landmarks.points[:, 2] * enlarge,
        off_skin=off_skin,
        product_name=product_name,
        treatable=drawing.treatable,
        face_outline=False,
        scale=scale,
        zone_outlines=drawing.zone_outlines,
    )
    crop = analysis.photo.full_rgb()[y0:y1, x0:x1]
    picture = None
    if png:
        picture = to_png(scene, framing.background(crop, size))
    # The SVG embeds the crop at the photo's own resolution and lets the viewer stretch it
    # over the image box: no enlarged copy to encode, and no detail lost either way.
    document = to_svg(scene, framing.jpeg_data_uri(crop)) if svg else ""
    return PhotoPlanPicture(
        analysis, scene, picture, document, enlarge, (x0, y0, x1, y1), MappingProxyType(off_skin)
    )


def analyse_photo(path: Path, detector: Detector | None = None) -> PhotoAnalysis:
    """Read ``path`` and measure it (landmarks, iris scale, quality); MediaPipe by default."""
    from dosemap.imaging.intake import read_photo
    from dosemap.imaging.landmarks import MediaPipeDetector, native_stderr_silenced
    from dosemap.imaging.quality import inspect_photo

    photo = read_photo(path)
    if detector is not None:
        return inspect_photo(photo, detector)
    with native_stderr_silenced(True), MediaPipeDetector(quiet=False) as own:
        return inspect_photo(photo, own)


@dataclass(frozen=True, eq=False)
class PlanPictures:
    """A plan drawn, encoded and ready to write; ``analysis`` is set when drawn on a photo."""

    png: bytes | None
    svg: str | None
    analysis: PhotoAnalysis | None
    warnings: tuple[str, ...] = ()  # e.g. points not on visible skin in the photo


def plan_pictures(
    plan: Plan,
    *,
    photo: Path | None = None,
    png: bool = True,
    svg: bool = True,
    product_name: str | None = None,
    detector: Detector | None = None,
    drawing: PlanDrawing | None = None,
) -> PlanPictures:
    """Draw ``plan`` on the metric template face, or on ``photo`` through its landmarks.

    The one place both ``dosemap plan`` and ``dosemap render`` draw a plan; ``drawing`` as for
    :func:`draw_plan_on_photo`. Raises :class:`~dosemap.imaging.errors.PhotoError` if the photo
    cannot be measured.
    """
    drawing = _drawing_for(plan, drawing)
    if photo is None:
        mesh = template_mesh()
        landmarks, size, mm_per_px = template_projection(
            mesh, beyond_mm=resolve_anchors(drawing.outline_anchors, mesh.vertices_mm)
        )
        scene = build_plan_scene(
            plan,
            landmarks,
            image_size=size,
            mm_per_px=mm_per_px,
            product_name=product_name,
            treatable=drawing.treatable,
            zone_outlines=drawing.zone_outlines,
            depth_px=mesh.vertices_mm[:, 2] / mm_per_px,
        )
        return PlanPictures(
            png_bytes(to_png(scene)) if png else None, to_svg(scene) if svg else None, None
        )
    analysis = analyse_photo(photo, detector)
    picture = draw_plan_on_photo(
        plan, analysis, product_name=product_name, png=png, svg=svg, drawing=drawing
    )
    return PlanPictures(
        png_bytes(picture.png) if picture.png else None,
        picture.svg if svg else None,
        analysis,
        picture.warnings,
    )


def plan_on_photo(
    plan: Plan,
    photo_path: Path,
    out_png: Path | None = None,
    out_svg: Path | None = None,
    *,
    detector: Detector | None = None,
    product_name: str | None = None,
    drawing: PlanDrawing | None = None,
) -> PhotoPlanPicture:
    """Find the face in ``photo_path``, draw ``plan`` on it, write PNG and/or SVG.

    ``drawing`` as for :func:`draw_plan_on_photo` (prepare it once to draw a plan on many
    photos). Raises :class:`~dosemap.imaging.errors.PhotoError` (nothing written) if the photo
    cannot be measured. Both files carry only pixels: no EXIF or GPS from the original.
    """
    analysis = analyse_photo(photo_path, detector)
    picture = draw_plan_on_photo(
        plan,
        analysis,
        product_name=product_name,
        png=out_png is not None,
        svg=out_svg is not None,
        drawing=drawing,
    )
    outputs: dict[Path, bytes] = {}
    if out_png is not None and picture.png is not None:
        outputs[out_png] = png_bytes(picture.png)
    if out_svg is not None:
        outputs[out_svg] = picture.svg.encode()
    for path, data in outputs.items():  # written only once everything rendered
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return picture


def anchored_points_px(plan: Plan, analysis: PhotoAnalysis) -> npt.NDArray[np.float64]:
    """Where each planned point falls on this photo (K×2 full-resolution pixels)."""
    return resolve_anchors([p.anchor for p in plan.points], analysis.landmarks.xy[:468])
