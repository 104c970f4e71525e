"""The chart-mode tap endpoint: one tap, or a device's queue in one request (all or none)."""

from __future__ import annotations

import uuid

from dosemap.services import charting
from support.clinic import T0
from support.web import WebWorld


def _tap(number: int) -> dict[str, object]:
    return {"id": str(uuid.uuid4()), "point_number": number, "action": "skipped",
            "tapped_at": T0.isoformat()}  # fmt: skip


def test_a_queue_goes_in_one_request_and_a_bad_one_writes_nothing(world: WebWorld) -> None:
    assert world.own.session_id is not None
    session_id = world.own.session_id
    client = world.client("injector")
    headers = {"X-CSRF-Token": world.csrf(client)}
    url = f"/api/v1/sessions/{session_id}/taps"
    current = charting.session_plan(world.db, world.own.clinic_id, session_id)
    numbers = sorted(current.points)[:3]
    version = current.version

    for body in (
        {"expected_version": version},  # neither
        {"expected_version": version, "tap": _tap(numbers[0]), "taps": [_tap(numbers[0])]},
        {"expected_version": version, "taps": []},
    ):
        refused = client.post(url, json=body, headers=headers)
        assert refused.status_code == 422, refused.text
    bad = client.post(
        url, json={"expected_version": version, "taps": [_tap(numbers[0]), _tap(10_000)]},
        headers=headers,
    )  # fmt: skip
    assert bad.status_code == 422 and "taps[1].point_number" in bad.text, bad.text
    assert charting.session_plan(world.db, world.own.clinic_id, session_id).recorded_taps == ()

    queue = [_tap(n) for n in numbers]
    saved = client.post(url, json={"expected_version": version, "taps": queue}, headers=headers)
    assert saved.status_code == 200, saved.text
    assert saved.json()["duplicate"] is False
    after = charting.session_plan(world.db, world.own.clinic_id, session_id)
    assert [t["id"] for t in after.recorded_taps] == [t["id"] for t in queue]
    assert after.version == saved.json()["version"]
    one = client.post(
        url, json={"expected_version": after.version, "tap": _tap(numbers[0])}, headers=headers
    )
    assert one.status_code == 200 and one.json()["version"] > after.version
