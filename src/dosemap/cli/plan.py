"""``dosemap plan``: lay out a micro-dose plan on the metric face, write JSON (+ SVG / PNG)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from dosemap.cli._library_view import library_from, parse_decimal, show
from dosemap.domain import display
from dosemap.domain.atlas.zones import ZONES
from dosemap.domain.errors import InvalidInputError
from dosemap.domain.library import Library
from dosemap.domain.plan import Plan, PlanRequest, SessionPlan, combine_plans
from dosemap.domain.planning import build_plan
from dosemap.resources import template_mesh

if TYPE_CHECKING:
    from dosemap.imaging.intake import Photo


def _positive(field: str, text: str | None) -> Decimal | None:
    """Parse an optional number that must be > 0, naming the option when it is not."""
    if text is None:
        return None
    value = parse_decimal(field, text)
    if value <= 0:
        raise InvalidInputError(field, f"{text} is not > 0", "> 0")
    return value


def _ids(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _pairs(field: str, specs: list[str] | None, example: str) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for spec in specs or ():
        name, sep, amount = spec.partition("=")
        if not sep or not name.strip():
            raise InvalidInputError(field, f"{spec!r} has no '='", example)
        out[name.strip()] = parse_decimal(f"{field}[{name.strip()}]", amount)
    return out


def _summary_table(plan: Plan) -> Table:
    word = "stamps" if "stamp" in plan.technique or "device" in plan.technique else "entries"
    total = display.units(plan.summary.total_units, mark_rounded=True)
    table = Table(title=f"{plan.summary.needle_entries} {word}, {total}")
    for column in ("zone", word, "units", "µL", "area mm²", "clear of margins mm²"):
        table.add_column(column, justify="left" if column == "zone" else "right")
    for z in plan.summary.zones:
        table.add_row(
            ZONES[z.zone].name,
            str(z.points),
            display.number(z.units, display.UNITS_PLACES, mark_rounded=True),
            display.number(z.volume_ul, display.VOLUME_UL_PLACES, mark_rounded=True),
            f"{z.area_mm2:.0f}",
            "" if z.treatable_area_mm2 is None else f"{z.treatable_area_mm2:.0f}",
        )
    table.add_row(
        "total",
        str(plan.summary.needle_entries),
        display.number(plan.summary.total_units, display.UNITS_PLACES, mark_rounded=True),
        display.number(plan.summary.total_volume_ul, display.VOLUME_UL_PLACES, mark_rounded=True),
        "",
        "",
        style="bold",
    )
    return table


def plan(
    out: Annotated[Path, typer.Option(help="Write the plan (JSON) here.")],
    zones: Annotated[
        str | None, typer.Option(help="Comma-separated zone ids, e.g. forehead,medial_cheek_left.")
    ] = None,
    goals: Annotated[
        str | None, typer.Option(help="Comma-separated goal ids; their suggested zones.")
    ] = None,
    protocol: Annotated[
        str | None, typer.Option(help="Protocol preset id (dosemap catalog protocols).")
    ] = None,
    product: Annotated[str | None, typer.Option(help="Product id (overrides the preset).")] = None,
    technique: Annotated[str | None, typer.Option(help="Technique id.")] = None,
    vial_units: Annotated[str | None, typer.Option(help="Units in the vial.")] = None,
    diluent_ml: Annotated[str | None, typer.Option(help="mL of diluent in the vial.")] = None,
    working_units_per_ml: Annotated[
        str | None, typer.Option(help="Working concentration in the syringe (U/mL).")
    ] = None,
    volume_ul: Annotated[str | None, typer.Option(help="µL per point.")] = None,
    spacing_mm: Annotated[str | None, typer.Option(help="Distance between points (mm).")] = None,
    forehead_height_mm: Annotated[
        str | None,
        typer.Option(
            help="Top of the forehead zone, mm above the brow at the midline (the patient's "
            "brow-to-hairline height); default: where the face mesh ends (~36 mm). Higher is "
            "extrapolated above the mesh."
        ),
    ] = None,
    target: Annotated[
        list[str] | None,
        typer.Option(help="Target units for a zone, ZONE=U (repeatable), e.g. forehead=4."),
    ] = None,
    adjunct: Annotated[
        list[str] | None,
        typer.Option(help="Adjunct as NAME=mL per mL of mix (repeatable), e.g. lidocaine=0.1."),
    ] = None,
    vial_price: Annotated[str | None, typer.Option(help="Price of one vial, for the cost.")] = None,
    currency: Annotated[str | None, typer.Option(help="Currency of --vial-price.")] = None,
    svg: Annotated[Path | None, typer.Option(help="Also draw the plan as SVG here.")] = None,
    photo: Annotated[
        Path | None,
        typer.Option(help="Draw the pictures on this photo of the patient (JPEG, PNG, HEIC)."),
    ] = None,
    png: Annotated[Path | None, typer.Option(help="Also draw the plan as PNG here.")] = None,
    clinic_file: Annotated[
        list[Path] | None, typer.Option(help="Clinic library TOML file (repeatable).")
    ] = None,
    with_plan: Annotated[
        list[Path] | None,
        typer.Option(
            "--with",
            help="A plan file this plan joins in one session (repeatable), e.g. another "
            "product's; --out is then a session plan (format 2) of all of them.",
        ),
    ] = None,
) -> None:
    """Plan micro-dose points on the metric template face and write the plan file."""
    library = library_from(clinic_file)
    price = None if vial_price is None else parse_decimal("vial_price", vial_price)
    if price is not None and price < 0:
        raise InvalidInputError("vial_price", f"{vial_price} is negative", ">= 0")
    request = PlanRequest(
        zones=_ids(zones),
        goals=_ids(goals),
        protocol=protocol,
        product=product,
        technique=technique,
        vial_units=_positive("vial_units", vial_units),
        diluent_ml=_positive("diluent_ml", diluent_ml),
        working_units_per_ml=_positive("working_units_per_ml", working_units_per_ml),
        volume_per_point_ul=_positive("volume_ul", volume_ul),
        spacing_mm=_positive("spacing_mm", spacing_mm),
        forehead_height_mm=_positive("forehead_height_mm", forehead_height_mm),
        zone_target_units=_pairs("target", target, "ZONE=UNITS, e.g. forehead=4"),
        adjuncts=_pairs("adjunct", adjunct, "NAME=ML_PER_ML, e.g. lidocaine=0.1"),
        vial_price=price,
        currency=currency,
    )
    from dosemap.cli.check import read_plan

    others = [read_plan(path, "--with") for path in with_plan or ()]
    mesh = template_mesh()
    result = build_plan(request, library, mesh)
    console = Console()
    session = combine_plans([*others, result]) if others else None
    written = write_plan_files(
        result, library, out=out, svg=svg, png=png, photo=photo, console=console, session=session
    )
    if session is None:
        print_plan(console, result, library)
        print_findings(console, result, library)
    else:
        for one in session.plans:
            print_plan(console, one, library)
        if svg is not None or png is not None:
            console.print("[yellow]Note:[/] the pictures show the new plan only.")
        print_findings(console, session, library)
    for path in written:
        console.print(f"wrote {path}")


def write_plan_files(
    result: Plan,
    library: Library,
    *,
    out: Path,
    svg: Path | None = None,
    png: Path | None = None,
    photo: Path | None = None,
    console: Console | None = None,
    session: SessionPlan | None = None,
) -> list[Path]:
    """Write the plan JSON and its pictures (on the template face, or on ``photo``).

    Everything is rendered in memory first, so a failure leaves no half-written files. Notes
    about the photo (e.g. unreadable EXIF metadata) are printed on ``console``.
    """
    document = result if session is None else session
    outputs: dict[Path, bytes] = {out: (document.model_dump_json(indent=2) + "\n").encode()}
    if svg is not None or png is not None:
        from dosemap.services.photo_plan import plan_pictures

        pictures = plan_pictures(
            result,
            photo=photo,
            png=png is not None,
            svg=svg is not None,
            product_name=library.product(result.product).name,
        )
        if pictures.analysis is not None and console is not None:
            print_photo_notes(console, pictures.analysis.photo, pictures.warnings)
        if png is not None and pictures.png is not None:
            outputs[png] = pictures.png
        if svg is not None and pictures.svg is not None:
            outputs[svg] = pictures.svg.encode()
    for path, data in outputs.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return list(outputs)


def print_photo_notes(console: Console, photo: Photo, warnings: Sequence[str] = ()) -> None:
    """One line per note about a photo file (each already names what was done about it), and
    one per warning about the plan on it (points not on visible skin)."""
    for note in photo.notes:
        console.print(f"[yellow]Note:[/] {photo.source}: {note}", highlight=False, soft_wrap=True)
    for warning in warnings:
        console.print(
            f"[bold red]Warning:[/] {photo.source}: {warning}", highlight=False, soft_wrap=True
        )


def print_plan(console: Console, result: Plan, library: Library) -> None:
    """The injector's summary: mix, per-zone table, draw-up, vials, cost, notes, citation."""
    product_name = library.product(result.product).name
    mix = result.mix
    strength = display.concentration(mix.units_per_ml, mark_rounded=True)
    console.print(
        f"[bold]{product_name}[/] {show(mix.stock_vial_units)} U + {show(mix.stock_diluent_ml)} mL"
        f" → {strength} · technique {result.technique} · {show(result.spacing_mm)} mm apart"
    )
    console.print(_summary_table(result))
    draw = ", ".join(
        f"{display.volume_ml(d.volume_ml, mark_rounded=True)} {d.ingredient}"
        for d in result.summary.draw_up
    )
    console.print(f"Draw up (with dead space): {draw}")
    left = display.units(result.summary.units_left_in_vials, mark_rounded=True)
    console.print(
        f"Vials: {result.summary.vials_needed} of {show(mix.stock_vial_units)} U, {left} left"
    )
    if result.summary.estimated_cost is not None:
        console.print(
            f"Cost: {show(result.summary.estimated_cost, 2)} {result.summary.currency or ''}"
        )
    if mix.contains_hyaluronic_acid:
        console.print(
            "[red]Mix contains hyaluronic acid: vascular danger zones were kept clear.[/]"
        )
    for note in result.notes:
        console.print(f"[yellow]Note:[/] {note}")
    citation = result.protocol_citation or "none (parameters entered by hand)"
    console.print(f"Off-label intradermal use; protocol: {citation}")


def print_findings(console: Console, result: Plan | SessionPlan, library: Library) -> None:
    """Safety findings of the plan alone (no intake, no session context): never hidden."""
    from dosemap.cli.check import render as render_findings
    from dosemap.domain.safety import evaluate

    console.print(
        "[bold]Safety check of the plan[/] (add the patient's intake and the session's vials "
        "with `dosemap check PLAN --patient … --context …`):"
    )
    render_findings(evaluate(result, library, mesh=template_mesh()), console)
