"""A plan on the patient's photo: anchors land on the face, follow the face to a later photo,
and the pictures are written without metadata."""

from __future__ import annotations

import base64
import io
import xml.etree.ElementTree as ET

import cv2
import numpy as np
import pytest
from PIL import Image

from dosemap.domain.atlas.zones import ZONES
from dosemap.domain.plan import PlanRequest
from dosemap.domain.planning import build_plan
from dosemap.imaging.align import fit_alignment
from dosemap.imaging.quality import face_mask, inspect_photo
from dosemap.resources import load_library, template_mesh
from dosemap.services.photo_plan import (
    anchored_points_px,
    draw_plan_on_photo,
    plan_on_photo,
    plan_pictures,
    prepare_plan_drawing,
)

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def plan():
    request = PlanRequest(
        protocol="wu_microbotox_20", zones=("forehead", "medial_cheek_left", "medial_cheek_right")
    )
    return build_plan(request, load_library(), template_mesh())


@pytest.fixture(scope="module")
def astronaut_analysis(detector, astronaut, photo_of):
    return inspect_photo(photo_of(astronaut, "a.png"), detector)


def test_every_point_lands_on_the_face_in_its_zone_side(plan, astronaut_analysis):
    points = anchored_points_px(plan, astronaut_analysis)
    assert points.shape == (len(plan.points), 2)
    face = face_mask(astronaut_analysis.landmarks.xy, (512, 512)) > 0
    cols, rows = np.round(points).astype(int).T
    assert face[rows, cols].all()
    # patient's left cheek is on the image's right of the nose tip, and vice versa
    nose_x = astronaut_analysis.landmarks.xy[1, 0]
    for p, (x, _) in zip(plan.points, points, strict=True):
        if p.zone == "medial_cheek_left":
            assert x > nose_x
        elif p.zone == "medial_cheek_right":
            assert x < nose_x


def test_points_follow_the_face_to_a_later_photo(
    plan, astronaut_analysis, detector, astronaut, photo_of
):
    # The "next visit": the same face smaller, turned and shifted in the frame.
    moved = cv2.getRotationMatrix2D((256, 220), -6, 0.9)
    moved[:, 2] += (-20, 15)
    later = inspect_photo(
        photo_of(cv2.warpAffine(astronaut, moved, (512, 512), borderValue=(128, 128, 128))),
        detector,
    )
    before = anchored_points_px(plan, astronaut_analysis)
    after = anchored_points_px(plan, later)
    expected = before @ moved[:, :2].T + moved[:, 2]  # where the face really went
    error_mm = np.linalg.norm(after - expected, axis=1) * later.scale.mm_per_px
    assert np.median(error_mm) < 2.0 and error_mm.max() < 5.0
    # and aligning the later photo back brings the points home
    fit, _, _ = fit_alignment(astronaut_analysis, later)
    home_mm = np.linalg.norm(fit.apply(after) - before, axis=1) * astronaut_analysis.scale.mm_per_px
    assert np.median(home_mm) < 2.0


def test_picture_is_large_enough_to_read_and_has_the_scale_bar(plan, astronaut_analysis):
    picture = draw_plan_on_photo(plan, astronaut_analysis)
    x0, y0, x1, y1 = picture.crop
    xy = astronaut_analysis.landmarks.xy[:468]
    assert x0 <= xy[:, 0].min() and y0 <= xy[:, 1].min()
    assert x1 >= xy[:, 0].max() and y1 >= xy[:, 1].max()
    assert picture.drawn_scale * astronaut_analysis.quality.face_width_px >= 999
    assert picture.png.width >= 1000 and picture.png.mode == "RGB"
    footer = [s for layer in picture.scene.layers if layer.name == "footer" for s in layer.shapes]
    assert any(getattr(s, "text", "") == "20 mm, flat, at the eyes" for s in footer)
    # the photo shows through where nothing is drawn: the image box holds the face's colours
    bx, by, bw, bh = picture.scene.image_box
    box = np.asarray(picture.png)[by : by + bh, bx : bx + bw]
    assert box.std() > 20
    for zone in ("forehead", "medial_cheek_left"):
        assert ZONES[zone].name in picture.svg
    assert "data:image/jpeg;base64," in picture.svg


def test_written_files_carry_no_metadata(plan, detector, astronaut, tmp_path):
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 24.0)}
    exif[0x010F] = "PhoneMaker"
    source = tmp_path / "face.jpg"
    Image.fromarray(astronaut).save(source, exif=exif, quality=92)
    out_png, out_svg = tmp_path / "plan.png", tmp_path / "plan.svg"
    plan_on_photo(plan, source, out_png, out_svg, detector=detector)
    with Image.open(out_png) as written:
        assert not written.getexif() and "exif" not in written.info
    assert b"PhoneMaker" not in out_png.read_bytes()
    assert _png_chunk_types(out_png.read_bytes()) == [b"IHDR", b"IDAT", b"IEND"]
    assert "PhoneMaker" not in out_svg.read_text()


def test_a_prepared_drawing_draws_the_same_picture(plan, astronaut_analysis):
    drawing = prepare_plan_drawing(plan)
    assert (
        set(drawing.zone_outlines) == set(drawing.treatable) == {z.zone for z in plan.summary.zones}
    )
    plain = draw_plan_on_photo(plan, astronaut_analysis)
    prepared = draw_plan_on_photo(plan, astronaut_analysis, drawing=drawing)
    again = draw_plan_on_photo(plan, astronaut_analysis, drawing=drawing)  # reusable
    assert prepared.scene == plain.scene == again.scene
    assert np.array_equal(np.asarray(prepared.png), np.asarray(plain.png))
    assert prepared.svg == plain.svg


def test_only_the_pictures_asked_for_are_drawn(plan, detector, astronaut, tmp_path):
    source = tmp_path / "face.png"
    Image.fromarray(astronaut).save(source)
    out_svg = tmp_path / "plan.svg"
    picture = plan_on_photo(plan, source, None, out_svg, detector=detector)
    assert picture.png is None  # no raster drawn for an SVG alone
    assert "<svg" in out_svg.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["face.png", "plan.svg"]  # no PNG
    only_png = draw_plan_on_photo(plan, picture.analysis, svg=False)
    assert only_png.png is not None and only_png.svg == ""


def test_a_drawing_prepared_for_another_plan_is_refused(plan, astronaut_analysis):
    other = build_plan(
        PlanRequest(protocol="wu_microbotox_20", zones=("chin",)), load_library(), template_mesh()
    )
    with pytest.raises(ValueError, match="another plan"):
        draw_plan_on_photo(plan, astronaut_analysis, drawing=prepare_plan_drawing(other))


def test_a_prepared_drawing_draws_the_same_template_picture(plan):
    drawing = prepare_plan_drawing(plan)
    assert plan_pictures(plan, drawing=drawing).png == plan_pictures(plan).png


def test_svg_embeds_the_photo_crop_at_its_own_size_stretched_over_the_image_box(
    plan, astronaut_analysis
):
    picture = draw_plan_on_photo(plan, astronaut_analysis)
    assert picture.drawn_scale > 1  # the astronaut's face is enlarged in the PNG
    image = ET.fromstring(picture.svg.encode()).find(f"{SVG}image")
    assert image is not None
    href = image.get("href", "")
    assert href.startswith("data:image/jpeg;base64,")
    with Image.open(io.BytesIO(base64.b64decode(href.split(",", 1)[1]))) as embedded:
        x0, y0, x1, y1 = picture.crop
        assert embedded.size == (x1 - x0, y1 - y0)  # native pixels, not the enlarged copy
    box = [image.get(k) for k in ("x", "y", "width", "height")]
    assert box == [str(v) for v in picture.scene.image_box]
    assert image.get("preserveAspectRatio") == "none"  # stretched exactly over the box


def _png_chunk_types(data: bytes) -> list[bytes]:
    """The chunk types of a PNG file, in order."""
    types, at = [], 8  # after the signature
    while at < len(data):
        length = int.from_bytes(data[at : at + 4], "big")
        types.append(data[at + 4 : at + 8])
        at += 12 + length
    return types
