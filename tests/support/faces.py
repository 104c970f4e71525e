"""The 24 public-domain test portraits committed under ``tests/data/faces`` (see its README).

Every test finds them here. Missing files are an error naming what is missing, raised at
collection when a module parametrises over them, so a clone without them cannot pass by skipping.
"""

from __future__ import annotations

from pathlib import Path

FACES_DIR = Path(__file__).resolve().parents[1] / "data" / "faces"
EXPECTED_FACES = 24


def face_files() -> list[Path]:
    """The test portraits, sorted by name; raises if any is missing."""
    found = sorted(FACES_DIR.glob("*.jpg"))
    if len(found) != EXPECTED_FACES:
        raise FileNotFoundError(
            f"expected {EXPECTED_FACES} test portraits (*.jpg) in {FACES_DIR}, found {len(found)}; "
            "they are committed with the repository (tests/data/faces/README.md)"
        )
    return found


def face(name: str) -> Path:
    """One test portrait by file name, e.g. ``face("A000014.jpg")``."""
    path = FACES_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"test portrait {name} missing from {FACES_DIR}")
    return path
