"""What ships: every third-party import is declared, and the wheel holds no test helper."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "dosemap"


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {_canonical(re.match(r"[A-Za-z0-9_.-]+", dep)[0]) for dep in project["dependencies"]}  # type: ignore[index]


def _imported_top_level() -> set[str]:
    names: set[str] = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
            elif _imported_by_name(node):  # importlib.import_module("x") / find_spec("x")
                names.add(node.args[0].value.split(".")[0])  # type: ignore[attr-defined]
    return names - set(sys.stdlib_module_names) - {"dosemap", "__future__"}


def _imported_by_name(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute | ast.Name)
        and getattr(node.func, "attr", getattr(node.func, "id", ""))
        in {"import_module", "find_spec"}
        and bool(node.args)
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    )


def _providers() -> dict[str, list[str]]:
    """Top-level import name -> distributions, from top_level.txt and, since some wheels list
    only part of what they install there (dlib-bin names only ``_dlib_pybind11``), from the
    files each distribution installed."""
    providers = {k: list(v) for k, v in importlib.metadata.packages_distributions().items()}
    for dist in importlib.metadata.distributions():
        for file in dist.files or ():
            top = file.parts[0].removesuffix(".py")
            if file.parts[1:] == ("__init__.py",) or file.parts == (f"{top}.py",):
                names = providers.setdefault(top, [])
                if dist.metadata["Name"] not in names:
                    names.append(dist.metadata["Name"])
    return providers


def test_every_third_party_import_is_a_declared_dependency():
    declared = _declared()
    providers = _providers()
    imported = _imported_top_level()
    assert {"cv2", "mediapipe", "sqlalchemy"} <= imported  # the scan does see the imports
    undeclared = {
        name: providers.get(name, ["<not installed>"])
        for name in imported
        if not declared & {_canonical(d) for d in providers.get(name, [])}
    }
    assert not undeclared, f"imported but not in [project] dependencies: {undeclared}"


def test_the_wheel_ships_the_application_and_no_test_helper(tmp_path):
    tree = tmp_path / "tree"  # a copy, so the build leaves nothing in the work tree
    tree.mkdir()
    shutil.copy(ROOT / "pyproject.toml", tree)
    shutil.copy(ROOT / "README.md", tree)
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(ROOT / "src", tree / "src", ignore=skip)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(tree)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = tmp_path.glob("dosemap-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "dosemap/cli/__init__.py" in names
    assert any(n.startswith("dosemap/data/library/") and n.endswith(".toml") for n in names)
    assert any(n.startswith("dosemap/persistence/migrations/versions/") for n in names)
    helpers = [n for n in names if re.search(r"(^|/)(tests?|support|conftest|testing)(/|\.py$)", n)]
    assert helpers == []
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "dosemap = dosemap.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
