"""docs/permissions.md is generated from the permission table; docs/deploy.md lists every
setting the web app reads."""

from __future__ import annotations

from pathlib import Path

from dosemap.web.permissions import markdown
from dosemap.web.settings import ENVIRONMENT

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_permissions_doc_is_generated_from_the_table() -> None:
    written = (DOCS / "permissions.md").read_text(encoding="utf-8")
    assert written == markdown(), (
        "docs/permissions.md is stale: "
        "run `python -m dosemap.web.permissions > docs/permissions.md`"
    )


def test_deploy_doc_lists_every_setting() -> None:
    text = (DOCS / "deploy.md").read_text(encoding="utf-8")
    missing = [name for name in ENVIRONMENT if f"`{name}`" not in text]
    assert not missing, f"docs/deploy.md does not list {missing}"


def test_deploy_doc_gives_every_settings_default() -> None:
    rows = {}
    for line in (DOCS / "deploy.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`DOSEMAP_"):
            rows[cells[0].strip("`")] = cells[1].replace("`", "")
    wrong = {
        name: rows.get(name)
        for name, (default, _) in ENVIRONMENT.items()
        if rows.get(name) != default
    }
    assert not wrong, f"docs/deploy.md shows other defaults than web/settings.py: {wrong}"
