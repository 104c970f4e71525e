"""Chart mode's vial by lot number: the clinic's usable open vials of the lot, or why none."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from dosemap.domain.errors import InvalidInputError
from dosemap.services import charting, staff, vials
from support.clinic import SeededClinic

PRODUCT = "botox_cosmetic"


def _lot(c: SeededClinic, number: str, product: str = PRODUCT, expires: date | None = None):
    return vials.receive_lot(
        c.db, c.clinic_id,
        vials.LotInput(product=product, lot_number=number,
                       expires_on=expires or date.today() + timedelta(days=300)),
        c.library, actor="test",
    )  # fmt: skip


def _vial(c: SeededClinic, lot_id, label: str, hours_ago: float = 1, policy: str | None = None):
    return vials.open_vial(
        c.db, c.clinic_id,
        vials.VialInput(lot_id=lot_id, label=label, vial_units=Decimal(100),
                        diluent_ml=Decimal("2.5"), beyond_use_policy=policy,
                        reconstituted_at=datetime.now(UTC) - timedelta(hours=hours_ago)),
        c.library, actor="test",
    )  # fmt: skip


def _refused(c: SeededClinic, number: str) -> InvalidInputError:
    with pytest.raises(InvalidInputError) as caught:
        charting.vials_of_lot(c.db, c.clinic_id, PRODUCT, number)
    assert caught.value.field == "lot_number"
    return caught.value


def test_one_or_several_open_vials_of_the_lot(clinic: SeededClinic) -> None:
    v2 = _vial(clinic, clinic.lot_id, "V-2")
    [one] = charting.vials_of_lot(clinic.db, clinic.clinic_id, PRODUCT, "  C1234A\n")
    assert one.id == v2.id and "lot C1234A" in one.label
    v3 = _vial(clinic, clinic.lot_id, "V-3", hours_ago=0.5)
    found = charting.vials_of_lot(clinic.db, clinic.clinic_id, PRODUCT, "C1234A")
    assert [v.id for v in found] == [v2.id, v3.id]  # oldest first; V-1 is beyond use
    assert {v.id for v in charting.open_vials(clinic.db, clinic.clinic_id, PRODUCT)} == {
        v2.id,
        v3.id,
    }


def test_no_usable_vial_of_the_lot_says_why_and_what_is_allowed(clinic: SeededClinic) -> None:
    _vial(clinic, clinic.lot_id, "V-2")
    unknown = _refused(clinic, "NOPE-9")
    assert "no lot NOPE-9" in unknown.message and "C1234A" in (unknown.allowed or "")
    assert "is empty" in _refused(clinic, "  ").message
    _lot(clinic, "D-77", product="dysport")
    assert "lot D-77 is dysport, this plan is botox_cosmetic" in _refused(clinic, "D-77").message
    _lot(clinic, "NEW-1")
    assert "no open vial of lot NEW-1" in _refused(clinic, "NEW-1").message
    old = _lot(clinic, "OLD-1")
    _vial(clinic, old.id, "V-OLD", hours_ago=30)  # label policy: 24 h
    said = _refused(clinic, "OLD-1")
    assert "vial V-OLD was beyond use at" in said.message
    assert "OLD-1" not in (said.allowed or "")  # only usable lots are offered


def test_an_expired_lot_is_refused_with_its_date(clinic: SeededClinic) -> None:
    lot = _lot(clinic, "EXP-1", expires=date.today() - timedelta(days=1))
    _vial(clinic, lot.id, "V-EXP", hours_ago=50, policy="asds_consensus")  # in use 4 weeks
    said = _refused(clinic, "EXP-1")
    assert f"lot EXP-1 expired on {lot.expires_on.isoformat()}" in said.message
    assert "V-EXP" not in [
        v.label for v in charting.open_vials(clinic.db, clinic.clinic_id, PRODUCT)
    ]


def test_another_clinics_lot_is_not_found(clinic: SeededClinic) -> None:
    other = staff.create_clinic(clinic.db, staff.ClinicInput(name="B", jurisdiction="US-NY"))
    lot = vials.receive_lot(
        clinic.db, other.id,
        vials.LotInput(product=PRODUCT, lot_number="B-LOT",
                       expires_on=date.today() + timedelta(days=300)),
        clinic.library, actor="test",
    )  # fmt: skip
    vials.open_vial(
        clinic.db, other.id,
        vials.VialInput(lot_id=lot.id, label="B-1", vial_units=Decimal(100),
                        diluent_ml=Decimal("2.5"), reconstituted_at=datetime.now(UTC)),
        clinic.library, actor="test",
    )  # fmt: skip
    assert "no lot B-LOT in this clinic" in _refused(clinic, "B-LOT").message
