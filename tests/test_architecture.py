"""The layer contracts bite: a deliberately bad import in a copy of the source fails them.

Each case copies ``src/dosemap`` (Python files only) to a temporary directory, adds one import
the architecture forbids, and runs ``lint-imports`` on the copy with the project's own
contracts; it must fail and name the contract that caught it. The untouched copy must pass, so
a failure is the injected import's doing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path
from typing import Any

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "dosemap"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
CONTRACTS: list[dict[str, Any]] = PYPROJECT["tool"]["importlinter"]["contracts"]
LINT_IMPORTS = Path(sysconfig.get_path("scripts")) / "lint-imports"

#: What the functional core may import besides itself: the standard library's pure modules,
#: exact arithmetic, and the three libraries its models and geometry are built on.
DOMAIN_MAY_IMPORT = {
    "__future__",
    "abc",
    "bisect",
    "collections",
    "dataclasses",
    "datetime",
    "decimal",
    "enum",
    "fractions",
    "functools",
    "hashlib",
    "heapq",
    "itertools",
    "math",
    "numbers",
    "operator",
    "re",
    "statistics",
    "string",
    "types",
    "typing",
    "uuid",
    "numpy",
    "pydantic",
    "shapely",
}

#: Layers allowed to be missing (none: the web app has landed).
NOT_YET_WRITTEN: set[str] = set()


def _contract(contract_id: str) -> dict[str, Any]:
    return next(c for c in CONTRACTS if c.get("id") == contract_id)


def _copy_source(tmp_path: Path) -> Path:
    """A copy of the package with only what the import graph reads (Python files)."""

    def ignore(directory: str, names: list[str]) -> set[str]:
        return {
            n
            for n in names
            if n == "__pycache__" or (not n.endswith(".py") and not (Path(directory) / n).is_dir())
        }

    shutil.copytree(SRC, tmp_path / "src" / "dosemap", ignore=ignore)
    config = {"tool": {"importlinter": PYPROJECT["tool"]["importlinter"]}}
    (tmp_path / "pyproject.toml").write_text(_toml(config))
    return tmp_path


def _toml(config: dict[str, Any]) -> str:
    """Just enough TOML writing for the import-linter table (strings, bools, lists)."""
    il = config["tool"]["importlinter"]
    lines = ["[tool.importlinter]"]
    lines += [f"{k} = {_value(v)}" for k, v in il.items() if k != "contracts"]
    for contract in il["contracts"]:
        lines += ["", "[[tool.importlinter.contracts]]"]
        lines += [f"{k} = {_value(v)}" for k, v in contract.items()]
    return "\n".join(lines) + "\n"


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _lint(copy: Path) -> subprocess.CompletedProcess[str]:
    # A missing console script is a broken install, not a reason to skip these tests.
    assert LINT_IMPORTS.exists(), f"lint-imports not installed beside {sys.executable}"
    env = {**os.environ, "PYTHONPATH": str(copy / "src"), "COLUMNS": "200"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(copy / "pyproject.toml")],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def _inject(copy: Path, module: str, line: str) -> None:
    path = copy / "src" / Path(*module.split("."))
    target = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    target.parent.mkdir(parents=True, exist_ok=True)
    text = target.read_text() if target.exists() else '"""Injected by the test."""\n'
    target.write_text(text + f"\n{line}  # injected by tests/test_architecture.py\n")


def _broken(result: subprocess.CompletedProcess[str]) -> set[str]:
    """The ids of the contracts ``lint-imports`` reported broken."""
    out = " ".join(result.stdout.split())
    return {c["id"] for c in CONTRACTS if f"{' '.join(c['name'].split())} BROKEN" in out}


def test_the_untouched_source_keeps_every_contract(tmp_path: Path) -> None:
    result = _lint(_copy_source(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in result.stdout


BAD_IMPORTS = [
    # (module the import is added to, the import, contracts that must catch it)
    ("dosemap.domain.plan", "from dosemap.persistence import db", {"layers", "domain-pure"}),
    ("dosemap.domain.errors", "import os", {"domain-pure"}),
    ("dosemap.domain.library.catalog", "import dosemap.domain.dosing", {"domain-acyclic"}),
    ("dosemap.cli.schema", "from dosemap.persistence.models import Patient", {"orm-models"}),
    ("dosemap.cli.schema", "import sqlalchemy", {"sql-in-persistence"}),
    ("dosemap.services.vials", "from dosemap.cli import db", {"layers"}),
    ("dosemap.services.vials", "from sqlalchemy import select", {"services-no-sql"}),
    ("dosemap.services.photo_plan", "import cv2", {"services-no-pixels"}),
    ("dosemap.imaging.align", "from dosemap.render import svg", {"layers"}),
    ("dosemap.persistence.errors", "import dosemap.services", {"layers"}),
    # The web app may not reach the CLI, the ORM models or SQLAlchemy.
    ("dosemap.web.app", "from dosemap.cli import db", {"layers"}),
    ("dosemap.web.pages.today", "from dosemap.persistence.models import Patient", {"orm-models"}),
    ("dosemap.web.security", "from sqlalchemy import select", {"sql-in-persistence"}),
    ("dosemap.cli.serve", "import dosemap.web.app", {"layers"}),
]


@pytest.mark.parametrize(("module", "line", "caught_by"), BAD_IMPORTS)
def test_a_forbidden_import_breaks_its_contract(
    tmp_path: Path, module: str, line: str, caught_by: set[str]
) -> None:
    copy = _copy_source(tmp_path)
    _inject(copy, module, line)
    result = _lint(copy)
    assert result.returncode != 0, result.stdout
    assert caught_by <= _broken(result), result.stdout


def test_every_layer_named_exists() -> None:
    graph = grimp.build_graph("dosemap")
    named = set()
    for layer in _contract("layers")["layers"]:
        named |= {part.strip().strip("()") for part in layer.split("|")}
    missing = {m for m in named if m not in graph.modules} - NOT_YET_WRITTEN
    assert not missing
    optional = {
        part.strip().strip("()")
        for layer in _contract("layers")["layers"]
        for part in layer.split("|")
        if part.strip().startswith("(")
    }
    assert optional <= NOT_YET_WRITTEN


def test_every_package_of_dosemap_sits_in_a_layer() -> None:
    graph = grimp.build_graph("dosemap")
    named = {
        part.strip().strip("()")
        for layer in _contract("layers")["layers"]
        for part in layer.split("|")
    }
    children = graph.find_children("dosemap") - {"dosemap.__main__", "dosemap.data"}
    assert children <= named, children - named


def test_the_domain_imports_only_its_allowed_list() -> None:
    graph = grimp.build_graph("dosemap", include_external_packages=True)
    domain = graph.find_descendants("dosemap.domain") | {"dosemap.domain"}
    outside = {
        imported.split(".")[0]
        for module in domain
        for imported in graph.find_modules_directly_imported_by(module)
        if not imported.startswith("dosemap.")
    }
    assert outside <= DOMAIN_MAY_IMPORT, sorted(outside - DOMAIN_MAY_IMPORT)
