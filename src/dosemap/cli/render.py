"""``dosemap render``: draw a saved plan on the template face or on the patient's photo."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from dosemap.cli._library_view import library_from
from dosemap.domain.errors import InvalidInputError
from dosemap.domain.plan import Plan


def _load_plan(path: Path) -> Plan:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(
            "plan", f"cannot read {path} ({exc.strerror})", "a plan JSON file"
        ) from exc
    return Plan.model_validate_json(text)


def render(
    plan_file: Annotated[
        Path, typer.Argument(help="Plan JSON (dosemap plan --out).", show_default=False)
    ],
    photo: Annotated[
        Path | None, typer.Option(help="Patient photo (JPEG, PNG, HEIC) to draw the plan on.")
    ] = None,
    png: Annotated[
        Path | None, typer.Option(help="PNG to write (default: PLAN with .png).")
    ] = None,
    svg: Annotated[Path | None, typer.Option(help="SVG to write as well.")] = None,
    clinic_file: Annotated[
        list[Path] | None, typer.Option(help="Clinic library TOML file (repeatable).")
    ] = None,
) -> None:
    """Draw PLAN: numbered points with units, zone outlines and totals, danger zones, scale bar.

    With --photo the plan is placed on the patient's face through its mesh anchors and the
    scale bar comes from the iris (11.7 mm). The written files carry no EXIF or GPS.
    """
    plan = _load_plan(plan_file)
    try:
        product_name = library_from(clinic_file).product(plan.product).name
    except InvalidInputError:
        product_name = None  # a product from another clinic's library: show its id
    if png is None and svg is None:
        png = plan_file.with_suffix(".png")
    console = Console(highlight=False)
    if photo is not None:
        from dosemap.services.photo_plan import plan_on_photo

        picture = plan_on_photo(plan, photo, png, svg, product_name=product_name)
        q = picture.analysis.quality
        console.print(
            f"{photo.name}: {q.mm_per_px:.3f} mm/px from the iris (±{q.scale_uncertainty:.0%}), "
            f"IPD {q.ipd_mm:.0f} mm, yaw {q.yaw_deg:+.0f}°"
            + (f"; flags: {', '.join(q.flags)}" if q.flags else "")
        )
    else:
        from dosemap.domain.planning.regions import treatable_outlines
        from dosemap.render.raster import to_png
        from dosemap.render.scene import build_plan_scene, template_projection
        from dosemap.render.svg import to_svg
        from dosemap.resources import template_mesh

        mesh = template_mesh()
        landmarks, size, mm_per_px = template_projection(mesh)
        scene = build_plan_scene(
            plan, landmarks, image_size=size, mm_per_px=mm_per_px, product_name=product_name,
            treatable=treatable_outlines(plan, mesh),
        )  # fmt: skip
        outputs: dict[Path, bytes] = {}
        if png is not None:
            buffer = io.BytesIO()
            to_png(scene).save(buffer, format="PNG")
            outputs[png] = buffer.getvalue()
        if svg is not None:
            outputs[svg] = to_svg(scene).encode()
        for path, data in outputs.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    for written in (png, svg):
        if written is not None:
            console.print(f"wrote {written}")
