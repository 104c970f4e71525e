from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dosemap.persistence.db import Database
from dosemap.persistence.testing import BACKENDS, pg_unavailable_reason, temporary_database


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    if name == "postgresql":
        request.applymarker(pytest.mark.postgres)
        reason = pg_unavailable_reason()
        if reason:
            pytest.skip(reason)
    return name


@pytest.fixture
def db(backend: str, tmp_path: Path) -> Iterator[Database]:
    with temporary_database(backend, tmp_path) as database:
        yield database
