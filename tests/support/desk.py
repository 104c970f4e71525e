"""The records the desk pages (vials, follow-ups, adverse events, staff) need in the web
world's other clinic, so that the authorisation matrix names a real record of clinic B."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from dosemap.persistence.db import Database
from dosemap.resources import load_library
from dosemap.services import vials

if TYPE_CHECKING:
    from support.web import ClinicSide


def add_desk_records(db: Database, side: ClinicSide) -> None:
    """A lot and an open vial in ``side``'s clinic, named in ``side.records``."""
    library = load_library()
    lot = vials.receive_lot(
        db,
        side.clinic_id,
        vials.LotInput(
            product="botox_cosmetic", lot_number="B-LOT-9", expires_on=date(2031, 1, 31)
        ),
        library,
        actor="test",
    )
    vial = vials.open_vial(
        db,
        side.clinic_id,
        vials.VialInput(
            lot_id=lot.id,
            label="B-V1",
            vial_units=Decimal(100),
            diluent_ml=Decimal("2.5"),
            reconstituted_at=datetime(2030, 1, 1, 9, 0, tzinfo=UTC),
        ),
        library,
        actor="test",
    )
    side.records.update(lot_id=lot.id, vial_id=vial.id)
