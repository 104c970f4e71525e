"""Suite-wide settings. Area fixtures live in each folder's own conftest.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Two cores in CI: no per-example deadline (timings belong in benchmarks/), a fixed example budget.
settings.register_profile(
    "dosemap", deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("dosemap")


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    """The public-domain test portraits in ``shared/data/faces`` beside the clone (as in CI)."""
    beside = Path(__file__).resolve().parents[2] / "shared" / "data" / "faces"
    return beside if beside.is_dir() else Path("/work/shared/data/faces")
