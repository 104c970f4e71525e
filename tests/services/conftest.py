from __future__ import annotations

import pytest

from dosemap.domain.library.catalog import Library
from dosemap.persistence.db import Database
from dosemap.resources import load_library
from support.clinic import SeededClinic, build_test_clinic


@pytest.fixture(scope="session")
def library() -> Library:
    return load_library()


@pytest.fixture
def clinic(db: Database, library: Library) -> SeededClinic:
    return build_test_clinic(db, library)
