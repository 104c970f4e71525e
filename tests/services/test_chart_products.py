"""Chart mode on a session of two products (issue 13): taps land in their product's plan, each
product drawn from its own vial at its own dilution; a wrong product's vial or lot is refused
naming the field, nothing written; a queue replayed is written once; then signed."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from dosemap.domain.dosing import units_for_volume
from dosemap.domain.errors import InvalidInputError
from dosemap.persistence.unit_of_work import reading
from dosemap.services import audit as audit_service
from dosemap.services import charting, sessions
from dosemap.services.charting import TapInput
from support.clinic import T0, SeededClinic
from support.products import open_dysport_vial, plan_two_products, two_products


def _tap(number: int, action: str = "done", **more: object) -> TapInput:
    return TapInput(id=uuid.uuid4(), point_number=number, action=action, tapped_at=T0, **more)


def _drawn(c: SeededClinic, vial_id: uuid.UUID) -> Decimal:
    with reading(c.db) as uow:
        return uow.vials.by_id(vial_id).units_drawn


def test_two_products_charted_tap_by_tap_each_from_its_own_vial(
    clinic: SeededClinic, tmp_path: Path
) -> None:
    c = clinic
    session = two_products(c.library)
    botox, dysport = session.plans
    assert botox.mix.units_per_ml != dysport.mix.units_per_ml  # each its own dilution
    row_id = plan_two_products(c.db, c.clinic_id, c.patient_id, c.injector, session, T0)
    made = T0 - timedelta(hours=2)
    d_vial = open_dysport_vial(c.db, c.clinic_id, c.library, reconstituted_at=made)
    b_numbers = [p.number for p in botox.points]
    d_numbers = [p.number for p in dysport.points]
    assert d_numbers[0] == b_numbers[-1] + 1  # numbers run on across the products

    current = charting.session_plan(c.db, c.clinic_id, row_id)
    assert set(current.points) == set(b_numbers) | set(d_numbers)  # every product's points
    version = current.version

    # A Dysport point tapped with the Botox vial: refused naming the tap's field, nothing written.
    queue = [_tap(b_numbers[0], vial_id=c.vial_id), _tap(d_numbers[0], vial_id=c.vial_id)]
    with pytest.raises(InvalidInputError) as caught:
        charting.record_taps(c.db, c.clinic_id, row_id, queue, expected_version=version, actor="t")
    assert caught.value.field == "taps[1].vial_id"
    assert "holds botox_cosmetic" in str(caught.value) and "a vial of dysport" in str(caught.value)
    assert charting.session_plan(c.db, c.clinic_id, row_id).recorded_taps == ()
    # ... and a Botox point with the Dysport vial.
    with pytest.raises(InvalidInputError, match="holds dysport"):
        charting.record_tap(
            c.db, c.clinic_id, row_id, _tap(b_numbers[0], vial_id=d_vial),
            expected_version=version, actor="t",
        )  # fmt: skip

    # The whole chart queued offline: every point, each from its product's vial; one Dysport
    # point at another volume, one Botox point skipped. Sent in queues of at most 100.
    taps = [_tap(n, vial_id=c.vial_id) for n in b_numbers]
    taps += [_tap(n, vial_id=d_vial) for n in d_numbers]
    taps[1] = _tap(b_numbers[1], "skipped")
    changed = d_numbers[1]
    taps[len(b_numbers) + 1] = _tap(changed, vial_id=d_vial, volume_ul=Decimal("7.5"))
    sent = []
    for start in range(0, len(taps), 100):
        batch = taps[start : start + 100]
        result = charting.record_taps(
            c.db, c.clinic_id, row_id, batch, expected_version=version, actor="t"
        )
        assert not result.duplicate
        version = result.version
        sent.append(batch)
    # The last answer was lost: the same queue again is written once, no conflict.
    again = charting.record_taps(
        c.db, c.clinic_id, row_id, sent[-1], expected_version=version - 1, actor="t"
    )
    assert again.duplicate and again.version == version
    state = charting.session_plan(c.db, c.clinic_id, row_id)
    assert len(state.recorded_taps) == len(taps)
    assert state.points[changed].volume_ul == Decimal("7.5")
    assert state.points[changed].vial_id == d_vial
    assert state.points[b_numbers[1]].state == "skipped"

    b_before, d_before = _drawn(c, c.vial_id), _drawn(c, d_vial)
    charted = charting.finish_chart(
        c.db, c.clinic_id, row_id, c.library, performed_at=T0 + timedelta(hours=1),
        pain_score=2, numbing=None, notes=None, expected_version=version, actor="t",
    )  # fmt: skip
    got = sessions.get_session(c.db, c.clinic_id, row_id)
    units = {p.number: p.units for p in got.points}
    # Units from each product's own dilution (Decimal all through).
    b_units = sum(
        (units_for_volume(p.volume_ul, botox.mix.units_per_ml) for p in botox.points
         if p.number != b_numbers[1]),
        Decimal(0),
    )  # fmt: skip
    d_units = sum(
        (units_for_volume(Decimal("7.5") if p.number == changed else p.volume_ul,
                          dysport.mix.units_per_ml) for p in dysport.points),
        Decimal(0),
    )  # fmt: skip
    assert units[changed] == units_for_volume(Decimal("7.5"), dysport.mix.units_per_ml)
    assert all(isinstance(u, Decimal) for u in units.values())
    assert charted.total_units == b_units.quantize(Decimal("0.0001"))  # the record's product
    # Each vial drew its own product's units.
    assert _drawn(c, c.vial_id) - b_before == b_units
    assert _drawn(c, d_vial) - d_before == d_units
    figures = charting.record_figures(c.db, c.clinic_id, row_id)
    assert [(f.product, f.units_per_ml) for f in figures.products] == [
        ("botox_cosmetic", botox.mix.units_per_ml),
        ("dysport", dysport.mix.units_per_ml),
    ]
    assert [f.units for f in figures.products] == [b_units, d_units]
    assert [len(f.points) for f in figures.products] == [len(b_numbers) - 1, len(d_numbers)]
    assert figures.products[1].vials == ("D-1",)

    signed = sessions.sign_session(
        c.db, c.clinic_id, row_id, c.library, signer_id=c.injector,
        expected_version=charted.version, actor=str(c.injector),
    )  # fmt: skip
    assert signed.status == "signed"
    report = audit_service.verify(c.db, tmp_path / "checkpoints")
    assert [str(p) for p in report.problems] == []


def test_the_lot_of_another_product_is_refused_for_that_plan(clinic: SeededClinic) -> None:
    c = clinic
    open_dysport_vial(c.db, c.clinic_id, c.library)
    # The Botox lot typed for the Dysport plan's vial, and the Dysport lot for the Botox plan's.
    with pytest.raises(InvalidInputError) as caught:
        charting.vials_of_lot(c.db, c.clinic_id, "dysport", "C1234A")
    assert caught.value.field == "lot_number"
    assert "lot C1234A is botox_cosmetic, this plan is dysport" in str(caught.value)
    assert "D-77" in str(caught.value)  # what may be used instead
    with pytest.raises(InvalidInputError, match="lot D-77 is dysport, this plan is botox"):
        charting.vials_of_lot(c.db, c.clinic_id, "botox_cosmetic", "D-77")
    [found] = charting.vials_of_lot(c.db, c.clinic_id, "dysport", "D-77")
    assert found.label.startswith("D-1")
    assert [v.label for v in charting.open_vials(c.db, c.clinic_id, "dysport")] == [found.label]


def test_a_product_left_out_altogether_is_charted_and_signed_as_charted(
    clinic: SeededClinic,
) -> None:
    """Every Dysport point skipped (the patient declined the chin): the chart holds the Botox
    points only, the Dysport vial draws nothing, and signing checks the chart as charted."""
    c = clinic
    session = two_products(c.library)
    botox, dysport = session.plans
    row_id = plan_two_products(c.db, c.clinic_id, c.patient_id, c.injector, session, T0)
    d_vial = open_dysport_vial(c.db, c.clinic_id, c.library, reconstituted_at=T0)
    taps = [_tap(p.number, vial_id=c.vial_id) for p in botox.points]
    taps += [_tap(p.number, "skipped") for p in dysport.points]
    saved = charting.record_taps(c.db, c.clinic_id, row_id, taps, expected_version=1, actor="t")
    charted = charting.finish_chart(
        c.db, c.clinic_id, row_id, c.library, performed_at=T0 + timedelta(hours=1),
        pain_score=None, numbing=None, notes=None, expected_version=saved.version, actor="t",
    )  # fmt: skip
    assert _drawn(c, d_vial) == 0
    figures = charting.record_figures(c.db, c.clinic_id, row_id)
    assert [len(f.points) for f in figures.products] == [len(botox.points), 0]
    assert figures.products[1].units == 0 and figures.products[1].vials == ()
    signed = sessions.sign_session(
        c.db, c.clinic_id, row_id, c.library, signer_id=c.injector,
        expected_version=charted.version, actor=str(c.injector),
    )  # fmt: skip
    assert signed.status == "signed"
