"""``dosemap render``: draw a saved plan on the template face or on the patient's photo."""

from __future__ import annotations

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
    from dosemap.services.photo_plan import plan_pictures

    pictures = plan_pictures(
        plan, photo=photo, png=png is not None, svg=svg is not None, product_name=product_name
    )
    if pictures.analysis is not None and photo is not None:
        q = pictures.analysis.quality
        console.print(
            f"{photo.name}: {q.mm_per_px:.3f} mm/px from the iris (±{q.scale_uncertainty:.0%}), "
            f"IPD {q.ipd_mm:.0f} mm, yaw {q.yaw_deg:+.0f}°"
            + (f"; flags: {', '.join(q.flags)}" if q.flags else "")
        )
        from dosemap.cli.plan import print_photo_notes

        print_photo_notes(console, pictures.analysis.photo, pictures.warnings)
    outputs: dict[Path, bytes] = {}
    if png is not None and pictures.png is not None:
        outputs[png] = pictures.png
    if svg is not None and pictures.svg is not None:
        outputs[svg] = pictures.svg.encode()
    for path, data in outputs.items():  # written only once everything rendered
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    for written in (png, svg):
        if written is not None:
            console.print(f"wrote {written}")
