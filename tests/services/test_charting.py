"""A session's plan edited and acknowledged, then charted tap by tap, on both back ends."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from dosemap.domain.errors import InvalidInputError
from dosemap.domain.plan import MeshAnchor, PlanRequest
from dosemap.domain.plan_edit import MovePoint, SetPointVolume
from dosemap.domain.planning import build_plan
from dosemap.persistence.errors import ConflictError, RecordLockedError
from dosemap.resources import template_mesh
from dosemap.services import audit as audit_service
from dosemap.services import charting, sessions
from dosemap.services.charting import TapInput
from support.clinic import T0, SeededClinic

MESH = template_mesh()


def _planned(c: SeededClinic):
    plan = build_plan(
        PlanRequest(zones=("forehead",), protocol="diaspro_2020_grid"), c.library, MESH
    )
    row = sessions.plan_session(
        c.db,
        c.clinic_id,
        patient_id=c.patient_id,
        injector_id=c.injector,
        plan=plan,
        scheduled_at=T0,
        actor=str(c.injector),
    )
    return plan, row


def _tap(number: int, action: str = "done", **more) -> TapInput:
    return TapInput(id=uuid.uuid4(), point_number=number, action=action, tapped_at=T0, **more)


def test_edit_review_acknowledge(clinic: SeededClinic, tmp_path: Path) -> None:
    plan, row = _planned(clinic)
    brow = MeshAnchor(vertices=(334, 296, 282), weights=(0.4, 0.3, 0.3))  # inside the brow
    with pytest.raises(ConflictError):
        charting.edit_session_plan(
            clinic.db, clinic.clinic_id, row.id, [MovePoint(number=1, anchor=brow)],
            clinic.library, expected_version=row.version + 1, actor="t",
        )  # fmt: skip
    edited = charting.edit_session_plan(
        clinic.db, clinic.clinic_id, row.id, [MovePoint(number=1, anchor=brow)],
        clinic.library, expected_version=row.version, actor="t",
    )  # fmt: skip
    assert edited.version == row.version + 1
    review = charting.review_session_plan(clinic.db, clinic.clinic_id, row.id, clinic.library)
    assert review.blocked and 1 in review.point_codes
    block = next(r.finding for r in review.findings if r.finding.severity.value == "block")
    with pytest.raises(InvalidInputError, match="blocks"):
        charting.acknowledge_warning(
            clinic.db, clinic.clinic_id, row.id, clinic.library, code=block.code,
            zone=block.zone, point_numbers=block.point_numbers, reason="x",
            staff_id=clinic.injector, actor="t",
        )  # fmt: skip
    back = charting.edit_session_plan(
        clinic.db, clinic.clinic_id, row.id, [MovePoint(number=1, anchor=plan.points[0].anchor)],
        clinic.library, expected_version=edited.version, actor="t",
    )  # fmt: skip
    assert back.plan == plan
    review = charting.review_session_plan(clinic.db, clinic.clinic_id, row.id, clinic.library)
    assert not review.blocked
    warnings = [r.finding for r in review.findings if r.finding.severity.value == "warn"]
    if warnings:
        w = warnings[0]
        ack = charting.acknowledge_warning(
            clinic.db, clinic.clinic_id, row.id, clinic.library, code=w.code, zone=w.zone,
            point_numbers=w.point_numbers, reason="discussed with the patient",
            staff_id=clinic.injector, actor="t",
        )  # fmt: skip
        assert ack.by == "Ivy Injector"
        again = charting.review_session_plan(clinic.db, clinic.clinic_id, row.id, clinic.library)
        assert again.unacknowledged_warnings == review.unacknowledged_warnings - 1
    _verified(clinic, tmp_path)


def _verified(clinic: SeededClinic, tmp_path: Path) -> None:
    """``dosemap audit verify``: the chain, and every record against its last entry."""
    report = audit_service.verify(clinic.db, tmp_path / "checkpoints")
    assert [str(p) for p in report.problems] == []
    assert report.records_checked > 0


def test_taps_are_saved_once_in_order_and_become_the_chart(
    clinic: SeededClinic, tmp_path: Path
) -> None:
    plan, row = _planned(clinic)
    version = row.version
    taps = [_tap(p.number, vial_id=clinic.vial_id) for p in plan.points]
    taps[1] = _tap(2, "skipped")
    taps[2] = _tap(3, vial_id=clinic.vial_id, volume_ul=Decimal("12.5"))
    for tap in taps:
        result = charting.record_tap(
            clinic.db, clinic.clinic_id, row.id, tap, expected_version=version, actor="t"
        )
        assert not result.duplicate
        version = result.version
    # The same tap again (a lost answer, a replayed queue): written once, no conflict.
    again = charting.record_tap(
        clinic.db, clinic.clinic_id, row.id, taps[0], expected_version=version - 5, actor="t"
    )
    assert again.duplicate and again.version == version
    # Another device that missed those taps is refused, not applied over them.
    with pytest.raises(ConflictError):
        charting.record_tap(
            clinic.db, clinic.clinic_id, row.id, _tap(4, "undo"), expected_version=row.version,
            actor="t",
        )  # fmt: skip
    undo = charting.record_tap(
        clinic.db, clinic.clinic_id, row.id, _tap(4, "undo"), expected_version=version, actor="t"
    )
    state = charting.session_plan(clinic.db, clinic.clinic_id, row.id).points
    assert state[4].state == "pending" and state[2].state == "skipped"
    assert state[3].volume_ul == Decimal("12.5")
    with pytest.raises(RecordLockedError):  # the plan is fixed once charting began
        charting.edit_session_plan(
            clinic.db, clinic.clinic_id, row.id, [SetPointVolume(number=1, volume_ul=Decimal(9))],
            clinic.library, expected_version=undo.version, actor="t",
        )  # fmt: skip
    charted = charting.finish_chart(
        clinic.db, clinic.clinic_id, row.id, clinic.library, performed_at=T0 + timedelta(hours=1),
        pain_score=3, numbing="topical lidocaine", notes="no bruising",
        expected_version=undo.version, actor="t",
    )  # fmt: skip
    got = sessions.get_session(clinic.db, clinic.clinic_id, row.id)
    done = [p.number for p in plan.points if p.number not in (2, 4)]
    assert charted.status == "charted"
    assert [p.number for p in got.points] == done
    assert next(p for p in got.points if p.number == 3).volume_ul == Decimal("12.5")
    assert got.pain_score == 3
    _verified(clinic, tmp_path)


def test_bad_taps_name_the_field(clinic: SeededClinic) -> None:
    plan, row = _planned(clinic)
    with pytest.raises(InvalidInputError, match="point_number"):
        charting.record_tap(
            clinic.db, clinic.clinic_id, row.id, _tap(999), expected_version=row.version,
            actor="t",
        )  # fmt: skip
    with pytest.raises(InvalidInputError, match="vial_id"):
        charting.record_tap(
            clinic.db, clinic.clinic_id, row.id, _tap(1, vial_id=uuid.uuid4()),
            expected_version=row.version, actor="t",
        )  # fmt: skip
    result = charting.record_tap(
        clinic.db, clinic.clinic_id, row.id, _tap(1), expected_version=row.version, actor="t"
    )
    with pytest.raises(InvalidInputError, match="without a vial"):
        charting.finish_chart(
            clinic.db, clinic.clinic_id, row.id, clinic.library, performed_at=T0,
            pain_score=None, numbing=None, notes=None, expected_version=result.version,
            actor="t",
        )  # fmt: skip
    assert len(plan.points) > 1


def test_a_queue_of_taps_is_saved_in_one_request_all_or_none(
    clinic: SeededClinic, tmp_path: Path
) -> None:
    """What a device queued offline goes in one request: in order, once each, or not at all."""
    plan, row = _planned(clinic)
    numbers = [p.number for p in plan.points]
    queue = [_tap(n, vial_id=clinic.vial_id) for n in numbers[:6]]
    queue.append(queue[0])  # the same tap twice in one queue is written once
    bad = [*queue[:3], _tap(999)]
    with pytest.raises(InvalidInputError, match=r"taps\[3\]\.point_number"):
        charting.record_taps(
            clinic.db, clinic.clinic_id, row.id, bad, expected_version=row.version, actor="t"
        )
    assert charting.session_plan(clinic.db, clinic.clinic_id, row.id).recorded_taps == ()
    with pytest.raises(InvalidInputError, match="taps"):
        charting.record_taps(
            clinic.db, clinic.clinic_id, row.id, [], expected_version=row.version, actor="t"
        )
    saved = charting.record_taps(
        clinic.db, clinic.clinic_id, row.id, queue, expected_version=row.version, actor="t"
    )
    assert not saved.duplicate and saved.version > row.version
    current = charting.session_plan(clinic.db, clinic.clinic_id, row.id)
    assert [t["id"] for t in current.recorded_taps] == [str(t.id) for t in queue[:6]]
    assert [n for n, s in current.points.items() if s.state == "done"] == numbers[:6]
    # The answer was lost and the device sends the queue again: nothing new, no conflict.
    again = charting.record_taps(
        clinic.db, clinic.clinic_id, row.id, queue, expected_version=row.version, actor="t"
    )
    assert again.duplicate and again.version == saved.version
    # A queue mixing sent and new taps from a device that missed another's write: refused whole.
    with pytest.raises(ConflictError):
        charting.record_taps(
            clinic.db, clinic.clinic_id, row.id, [queue[0], _tap(numbers[6])],
            expected_version=row.version, actor="t",
        )  # fmt: skip
    assert len(charting.session_plan(clinic.db, clinic.clinic_id, row.id).recorded_taps) == 6
    _verified(clinic, tmp_path)
