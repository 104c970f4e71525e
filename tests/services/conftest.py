from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dosemap.domain.library.catalog import Library
from dosemap.persistence.db import Database
from dosemap.persistence.testing import BACKENDS, pg_unavailable_reason, temporary_database
from dosemap.resources import load_library
from dosemap.services.testing import Clinic, build_test_clinic


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


@pytest.fixture(scope="session")
def library() -> Library:
    return load_library()


@pytest.fixture
def clinic(db: Database, library: Library) -> Clinic:
    return build_test_clinic(db, library)
