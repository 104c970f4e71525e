"""The Audit page: the chain verified and shown, the access log filtered."""

from __future__ import annotations

from dosemap.persistence.models import AuditEntry
from dosemap.persistence.unit_of_work import writing
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
