"""Shared fixtures: golden-update flag, backends (SQLite and a throwaway MariaDB)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from mariadb import server_binary, throwaway_server  # noqa: E402

# fixtures shared by many modules: db_url (both backends), university_db
pytest_plugins = ["runtime_fixtures", "university_data", "store_fixtures"]

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite the expected files of golden tests instead of comparing",
    )


@pytest.fixture(scope="session")
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(scope="session")
def mysql_server_url() -> Iterator[str]:
    """URL of a throwaway MariaDB server for this test session.

    Skipped with a reason when no server binary exists; under CI=true a
    missing binary is a failure.
    """
    if server_binary() is None:
        if IN_CI:
            pytest.fail("CI=true but no mariadbd/mysqld binary is installed (.ci/run installs mariadb-server)")
        pytest.skip("no mariadbd/mysqld binary on this machine; install mariadb-server to run MariaDB tests")
    with throwaway_server() as url:
        yield url
