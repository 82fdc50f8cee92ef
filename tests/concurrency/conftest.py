"""Multi-process races keep the production SQLite settings (fsync and an on-disk journal,
as the processes' locks are what is tested) and are marked ``slow``: ``make test`` leaves
them to CI (``make test-slow``) and the PostgreSQL suite."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.app import TEST_CONFIG

PRODUCTION_PRAGMAS: dict[str, Any] = {"SQLITE_TEST_PRAGMAS": False}
WORKER_CONFIG: dict[str, Any] = {**TEST_CONFIG, **PRODUCTION_PRAGMAS}


@pytest.fixture
def app_config() -> dict[str, Any]:
    return dict(PRODUCTION_PRAGMAS)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/concurrency/" in str(item.path):
            item.add_marker(pytest.mark.slow)
