"""``dosemap vials …``: lots, reconstituted vials, discard, reconciliation."""

from __future__ import annotations

from datetime import UTC, datetime

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from dosemap.cli.db import (
    ActorOpt,
    ClinicOpt,
    open_database,
    parse_date,
    resolve_clinic,
    resolve_vial,
    resolve_writer,
)
from dosemap.domain.errors import InvalidInputError
from dosemap.resources import load_library
from dosemap.services import vials as svc

app = typer.Typer(help="Product lots and reconstituted vials.", no_args_is_help=True)
# User values (a chart number "[/]") must never be read as markup: styles are set explicitly.
console = Console(markup=False)


def parse_time(text: str | None, field: str) -> datetime:
    """An ISO date-time with offset (default: now)."""
    if text is None:
        return datetime.now(UTC)
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInputError(
            field, f"not a date-time: {text!r}", "ISO 8601 with offset"
        ) from None
    if at.tzinfo is None:
        raise InvalidInputError(
            field, "has no time zone", "ISO 8601 with offset, e.g. 2026-03-02T10:00+01:00"
        )
    return at


@app.command("lot-add")
def lot_add(
    product: str,
    lot_number: str,
    expires: str = typer.Option(..., help="YYYY-MM-DD"),
    clinic: str | None = ClinicOpt,
    actor: str | None = ActorOpt,
) -> None:
    """Record a product lot."""
    data = svc.LotInput(
        product=product, lot_number=lot_number, expires_on=parse_date(expires, "expires")
    )
    db = open_database()
    cid = resolve_clinic(db, clinic)
    lot = svc.receive_lot(db, cid, data, load_library(), actor=resolve_writer(db, cid, actor))
    console.print(f"lot {lot.id} {lot.product} {lot.lot_number} expires {lot.expires_on}")


@app.command("open")
def open_(
    lot_number: str = typer.Option(..., "--lot"),
    label: str = typer.Option(..., help="What is written on the vial."),
    units: str = typer.Option(..., help="Units in the vial."),
    diluent_ml: str = typer.Option(..., help="mL of diluent added."),
    diluent: str = typer.Option("preservative-free 0.9% saline"),
    at: str | None = typer.Option(None, help="Reconstituted at (ISO with offset; default now)."),
    policy: str | None = typer.Option(None, help="Beyond-use policy (default: the clinic's)."),
    clinic: str | None = ClinicOpt,
    actor: str | None = ActorOpt,
) -> None:
    """Record a reconstituted vial."""
    db = open_database()
    cid = resolve_clinic(db, clinic)
    lots = svc.find_lot(db, cid, lot_number)
    if len(lots) != 1:
        raise InvalidInputError(
            "lot", "no single lot with this number", "a lot added with `vials lot-add`"
        )
    data = svc.VialInput.model_validate(
        {
            "lot_id": lots[0].id,
            "label": label,
            "vial_units": units,
            "diluent": diluent,
            "diluent_ml": diluent_ml,
            "reconstituted_at": parse_time(at, "at"),
            "beyond_use_policy": policy,
        }
    )
    vial = svc.open_vial(db, cid, data, load_library(), actor=resolve_writer(db, cid, actor))
    bud = f"{vial.beyond_use_at:%Y-%m-%d %H:%M %Z}"
    console.print(f"vial {vial.label} {vial.id}: beyond use at {bud} ({vial.beyond_use_policy})")


@app.command("list")
def list_(clinic: str | None = ClinicOpt) -> None:
    """Open vials with units left and beyond-use time."""
    db = open_database()
    cid = resolve_clinic(db, clinic)
    table = Table("label", "reconstituted", "beyond use", "U in vial", "U left", "id")
    now = datetime.now(UTC)
    for v in svc.open_vials(db, cid):
        late = "red" if v.beyond_use_at < now else ""
        table.add_row(
            v.label,
            f"{v.reconstituted_at:%Y-%m-%d %H:%M}",
            Text(f"{v.beyond_use_at:%Y-%m-%d %H:%M}", style=late),
            str(v.vial_units),
            str(svc.units_left(v)),
            str(v.id),
        )
    console.print(table)


@app.command("discard")
def discard(
    vial: str,
    reason: str = typer.Option(...),
    clinic: str | None = ClinicOpt,
    actor: str | None = ActorOpt,
) -> None:
    """Discard a vial (what is left counts as wasted)."""
    db = open_database()
    cid = resolve_clinic(db, clinic)
    v = svc.discard_vial(
        db,
        cid,
        resolve_vial(db, cid, vial),
        reason=reason,
        at=datetime.now(UTC),
        actor=resolve_writer(db, cid, actor),
    )
    console.print(f"vial {v.label} discarded; {v.units_wasted} U wasted in all")


@app.command("reconcile")
def reconcile(clinic: str | None = ClinicOpt) -> None:
    """Units drawn vs charted vs wasted per vial."""
    db = open_database()
    cid = resolve_clinic(db, clinic)
    table = Table(
        "vial", "product", "lot", "U", "drawn", "charted", "wasted", "left", "unaccounted"
    )
    for r in svc.reconcile(db, cid):
        flag = "red" if r.unaccounted else ""
        table.add_row(
            r.label,
            r.product,
            r.lot_number,
            str(r.vial_units),
            str(r.units_drawn),
            str(r.units_charted),
            str(r.units_wasted),
            str(r.units_left),
            Text(f"{r.unaccounted}", style=flag),
        )
    console.print(table)
