"""The plan editor's edit answer: only what changed since the version the editor had.

The editor merges ``changed``/``removed`` into the points it holds and takes every point's
codes from ``codes``; the result must be exactly what a fresh page load shows.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from dosemap.domain.plan_edit import DeletePoint
from dosemap.resources import load_library
from dosemap.services import charting
from support.web import WebWorld


def _editor_data(client: TestClient, session_id: object) -> dict[str, Any]:
    page = client.get(f"/sessions/{session_id}/plan").text
    start = page.index('id="editor-data">') + len('id="editor-data">')
    data: dict[str, Any] = json.loads(page[start : page.index("</script>", start)])
    return data


def _merged(points: list[dict[str, Any]], answer: dict[str, Any]) -> list[dict[str, Any]]:
    """What plan_editor.js does with an answer (``merged``)."""
    if "points" in answer:
        full: list[dict[str, Any]] = answer["points"]
    else:
        by_number = {p["number"]: p for p in points}
        for number in answer["removed"]:
            del by_number[number]
        for p in answer["changed"]:
            by_number[p["number"]] = p
        full = sorted(by_number.values(), key=lambda p: p["number"])
    return [{**p, "codes": answer["codes"].get(str(p["number"]), [])} for p in full]


def _edit(client: TestClient, data: dict[str, Any], version: int, edit: dict[str, Any]) -> Any:
    answer = client.post(
        data["edit_url"],
        json={"expected_version": version, "edits": [edit]},
        headers={"X-CSRF-Token": data["csrf"]},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_an_edit_answers_only_the_changed_points_and_merges_to_the_page(world: WebWorld) -> None:
    client = world.client("injector")
    session_id = world.own.session_id
    data = _editor_data(client, session_id)
    points = data["points"]
    assert len(points) >= 4

    moved = _edit(
        client,
        data,
        data["version"],
        {"op": "move", "number": 1, "anchor": points[1]["anchor"]},
    )
    assert "points" not in moved
    assert [p["number"] for p in moved["changed"]] == [1] and moved["removed"] == []
    points = _merged(points, moved)
    assert points == _editor_data(client, session_id)["points"]

    deleted = _edit(client, data, moved["version"], {"op": "delete", "number": 2})
    assert "points" not in deleted
    assert deleted["removed"] == [len(points)]  # the rest renumbered: changed
    points = _merged(points, deleted)
    assert points == _editor_data(client, session_id)["points"]


def test_a_version_the_app_did_not_draw_is_answered_with_every_point(world: WebWorld) -> None:
    client = world.client("injector")
    session_id = world.own.session_id
    assert session_id is not None
    data = _editor_data(client, session_id)
    # Another device (here: the service itself) edits; this app never drew that version.
    elsewhere = charting.edit_session_plan(
        world.db,
        world.own.clinic_id,
        session_id,
        [DeletePoint(op="delete", number=1)],
        load_library(),
        expected_version=data["version"],
        actor="test",
    )
    answer = _edit(client, data, elsewhere.version, {"op": "delete", "number": 1})
    assert "changed" not in answer
    assert _merged([], answer) == _editor_data(client, session_id)["points"]


def test_the_answer_names_the_point_moved_onto_another_points_anchor(world: WebWorld) -> None:
    client = world.client("injector")
    data = _editor_data(client, world.own.session_id)
    first, second = data["points"][0], data["points"][1]
    assert (first["zone"], first["volume_ul"]) == (second["zone"], second["volume_ul"])
    # Point 1 dropped exactly on point 2: the status line names 1 (it was moved), not 2.
    moved = _edit(
        client, data, data["version"],
        {"op": "move", "number": first["number"], "anchor": second["anchor"]},
    )  # fmt: skip
    assert moved["placed"] == first["number"]
    # In a request of several edits, judged against the plan just before the last one.
    again = _edit_all(
        client, data, moved["version"],
        [{"op": "delete", "number": len(data["points"])},
         {"op": "move", "number": first["number"], "anchor": data["points"][2]["anchor"]}],
    )  # fmt: skip
    assert again["placed"] == first["number"]


def _edit_all(
    client: TestClient, data: dict[str, Any], version: int, edits: list[dict[str, Any]]
) -> Any:
    answer = client.post(
        data["edit_url"],
        json={"expected_version": version, "edits": edits},
        headers={"X-CSRF-Token": data["csrf"]},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()
