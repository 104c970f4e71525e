"""``dosemap dilute``: concentration, units per point, syringe marks, draw-up, vials, beyond use."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from dosemap.cli._library_view import library_from, parse_decimal, show
from dosemap.domain.dosing import (
    SYRINGES,
    ClinicPrices,
    Concentration,
    beyond_use_at,
    botox_equivalent_units,
    draw_up,
    estimate_cost,
    reconstitute,
    syringe,
    syringe_marks,
    units_for_volume,
    vials_needed,
    working_mix,
)
from dosemap.domain.errors import InvalidInputError
from dosemap.domain.library import Library
from dosemap.domain.library.models import AdjunctKind

_MAX_POINTS = 2000


def _adjuncts(library: Library, specs: list[str]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for spec in specs:
        name, sep, amount = spec.partition("=")
        if not sep:
            raise InvalidInputError(
                "adjunct", f"{spec!r} has no '='", "NAME=ML_PER_ML, e.g. lidocaine=0.1"
            )
        library.adjunct(name.strip())
        out[name.strip()] = parse_decimal(f"adjunct[{name.strip()}]", amount)
    return out


def _reconstituted_at(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInputError(
            "reconstituted_at", f"{text!r} is not an ISO date-time", "e.g. 2026-03-01T09:00+01:00"
        ) from None


def dilute(
    product: Annotated[str, typer.Option(help="Product id (dosemap catalog products).")],
    vial_units: Annotated[str, typer.Option(help="Units in the vial, e.g. 100.")],
    diluent_ml: Annotated[str, typer.Option(help="mL of diluent added to the vial, e.g. 2.5.")],
    volume_ul: Annotated[str | None, typer.Option(help="µL per injection point.")] = None,
    points: Annotated[int | None, typer.Option(help="Number of injection points.")] = None,
    target_units_per_ml: Annotated[
        str | None, typer.Option(help="Working concentration wanted in the syringe (U/mL).")
    ] = None,
    adjunct: Annotated[
        list[str] | None,
        typer.Option(help="Adjunct as NAME=mL per mL of mix (repeatable), e.g. lidocaine=0.1."),
    ] = None,
    dead_space_ul: Annotated[
        str | None,
        typer.Option(help="Hub/needle dead space to allow (µL); default: the library's figure."),
    ] = None,
    reconstituted_at: Annotated[
        str | None, typer.Option(help="ISO date-time with time zone; default now (UTC).")
    ] = None,
    price_per_vial: Annotated[str | None, typer.Option(help="Clinic price per vial.")] = None,
    price_per_unit: Annotated[str | None, typer.Option(help="Clinic price per unit.")] = None,
    consumables: Annotated[str, typer.Option(help="Consumables per session.")] = "0",
    currency: Annotated[str, typer.Option(help="Currency code of the prices.")] = "USD",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (exact decimals).")] = False,
    clinic_file: Annotated[
        list[Path] | None, typer.Option("--clinic-file", help="A clinic's library TOML.")
    ] = None,
) -> None:
    """Print U/mL, U per 0.1 mL, U per µL, units per point, syringe marks, draw-up and more."""
    library = library_from(clinic_file)
    record = library.product(product)
    vial = parse_decimal("vial_units", vial_units)
    diluent = parse_decimal("diluent_ml", diluent_ml)
    stock = reconstitute(vial, diluent)
    adjuncts = _adjuncts(library, adjunct or [])
    target = (
        parse_decimal("target_units_per_ml", target_units_per_ml)
        if target_units_per_ml is not None
        else None
    )
    mix = working_mix(
        product,
        vial,
        diluent,
        target_units_per_ml=target,
        adjunct_ml_per_ml=adjuncts,
        adjunct_is_ha={
            name: library.adjunct(name).kind is AdjunctKind.HYALURONIC_ACID for name in adjuncts
        },
    )
    mix_upm = mix.units_per_ml
    per_point = parse_decimal("volume_ul", volume_ul) if volume_ul is not None else None
    if points is not None and not 1 <= points <= _MAX_POINTS:
        raise InvalidInputError("points", f"{points} is out of range", f">= 1 and <= {_MAX_POINTS}")
    if points is not None and per_point is None:
        raise InvalidInputError("volume_ul", "is needed with --points", "µL per point, e.g. 10")
    dead = (
        parse_decimal("dead_space_ul", dead_space_ul)
        if dead_space_ul is not None
        else library.figure("dead_space_ul").value
    )
    start = _reconstituted_at(reconstituted_at)

    result: dict[str, Any] = {
        "product": product,
        "stock": {
            "vial_units": vial,
            "diluent_ml": diluent,
            "units_per_ml": stock.units_per_ml,
            "units_per_0_1_ml": stock.units_per_0_1_ml,
            "units_per_ul": stock.units_per_ul,
            "label_row": next(
                (
                    r.units_per_0_1_ml.cite()
                    for r in record.label_dilutions
                    if r.vial_units == vial and r.diluent_ml == diluent
                ),
                None,
            ),
        },
        "mix": mix.model_dump(),
    }
    mix_concentration = Concentration(mix_upm)
    result["mix_units_per_0_1_ml"] = mix_concentration.units_per_0_1_ml
    result["mix_units_per_ul"] = mix_concentration.units_per_ul
    if per_point is not None:
        result["units_per_point"] = units_for_volume(per_point, mix_upm)
        result["syringes"] = [
            syringe_marks(per_point, syringe(sid)).describe()
            for sid in ("ml_1", "insulin_u100_1ml")
            if per_point <= SYRINGES[sid].capacity_ul
        ]
    if points is not None and per_point is not None:
        total_ul = per_point * points
        total_units = units_for_volume(total_ul, mix_upm)
        lines = draw_up(mix, total_ul, dead)
        stock_ml = next(line.volume_ml for line in lines if line.ingredient.startswith("stock:"))
        stock_units = stock_ml * stock.units_per_ml
        vials, left = vials_needed(stock_units, vial)
        result["session"] = {
            "points": points,
            "total_volume_ul": total_ul,
            "total_units_injected": total_units,
            "dead_space_ul": dead,
            "draw_up_ml": {line.ingredient: line.volume_ml for line in lines},
            "stock_units_drawn": stock_units,
            "vials": vials,
            "units_left_in_vials": left,
        }
        if product in library.conversions:
            eq = botox_equivalent_units(total_units, product, library)
            result["session"]["botox_equivalent"] = {
                "default": eq.default,
                "low": eq.low,
                "high": eq.high,
                "is_potency_ratio": eq.is_potency_ratio,
                "caveat": eq.caveat,
                "sources": list(eq.sources),
            }
        if price_per_vial is not None or price_per_unit is not None:
            prices = ClinicPrices(
                currency,
                price_per_vial=parse_decimal("price_per_vial", price_per_vial)
                if price_per_vial
                else None,
                price_per_unit=parse_decimal("price_per_unit", price_per_unit)
                if price_per_unit
                else None,
                consumables_per_session=parse_decimal("consumables", consumables),
            )
            cost = estimate_cost(stock_units, vial, prices)
            result["session"]["cost"] = {
                "currency": cost.currency,
                "whole_vials": cost.toxin_cost_whole_vials,
                "units_used": cost.toxin_cost_units_used,
                "consumables": cost.consumables,
                "total": cost.total,
            }
    result["beyond_use"] = [
        {
            "policy": p.id,
            "name": p.name,
            "hours": p.hours.value,
            "discard_at": beyond_use_at(start, p).isoformat(),
            "cited": p.hours.cite(),
            "storage": p.storage,
        }
        for p in record.beyond_use_policies
    ]
    result["reconstituted_at"] = start.isoformat()

    if as_json:
        typer.echo(json.dumps(result, indent=2, default=str, ensure_ascii=False))
        return
    _print(Console(), library, result)


def _print(console: Console, library: Library, r: dict[str, Any]) -> None:
    s = r["stock"]
    table = Table(title=f"{library.product(r['product']).name}: stock and working mix")
    for column in ("", "U/mL", "U per 0.1 mL", "U per µL", "Note"):
        table.add_column(column)
    label = f"label row {s['label_row']}" if s["label_row"] else "not a label dilution"
    table.add_row(
        f"Stock {show(s['vial_units'])} U + {show(s['diluent_ml'])} mL",
        show(s["units_per_ml"]),
        show(s["units_per_0_1_ml"]),
        show(s["units_per_ul"], 6),
        label,
    )
    mix = r["mix"]
    parts = ", ".join(
        f"{c['ingredient']} {show(c['fraction'] * 100, 2)}%" for c in mix["components"]
    )
    table.add_row(
        "Working mix",
        show(mix["units_per_ml"]),
        show(r["mix_units_per_0_1_ml"]),
        show(r["mix_units_per_ul"], 6),
        parts + ("  [bold red]contains HA[/bold red]" if mix["contains_hyaluronic_acid"] else ""),
    )
    console.print(table)
    if "units_per_point" in r:
        console.print(f"Units per point: [bold]{show(r['units_per_point'])} U[/bold]")
        for line in r["syringes"]:
            console.print(f"  • {line}")
    session = r.get("session")
    if session:
        dead = show(session["dead_space_ul"])
        draw = Table(title=f"Draw up: {session['points']} points + {dead} µL dead space")
        draw.add_column("Ingredient")
        draw.add_column("mL", justify="right")
        for name, ml in session["draw_up_ml"].items():
            draw.add_row(name, show(ml))
        console.print(draw)
        console.print(
            f"Injected: {show(session['total_volume_ul'])} µL = "
            f"[bold]{show(session['total_units_injected'])} U[/bold]; stock drawn holds "
            f"{show(session['stock_units_drawn'])} U → {session['vials']} vial(s), "
            f"{show(session['units_left_in_vials'])} U left"
        )
        eq = session.get("botox_equivalent")
        if eq and r["product"] != "botox_cosmetic":
            flag = "" if eq["is_potency_ratio"] else " [bold red](NOT a potency ratio)[/bold red]"
            console.print(
                f"Botox-equivalent: {show(eq['default'])} U (range {show(eq['low'])}–"
                f"{show(eq['high'])}){flag}. {eq['caveat']}"
            )
        cost = session.get("cost")
        if cost:
            console.print(
                f"Cost: {show(cost['total'], 2)} {cost['currency']} (whole vials "
                f"{show(cost['whole_vials'], 2)} + consumables {show(cost['consumables'], 2)}; "
                f"units actually used {show(cost['units_used'], 2)})"
            )
    bu = Table(title=f"Beyond use (reconstituted {r['reconstituted_at']})")
    bu.add_column("Policy")
    bu.add_column("Hours", justify="right")
    bu.add_column("Discard at", no_wrap=True)
    bu.add_column("Cited", no_wrap=True)
    bu.add_column("Storage", style="dim")
    for p in r["beyond_use"]:
        discard = datetime.fromisoformat(p["discard_at"]).strftime("%Y-%m-%d %H:%M %Z")
        bu.add_row(p["name"], str(p["hours"]), discard, p["cited"], p["storage"])
    console.print(bu)
