"""Writers at once on both back ends: no lost vial draw, no raw database error, a clean trail.

Eight writers plan, chart and sign their own sessions, all drawing from one shared vial, while
two more re-chart one shared session. Every failure must be one of the records layer's own
errors (a conflict named as such), the vial's units drawn must equal what the charts used, and
the audit trail must verify.
"""

from __future__ import annotations

import threading
from decimal import Decimal

from dosemap.domain.errors import DosemapError
from dosemap.persistence.errors import ConflictError
from dosemap.services import audit as audit_service
from dosemap.services import sessions, vials
from dosemap.services.sessions import ChartInput
from support.clinic import T0, SeededClinic, make_plan

WRITERS = 8
ROUNDS = 3


def _one_session(c: SeededClinic) -> None:
    plan = make_plan(6)
    row = sessions.plan_session(
        c.db,
        c.clinic_id,
        patient_id=c.patient_id,
        injector_id=c.injector,
        plan=plan,
        scheduled_at=T0,
        actor=str(c.injector),
    )
    row = sessions.chart_session(
        c.db,
        c.clinic_id,
        row.id,
        ChartInput(performed_at=T0, points=sessions.chart_as_planned(plan, c.vial_id)),
        c.library,
        expected_version=row.version,
        actor=str(c.injector),
    )
    sessions.sign_session(
        c.db,
        c.clinic_id,
        row.id,
        c.library,
        signer_id=c.injector,
        expected_version=row.version,
        actor=str(c.injector),
    )


def test_writers_on_one_vial_and_one_session(clinic: SeededClinic) -> None:
    c = clinic
    shared_plan = make_plan(4)
    shared = sessions.plan_session(
        c.db,
        c.clinic_id,
        patient_id=c.patient_id,
        injector_id=c.injector,
        plan=shared_plan,
        scheduled_at=T0,
        actor=str(c.injector),
    )
    failures: list[BaseException] = []
    conflicts: list[DosemapError] = []
    start = threading.Barrier(WRITERS + 2)

    def writer() -> None:
        start.wait()
        try:
            for _ in range(ROUNDS):
                _one_session(c)
        except BaseException as exc:  # anything here is a failure of the test
            failures.append(exc)

    def recharter(n: int) -> None:
        start.wait()
        for _ in range(ROUNDS):
            current = sessions.get_session(c.db, c.clinic_id, shared.id)
            try:
                sessions.chart_session(
                    c.db,
                    c.clinic_id,
                    shared.id,
                    ChartInput(
                        performed_at=T0,
                        points=sessions.chart_as_planned(make_plan(2 + n), c.vial_id),
                    ),
                    c.library,
                    expected_version=current.version,
                    actor=str(c.injector),
                )
            except ConflictError as exc:  # the other one saved first: a clear conflict
                conflicts.append(exc)
            except BaseException as exc:
                failures.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(WRITERS)]
    threads += [threading.Thread(target=recharter, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == [], [f"{type(f).__name__}: {f}" for f in failures]
    for conflict in conflicts:
        assert "changed by someone else" in str(conflict)
    (rec,) = vials.reconcile(c.db, c.clinic_id, [c.vial_id])
    signed_units = WRITERS * ROUNDS * sum(p.units for p in make_plan(6).points)
    assert rec.units_charted >= signed_units
    assert rec.units_drawn == rec.units_charted + rec.units_wasted
    assert rec.unaccounted == Decimal(0)
    report = audit_service.verify(c.db, None)
    assert report.ok, [str(p) for p in report.problems[:5]]
