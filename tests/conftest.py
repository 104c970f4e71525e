"""Suite-wide settings. Area fixtures live in each folder's own conftest.py."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

# Two cores in CI: no per-example deadline (timings belong in benchmarks/), a fixed example budget.
settings.register_profile(
    "dosemap", deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("dosemap")
