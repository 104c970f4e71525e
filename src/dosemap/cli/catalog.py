"""``dosemap catalog``: browse the cited reference library (tables, one record in full, JSON)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from dosemap.cli._library_view import library_from, show
from dosemap.domain.dosing import reconstitute
from dosemap.domain.evidence import Cited
from dosemap.domain.library import Library


class Kind(StrEnum):
    """What to list."""

    products = "products"
    protocols = "protocols"
    techniques = "techniques"
    adjuncts = "adjuncts"
    goals = "goals"
    conversions = "conversions"
    sources = "sources"


def _records(library: Library, kind: Kind) -> Mapping[str, BaseModel]:
    return {
        Kind.products: library.products,
        Kind.protocols: library.protocols,
        Kind.techniques: library.techniques,
        Kind.adjuncts: library.adjuncts,
        Kind.goals: library.goals,
        Kind.conversions: library.conversions,
        Kind.sources: library.sources,
    }[kind]


def _lookup(library: Library, kind: Kind, record_id: str) -> BaseModel:
    getters: dict[Kind, Callable[[str], BaseModel]] = {
        Kind.products: library.product,
        Kind.protocols: library.protocol,
        Kind.techniques: library.technique,
        Kind.adjuncts: library.adjunct,
        Kind.goals: library.goal,
        Kind.conversions: library.conversion,
        Kind.sources: library.source,
    }
    return getters[kind](record_id)


def catalog(
    kind: Annotated[Kind, typer.Argument(help="What to list.")],
    record_id: Annotated[
        str | None, typer.Argument(metavar="[ID]", help="Show one record with every figure.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    clinic_file: Annotated[
        list[Path] | None,
        typer.Option("--clinic-file", help="A clinic's library TOML (repeatable; later wins)."),
    ] = None,
) -> None:
    """List products, protocols, techniques, adjuncts, goals, conversions or sources."""
    library = library_from(clinic_file)
    console = Console()
    if record_id is not None:
        record = _lookup(library, kind, record_id)
        if as_json:
            payload = {
                "record": record.model_dump(mode="json"),
                "origin": library.origin(kind.value, record_id),
                "library_version": library.version,
            }
            typer.echo(json.dumps(payload, indent=2, ensure_ascii=False))
            return
        _print_record(console, library, kind, record_id, record)
        return
    records = _records(library, kind)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "library_version": library.version,
                    kind.value: [r.model_dump(mode="json") for r in records.values()],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        return
    console.print(_LISTERS[kind](library))
    console.print(
        f"[dim]Library {library.version}. All intradermal micro-dose use is off-label; "
        "each preset is one published option, not the dose. "
        f"Show one: dosemap catalog {kind.value} ID[/dim]"
    )


# --------------------------------------------------------------------------- one record


def _figures(value: Any, path: str) -> Iterator[tuple[str, Any, Cited[Any] | None]]:
    """Every leaf of a record: (dotted path, value, the Cited wrapper if any)."""
    if isinstance(value, Cited):
        yield path, value.value, value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _figures(getattr(value, name), f"{path}.{name}" if path else name)
    elif isinstance(value, tuple) and value and isinstance(value[0], BaseModel | Cited):
        for index, item in enumerate(value):
            yield from _figures(item, f"{path}[{index}]")
    elif isinstance(value, dict) and value:
        for key, item in value.items():
            yield from _figures(item, f"{path}.{key}")
    elif value is not None and value != () and value != {}:
        yield path, value, None


def _text(value: Any) -> str:
    if isinstance(value, tuple):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _print_record(
    console: Console, library: Library, kind: Kind, record_id: str, record: BaseModel
) -> None:
    console.print(f"[bold]{kind.value[:-1]} {record_id}[/bold]")
    console.print(f"from {library.origin(kind.value, record_id)}", soft_wrap=True)
    table = Table()
    table.add_column("Field", style="bold")
    table.add_column("Value")
    table.add_column("Tag")
    table.add_column("Source")
    table.add_column("Note", style="dim")
    cited_sources: dict[str, None] = {}
    for path, value, cited in _figures(record, ""):
        if cited is None:
            table.add_row(path, _text(value), "", "", "")
            continue
        cited_sources[cited.source] = None
        table.add_row(path, _text(value), cited.tag.value, cited.source, cited.note or "")
    for attr in ("source",):  # protocols name their main source as a plain id
        main = getattr(record, attr, None)
        if isinstance(main, str) and main in library.sources:
            cited_sources[main] = None
    console.print(table)
    if cited_sources:
        sources = Table(title="Sources", show_header=True)
        sources.add_column("Id", style="bold")
        sources.add_column("Citation")
        for source_id in cited_sources:
            source = library.source(source_id)
            sources.add_row(source_id, source.citation + (f"\n{source.url}" if source.url else ""))
        console.print(sources)


# --------------------------------------------------------------------------- tables


def _products(library: Library) -> Table:
    table = Table(title="Products")
    for column in ("Id", "Name", "INN", "Vials (U)", "Label dilutions", "Beyond use", "Retreat"):
        table.add_column(column, overflow="fold")
    for product in library.products.values():
        dilutions = "; ".join(
            f"{show(r.vial_units)} U + {show(r.diluent_ml)} mL = "
            f"{show(r.units_per_0_1_ml.value)} U/0.1 mL [{r.units_per_0_1_ml.tag.value}]"
            for r in product.label_dilutions
        )
        policies = "; ".join(
            f"{p.id}: {p.hours.value} h [{p.hours.tag.value}]" for p in product.beyond_use_policies
        )
        table.add_row(
            product.id,
            product.name,
            product.inn,
            ", ".join(show(v) for v in product.vial_sizes_units.value),
            dilutions or "—",
            policies or "—",
            f"≥ {product.min_retreatment_days.value} d [{product.min_retreatment_days.tag.value}]",
        )
    return table


def _protocols(library: Library) -> Table:
    table = Table(title="Protocol presets (each one published option, not the dose)")
    for column in (
        "Id",
        "Product",
        "Stock",
        "U/mL",
        "µL/pt",
        "U/pt",
        "Spacing",
        "Technique",
        "Tag",
        "Source",
    ):
        table.add_column(column, overflow="fold")
    for protocol in library.protocols.values():
        stock = reconstitute(protocol.stock.vial_units, protocol.stock.diluent_ml)
        upm = protocol.working_units_per_ml.value
        volume = protocol.volume_per_point_ul.value
        table.add_row(
            protocol.id,
            protocol.stock.product,
            f"{show(protocol.stock.vial_units)} U + {show(protocol.stock.diluent_ml)} mL "
            f"({show(stock.units_per_0_1_ml, 2)} U/0.1 mL)",
            show(upm, 2),
            f"{show(volume)} [{protocol.volume_per_point_ul.tag.value}]",
            show(upm * volume / 1000, 3),
            f"{show(protocol.spacing_mm.value)} mm [{protocol.spacing_mm.tag.value}]",
            protocol.technique,
            protocol.tag,
            protocol.source,
        )
    return table


def _techniques(library: Library) -> Table:
    table = Table(title="Techniques")
    for column in ("Id", "Name", "Kind", "Depth (mm)", "Typical µL/pt", "Stamp", "Depth (source)"):
        table.add_column(column, overflow="fold")
    for t in library.techniques.values():
        stamp = "—"
        if t.kind.value == "stamp":
            needle = (
                f"{show(t.needle_length_mm.value)} mm [{t.needle_length_mm.tag.value}]"
                if t.needle_length_mm
                else "?"
            )
            per_stamp = (
                f"{show(t.volume_per_stamp_ul.value)} µL [{t.volume_per_stamp_ul.tag.value}]"
                if t.volume_per_stamp_ul
                else "?"
            )
            pitch = f"{show(t.stamp_pitch_mm)} mm" if t.stamp_pitch_mm is not None else "?"
            needles = str(t.needles_per_stamp) if t.needles_per_stamp else "?"
            stamp = f"needles {needles}, length {needle}, {per_stamp}/stamp, pitch {pitch}"
        table.add_row(
            t.id,
            t.name,
            t.kind.value,
            f"{show(t.depth_mm_low)}–{show(t.depth_mm_high)}",
            f"{show(t.typical_volume_per_point_ul.value)} "
            f"[{t.typical_volume_per_point_ul.tag.value}]",
            stamp,
            t.depth.cite(),
        )
    return table


def _adjuncts(library: Library) -> Table:
    table = Table(title="Adjuncts")
    for column in ("Id", "Name", "Kind", "Description", "Cited"):
        table.add_column(column, overflow="fold")
    for a in library.adjuncts.values():
        table.add_row(a.id, a.name, a.kind.value, a.description.value, a.description.cite())
    return table


def _goals(library: Library) -> Table:
    table = Table(title="Goals → suggested zones and presets")
    for column in ("Id", "Name", "Zones", "Presets", "Cited"):
        table.add_column(column, overflow="fold")
    for g in library.goals.values():
        table.add_row(g.id, g.name, ", ".join(g.zones), ", ".join(g.protocols), g.rationale.cite())
    return table


def _conversions(library: Library) -> Table:
    table = Table(
        title="Units per 1 Botox unit (labels: units are NOT interchangeable between products)"
    )
    for column in ("Product", "Default", "Range", "Potency ratio?", "Cited", "Note"):
        table.add_column(column, overflow="fold")
    for pid, c in library.conversions.items():
        table.add_row(
            pid,
            show(c.units_per_botox_unit.value),
            f"{show(c.low)}–{show(c.high)}",
            "yes" if c.is_potency_ratio else "[bold red]NO — label-dose ratio[/bold red]",
            c.units_per_botox_unit.cite(),
            c.units_per_botox_unit.note or "",
        )
    return table


def _sources(library: Library) -> Table:
    table = Table(title="Sources")
    table.add_column("Id", style="bold")
    table.add_column("Citation")
    for s in library.sources.values():
        table.add_row(s.id, s.citation + (f"\n{s.url}" if s.url else ""))
    return table


_LISTERS: dict[Kind, Callable[[Library], Table]] = {
    Kind.products: _products,
    Kind.protocols: _protocols,
    Kind.techniques: _techniques,
    Kind.adjuncts: _adjuncts,
    Kind.goals: _goals,
    Kind.conversions: _conversions,
    Kind.sources: _sources,
}
