"""Two basic users, an app with a small upload limit, and the same app on a real socket; on
SQLite and on PostgreSQL."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from openeo_dedl.api.app import create_app
from openeo_dedl.config import Settings
from tests.api.conftest import StubBackend, check_spec, openapi, openapi_dict  # noqa: F401
from tests.support.servers import app_in_thread
from tests.support.users import login, two_users_settings  # noqa: F401 - re-exported

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

MAX_FILE_BYTES = 10_000
QUOTA_BYTES = 25_000


@pytest.fixture
def settings(tmp_path, empty_database_url) -> Settings:
    """Every test on SQLite, then on PostgreSQL (the database of the module, emptied)."""
    return two_users_settings(
        tmp_path / "data",
        database_url=empty_database_url,
        workspace={"max_file_bytes": MAX_FILE_BYTES, "quota_bytes": QUOTA_BYTES},
    )


@pytest.fixture
def client(settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, StubBackend(settings))) as c:
        yield c


@pytest.fixture
def alice(client) -> dict[str, str]:
    return login(client, "alice")


@pytest.fixture
def bob(client) -> dict[str, str]:
    return login(client, "bob")


@pytest.fixture
def workspace_dir(settings) -> Path:
    return Path(settings.workspace_url)


@pytest.fixture
def live_url(settings) -> Iterator[str]:
    """The app served by uvicorn on 127.0.0.1 (real sockets: chunked, raw requests)."""
    with app_in_thread(create_app(settings, StubBackend(settings)), "/openeo/1.2") as url:
        yield url
