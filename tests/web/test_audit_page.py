"""The Audit page: the chain verified and shown, the access log filtered."""

from __future__ import annotations

import re

from sqlalchemy import select

from dosemap.persistence.models import AuditEntry
from dosemap.persistence.unit_of_work import writing
from dosemap.services import audit, staff
from support.web import OTHER_CLINIC_MARKER, WebWorld


def test_verify_shows_an_intact_chain_then_names_an_edited_entry(world: WebWorld) -> None:
    client = world.client("auditor")
    csrf = world.csrf(client)
    ok = client.post("/audit/verify", data={"csrf_token": csrf})
    assert ok.status_code == 200 and ">intact<" in ok.text
    with writing(world.db) as uow:  # tamper with one entry behind the app's back
        entry = uow.audit.session.get(AuditEntry, 3)
        assert entry is not None
        entry.actor = "someone else"
    broken = client.post("/audit/verify", data={"csrf_token": csrf})
    assert (
        ">broken<" in broken.text
        and "audit entry 3: content does not match its hash" in broken.text
    )


def test_verify_without_a_checkpoint_warns_without_naming_the_servers_folder(
    world: WebWorld,
) -> None:
    """A page discloses no server path to clinic staff: the missing checkpoint is warned of,
    and what to do, but not where it was looked for (``dosemap audit verify`` names it)."""
    location = world.app.state.dosemap.settings.records.checkpoints_location
    client = world.client("auditor")
    page = client.post("/audit/verify", data={"csrf_token": world.csrf(client)}).text
    assert "no checkpoint in the configured checkpoints folder" in page
    assert "dosemap audit checkpoint" in page
    assert str(location) not in page and str(location.parent) not in page


def test_the_access_log_is_filtered_and_names_the_patient(world: WebWorld) -> None:
    world.client("injector").get(f"/patients/{world.own.patient_id}")
    world.client("prescriber").get(f"/patients/{world.own.patient_id}")
    world.client("admin").get(f"/patients/{world.other.patient_id}")  # 404: not logged
    client = world.client("admin")
    page = client.get("/audit").text
    assert "a-injector" in page and "a-prescriber" in page and "Example, Pat" in page
    assert OTHER_CLINIC_MARKER not in page
    only = client.get("/audit?username=a-injector&entity=patient").text
    assert (
        "a-injector" in only.split('id="h-log"')[1]
        and "a-prescriber" not in only.split('id="h-log"')[1]
    )
    by_record = client.get(
        f"/audit?entity_id={world.own.patient_id}&since=2000-01-01&until=2100-01-01"
    )
    assert by_record.text.count("page:patient") == 2
    none = client.get("/audit?until=2000-01-01").text
    assert "No access matches" in none
    for query, field in (
        ("since=yesterday", "since"),
        ("entity=photos", "entity"),
        ("username=b-admin", "username"),
    ):
        bad = client.get(f"/audit?{query}")
        assert bad.status_code == 422 and f'id="q-e-{field}"' in bad.text, query


def test_verify_names_only_the_own_clinics_records_and_counts_the_others(
    world: WebWorld,
) -> None:
    """The chain is one for the deployment: clinic B's tampered records are counted on clinic
    A's page, never named (no record id, no sequence number of B's), and named on B's."""
    b = world.other
    with writing(world.db) as uow:  # behind the app's back, in clinic B
        patient = uow.patients.get(b.clinic_id, b.patient_id)
        patient.given_name = "Tampered"
        b_entry = uow.audit.session.execute(
            select(AuditEntry)
            .where(AuditEntry.clinic_id == b.clinic_id)
            .order_by(AuditEntry.seq.desc())
            .limit(1)
        ).scalar_one()
        b_entry.actor = "someone else"
        b_seq = b_entry.seq
    a_admin = world.client("admin")
    a_page = a_admin.post("/audit/verify", data={"csrf_token": world.csrf(a_admin)})
    assert a_page.status_code == 200 and ">broken<" in a_page.text
    chain = a_page.text.split('id="h-chain"')[1].split('id="h-filter"')[0]
    assert "No problem in this clinic's records." in chain
    assert "2 problems in other clinics' records — ask the system administrator" in chain
    assert str(b.patient_id) not in chain and f"audit entry {b_seq}:" not in chain

    b_admin = world.client("admin", side="other")
    b_page = b_admin.post("/audit/verify", data={"csrf_token": world.csrf(b_admin)}).text
    assert f"patients {b.patient_id}: differs from its last audit entry" in b_page
    assert f"audit entry {b_seq}: content does not match its hash" in b_page
    assert "other clinics" not in b_page


def test_verify_names_the_own_clinics_problem_beside_the_others_count(world: WebWorld) -> None:
    with writing(world.db) as uow:
        uow.patients.get(world.own.clinic_id, world.own.patient_id).given_name = "Edited"
        uow.patients.get(world.other.clinic_id, world.other.patient_id).given_name = "Edited"
    client = world.client("auditor")
    page = client.post("/audit/verify", data={"csrf_token": world.csrf(client)}).text
    chain = page.split('id="h-chain"')[1].split('id="h-filter"')[0]
    assert f"patients {world.own.patient_id}: differs from its last audit entry" in chain
    assert "1 problem in other clinics' records" in chain
    assert str(world.other.patient_id) not in chain


def test_verify_counts_the_own_clinics_entries_and_the_rest_apart(world: WebWorld) -> None:
    """The entry count shown is the caller's clinic's; the rest of the chain is counted apart
    (other clinics' and the deployment's own), never broken down by clinic."""
    with writing(world.db) as uow:
        clinics = list(uow.audit.session.execute(select(AuditEntry.clinic_id)).scalars())
    own = sum(1 for c in clinics if c == world.own.clinic_id)
    other = sum(1 for c in clinics if c is not None and c != world.own.clinic_id)
    shared = sum(1 for c in clinics if c is None)
    assert own and other and own != len(clinics)
    for side, mine, theirs in (("own", own, other), ("other", other, own)):
        client = world.client("auditor", side=side)
        page = client.post("/audit/verify", data={"csrf_token": world.csrf(client)}).text
        line = page.split('id="audit-entries"')[1].split("</p>")[0]
        assert f"{mine} entries of this clinic checked" in line, line
        assert f"also holds {theirs} elsewhere and {shared} of the deployment" in line, line
        assert f"{len(clinics)} entries" not in line


def _records_figures(world: WebWorld, side: str) -> tuple[int, int, int]:
    client = world.client("auditor", side=side)
    page = client.post("/audit/verify", data={"csrf_token": world.csrf(client)}).text
    line = page.split('id="audit-entries"')[1].split("</p>")[0]
    found = re.search(
        r"(\d+) records? of this clinic match(?:es)? (?:their|its) last entry"
        r"(?: \(and (\d+) elsewhere and (\d+) of the deployment as a whole\))?",
        line,
    )
    assert found is not None, line
    return int(found[1]), int(found[2] or 0), int(found[3] or 0)


def test_verify_counts_the_own_clinics_records_and_the_rest_apart(world: WebWorld) -> None:
    """The "records match" figure is the caller's clinic's records, the rest counted apart as
    for the entries: a record added to one clinic moves that clinic's figure only."""
    total = audit.verify(world.db).records_checked
    own, own_else, shared = _records_figures(world, "own")
    other, other_else, other_shared = _records_figures(world, "other")
    assert own + own_else + shared == total and other + other_else + other_shared == total
    assert own < total and other < total and other <= own_else and own <= other_else
    staff.add_staff(
        world.db, world.own.clinic_id, staff.StaffInput(display_name="New Nurse", role="injector"),
        actor="test",
    )  # fmt: skip
    assert _records_figures(world, "own") == (own + 1, own_else, shared)
    assert _records_figures(world, "other") == (other, other_else + 1, other_shared)
