"""Hostile input to the records commands never ends in a traceback (hypothesis).

Each example runs one command in-process through the real entry point (``dosemap.cli.main``)
against a small clinic: any exception other than the CLI's own exit is a traceback a person
would have seen. Values mix rich markup (``[/]``, ``[bold]``), huge and negative numbers, far
dates, control characters and long strings; whatever a command accepts must then still list.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dosemap.cli import main
from dosemap.persistence.db import Database
from dosemap.persistence.migrate import upgrade
from dosemap.resources import load_library
from dosemap.services import staff, vials

HOSTILE = st.one_of(
    st.sampled_from(
        [
            "[/]",
            "[bold]x[/bold]",
            "[red]",
            "[link=http://x]y",
            "",
            " ",
            "-1",
            "0",
            "99999999999999999999",
            "1e308",
            "NaN",
            "1800-01-01",
            "0001-01-01",
            "2999-12-31",
            "9999-99-99",
            "rn",
            "RN",
            "V-1",
            "LOT-1",
            "botox_cosmetic",
            "'; DROP TABLE patients; --",
            "\x00",
            "é" * 300,
        ]
    ),
    st.text(max_size=40),
)


def _command(draw: st.DrawFn) -> list[str]:
    h = draw
    kind = h(st.integers(0, 9))
    v = [h(HOSTILE) for _ in range(4)]
    return [
        [
            "patients",
            "add",
            "--chart-number",
            v[0],
            "--given-name",
            v[1],
            "--family-name",
            v[2],
            "--dob",
            v[3],
        ],
        ["patients", "list", "--search", v[0]],
        ["patients", "show", v[0]],
        ["vials", "lot-add", v[0], v[1], "--expires", v[2]],
        ["vials", "open", "--lot", v[0], "--label", v[1], "--units", v[2], "--diluent-ml", v[3]],
        ["recall", v[0]],
        ["followups", "due", "--within", v[0]],
        ["db", "allow", v[0]],
        ["db", "staff-add", v[0], "--role", v[1]],
        ["sessions", "show", v[0]],
    ][kind]


commands = st.composite(_command)()


@pytest.fixture(scope="module")
def clinic_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("fuzz")
    db = Database.from_url(f"sqlite:///{tmp / 'dosemap.sqlite3'}")
    upgrade(db.engine)
    c = staff.create_clinic(db, staff.ClinicInput(name="Fuzz Clinic", jurisdiction="US-CA"))
    staff.add_staff(db, c.id, staff.StaffInput(display_name="Ada", role="admin"), actor="t")
    lot = vials.receive_lot(
        db,
        c.id,
        vials.LotInput(product="botox_cosmetic", lot_number="LOT-1", expires_on=date(2031, 1, 1)),
        load_library(),
        actor="t",
    )
    assert lot.id
    db.dispose()
    return tmp


def _run(monkeypatch: pytest.MonkeyPatch, args: list[str]) -> int:
    monkeypatch.setattr(sys, "argv", ["dosemap", *args])
    try:
        main()
    except SystemExit as done:
        return int(done.code or 0) if not isinstance(done.code, str) else 2
    return 0


@settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(args=commands)
def test_no_input_gives_a_traceback(
    clinic_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args
) -> None:
    monkeypatch.setenv("DOSEMAP_DATA_DIR", str(clinic_dir))
    monkeypatch.delenv("DOSEMAP_DATABASE_URL", raising=False)
    monkeypatch.setenv("DOSEMAP_ACTOR", "Ada")
    monkeypatch.setenv("COLUMNS", "200")
    code = _run(monkeypatch, args)  # an exception escaping here is the traceback
    out = capsys.readouterr()
    assert code in (0, 1, 2), (args, code, out.err)
    if code == 2:
        assert out.err.count("\n") <= 1 or out.err.startswith("Usage"), out.err
    # Whatever was stored still lists (a stored "[/]" once broke every later listing).
    for listing in (["patients", "list"], ["vials", "list"], ["recall", "LOT-1"]):
        assert _run(monkeypatch, listing) == 0, capsys.readouterr().err
    capsys.readouterr()
