"""``dosemap photos``: check a photo, analyse a folder, align before/after, strip metadata."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from dosemap.domain.errors import InvalidInputError

app = typer.Typer(help="Patient photos: capture quality, iris scale, skin metrics, before/after.")

_PHOTO = Annotated[Path, typer.Argument(help="JPEG, PNG or HEIC/HEIF photo.", show_default=False)]


def _console() -> Console:
    return Console(highlight=False)


@app.command("check")
def check(
    photo: _PHOTO,
    metrics: Annotated[bool, typer.Option(help="Also measure skin per zone.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Capture quality, iris millimetre scale and skin metrics of one photo.

    Refuses (exit 2, one line) a photo that cannot be measured: not an image, truncated, too
    many pixels, no face, several faces, face too small, head turned/tilted, eyes closed.
    """
    from dosemap.imaging.intake import read_photo
    from dosemap.imaging.landmarks import MediaPipeDetector, native_stderr_silenced
    from dosemap.imaging.quality import inspect_photo

    with native_stderr_silenced(True), MediaPipeDetector(quiet=False) as detector:
        analysis = inspect_photo(read_photo(photo), detector)
    report = None
    if metrics:
        from dosemap.imaging.skin import measure_skin

        report = measure_skin(analysis)
    if as_json:
        out: dict[str, object] = {"file": photo.name, "quality": analysis.quality.as_dict()}
        out["notes"] = list(analysis.photo.notes)
        if report is not None:
            out["skin"] = report.as_dict()
        typer.echo(json.dumps(out, indent=2))
        return
    console = _console()
    q = analysis.quality
    table = Table(title=f"Capture quality: {photo.name}", show_header=False)
    table.add_row("Size", f"{q.width_px} × {q.height_px} px")
    table.add_row("Face width", f"{q.face_width_px:.0f} px ({q.face_width_fraction:.0%} of width)")
    table.add_row(
        "Iris scale",
        f"{q.mm_per_px:.4f} mm/px (iris {q.iris_diameter_px:.1f} px = 11.7 mm, "
        f"±{q.scale_uncertainty:.0%})",
    )
    ipd_note = "" if q.ipd_plausible else "  [bold red]outside the adult 50-75 mm range[/]"
    table.add_row("Implied IPD", f"{q.ipd_mm:.1f} mm{ipd_note}")
    table.add_row(
        "Yaw / pitch / roll", f"{q.yaw_deg:+.0f}° / {q.pitch_deg:+.0f}° / {q.roll_deg:+.0f}°"
    )
    table.add_row("Eye aspect ratio", f"{q.eye_aspect_ratio:.2f}")
    table.add_row("Sharpness", f"{q.sharpness:.0f} (variance of Laplacian, face at 128 px)")
    table.add_row(
        "Clipped", f"highlights {q.highlights_clipped:.1%}, shadows {q.shadows_clipped:.1%}"
    )
    table.add_row("Flags", ", ".join(q.flags) or "none")
    console.print(table)
    for note in analysis.photo.notes:
        console.print(f"[yellow]Note:[/] {photo.name}: {note}", soft_wrap=True)
    if report is not None:
        skin = Table(title="Skin (absolute values)")
        for column in ("Zone", "Area mm²", "a*", "Δa*", "Shine", "Texture", "Pores /cm²"):
            skin.add_column(column, justify="left" if column == "Zone" else "right")
        for z in report.zones:
            pores = "n/a" if z.pore_density_per_cm2 is None else f"{z.pore_density_per_cm2:.1f}"
            a_star = "n/a" if z.a_star is None else f"{z.a_star:.2f}"
            delta = "n/a" if z.delta_a_star is None else f"{z.delta_a_star:+.2f}"
            skin.add_row(
                z.zone, f"{z.area_mm2:.0f}", a_star, delta,
                f"{z.shine_fraction:.1%}", f"{z.texture:.3f}", pores,
            )  # fmt: skip
        console.print(skin)
        console.print(
            f"Δa* against {report.reference_zone}; brightness gain {report.brightness_gain:.2f}; "
            f"texture scale {report.texture_scale_mm:.2f} mm; colour card "
            f"{'present' if report.colour_card_present else 'not found'}"
            + ("" if report.pores_resolvable else "; pores need <= 0.126 mm/px (closer photo)")
            + ("; greyscale photo: no redness" if report.greyscale else "")
        )


@app.command("analyze")
def analyze(
    folder: Annotated[Path, typer.Argument(help="Folder of photos.", show_default=False)],
    out: Annotated[Path, typer.Option(help="CSV file to write, one row per photo.")] = Path(
        "photos.csv"
    ),
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write JSON rows.")] = None,
    workers: Annotated[int | None, typer.Option(help="Processes; default all cores.")] = None,
    metrics: Annotated[bool, typer.Option(help="Measure skin per zone.")] = True,
) -> None:
    """Intake, landmarks, quality and skin metrics over a folder, on all cores.

    A bad photo becomes an error row and is listed at the end; the run carries on.
    """
    from dosemap.imaging.batch import analyze_photos, find_photos

    if not folder.is_dir():
        raise InvalidInputError("folder", f"{folder} is not a folder", "a folder of photos")
    if workers is not None and not 1 <= workers <= 256:
        raise InvalidInputError("workers", f"{workers}", "1 to 256")
    paths = find_photos(folder)
    if not paths:
        raise InvalidInputError("folder", f"no photos in {folder}", ".jpg .jpeg .png .heic .heif")
    console = _console()
    # Redrawn on each photo rather than by rich's refresh thread: a process running no other
    # thread can fork its workers, which start ~7x sooner than spawned ones (imaging.batch).
    with Progress(
        TextColumn("[bold]Analysing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=False, auto_refresh=False,
    ) as bar:  # fmt: skip
        task = bar.add_task("photos", total=len(paths))

        def advance(_: object) -> None:
            bar.advance(task)
            bar.refresh()

        rows = list(analyze_photos(paths, workers=workers, metrics=metrics, progress=advance))
    _write_rows(rows, out, json_out)
    failed = [r for r in rows if r["status"] != "ok"]
    console.print(
        f"{len(rows) - len(failed)} of {len(rows)} photos analysed, {len(failed)} failed → {out}"
    )
    if failed:
        table = Table(title="Skipped photos")
        table.add_column("File")
        table.add_column("Problem")
        for r in failed:
            table.add_row(str(r["file"]), str(r["error"]))
        console.print(table)
    if len(failed) == len(rows):  # nothing to work with: a script must not read this as done
        raise InvalidInputError(
            "folder", f"all {len(rows)} photos failed", "at least one photo that can be measured"
        )


def _write_rows(rows: list[dict[str, object]], out: Path, json_out: Path | None) -> None:
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
    if json_out is not None:
        json_out.write_text(json.dumps(rows, indent=1), encoding="utf-8")


@app.command("align")
def align(
    before: _PHOTO,
    after: _PHOTO,
    out: Annotated[Path, typer.Option(help="Folder for the three pictures.")] = Path("aligned"),
    same_person_max_distance: Annotated[
        float | None,
        typer.Option(
            help="The clinic's own same-person face distance (default: the cited 0.5).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Align AFTER onto BEFORE on stable landmarks; write side-by-side, ghost and difference.

    Also compares the two faces (dlib's face descriptor): exit 3, with the distance, when AFTER
    may show a different person than BEFORE or be mirrored; the pictures are written anyway.
    """
    from decimal import Decimal

    from dosemap.imaging.align import align_pair
    from dosemap.imaging.intake import read_photo, save_rgb
    from dosemap.imaging.landmarks import MediaPipeDetector, native_stderr_silenced
    from dosemap.imaging.quality import inspect_photo
    from dosemap.services.photo_identity import compare_photos, same_person_threshold

    threshold = None
    if same_person_max_distance is not None:
        if not 0.1 <= same_person_max_distance <= 1.2:
            raise InvalidInputError(
                "same_person_max_distance", f"{same_person_max_distance}", "0.1 to 1.2"
            )
        threshold = same_person_threshold(Decimal(str(same_person_max_distance)))
    with native_stderr_silenced(True), MediaPipeDetector(quiet=False) as detector:
        a = inspect_photo(read_photo(before), detector)
        b = inspect_photo(read_photo(after), detector)
    identity = compare_photos(a, b, threshold=threshold)
    alignment = align_pair(a, b)
    out.mkdir(parents=True, exist_ok=True)
    save_rgb(alignment.side_by_side(), out / "side_by_side.png")
    save_rgb(alignment.ghost(), out / "ghost.png")
    save_rgb(alignment.difference(), out / "difference.png")
    t = alignment.transform
    console = _console()
    console.print(
        f"Aligned {after.name} onto {before.name}: scale {t.scale:.3f}, rotation "
        f"{t.angle_deg:+.1f}°; residual on stable landmarks {alignment.rms_residual_mm:.1f} mm "
        f"RMS, {alignment.max_residual_mm:.1f} mm max → {out}/"
    )
    for photo in (a.photo, b.photo):
        for note in photo.notes:
            console.print(f"[yellow]Note:[/] {photo.source}: {note}", soft_wrap=True)
    assert identity.comparison is not None  # one earlier photo was given
    if not identity.warnings:
        console.print(f"Same person: {identity.comparison.describe()}", soft_wrap=True)
        return
    for warning in identity.warnings:
        console.print(f"[bold red]Warning:[/] {after.name}: {warning}", soft_wrap=True)
    raise typer.Exit(3)


@app.command("strip")
def strip(
    photo: _PHOTO,
    out: Annotated[Path, typer.Argument(help="Output .jpg/.png.", show_default=False)],
) -> None:
    """Store a copy with EXIF orientation applied and all metadata (EXIF, GPS) removed."""
    from dosemap.imaging.intake import export_stripped, read_photo

    export_stripped(read_photo(photo), out)
    _console().print(f"{out}: {photo.name} without metadata")
