"""The desk pages cost the same number of queries however many records they list (no query
per row): counted before and after the clinic gains more vials, adverse events, follow-up
contacts, staff and access-log entries."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import event

from dosemap.resources import load_library
from dosemap.services import followups, staff, vials
from support.clinic import T0
from support.desk import FAR_AHEAD
from support.web import WebWorld, site_grant_of

PAGES = ("/vials", "/followups?within=90", "/adverse-events", "/audit", "/staff")


@contextmanager
def counting(world: WebWorld) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(*args: Any) -> None:
        sql = str(args[2])
        if "web_sessions" not in sql:  # the session check and its once-a-minute idle clock
            statements.append(sql)

    event.listen(world.db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(world.db.engine, "before_cursor_execute", count)


def _queries(world: WebWorld, client: Any, path: str) -> int:
    with counting(world) as statements:
        assert client.get(path).status_code == 200, path
    return len(statements)


def _grow(world: WebWorld) -> None:
    cid, library = world.own.clinic_id, load_library()
    lot = vials.receive_lot(
        world.db,
        cid,
        vials.LotInput(
            product="xeomin", lot_number="GROW-1", expires_on=T0.date() + timedelta(days=900)
        ),
        library,
        actor="test",
    )
    for i in range(4):
        vials.open_vial(
            world.db,
            cid,
            vials.VialInput(
                lot_id=lot.id,
                label=f"G-{i}",
                vial_units=Decimal(100),
                diluent_ml=Decimal(2),
                reconstituted_at=datetime(2026, 12, 1, 9, i, tzinfo=UTC),
            ),
            library,
            actor="test",
        )
        followups.record_adverse_event(
            world.db,
            cid,
            world.own.patient_id,
            followups.AdverseEventInput(
                kind="erythema", onset_at=T0 + timedelta(days=i), severity="mild"
            ),
            actor="test",
        )
        member = staff.add_staff(
            world.db, cid, staff.StaffInput(display_name=f"Grow {i}", role="injector"), actor="test"
        )
        staff.add_credential(
            world.db,
            cid,
            member.id,
            staff.CredentialInput(
                type="RN", number=f"G{i}", jurisdiction="US-CA", expires_on=FAR_AHEAD
            ),
            actor="test",
        )
    for due in followups.followups_due(world.db, cid, FAR_AHEAD):
        followups.mark_contacted(
            world.db,
            cid,
            due.followup_id,
            followups.ContactInput(note="called"),
            at=datetime.now(UTC),
            actor="test",
        )


def test_page_queries_do_not_grow_with_the_records(world: WebWorld) -> None:
    site_grant_of(world, world.own)  # the clinic in a group, a grant made: Staff's every section
    client = world.client("admin")
    before = {path: _queries(world, client, path) for path in PAGES}
    _grow(world)
    after = {path: _queries(world, client, path) for path in PAGES}
    assert after == before
    # A fixed number a page (Staff reads its sections in one transaction, a query each).
    assert all(n <= 12 for n in after.values()), sorted(after.items())
