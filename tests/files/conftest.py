"""Two basic users, an app with a small upload limit, and the same app on a real socket; on
SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import pytest
import uvicorn

from openeo_dedl.api.app import create_app
from openeo_dedl.config import Settings, UserConfig
from tests.api.conftest import StubBackend, basic, check_spec, openapi, openapi_dict  # noqa: F401
from tests.e2e.conftest import free_port

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

MAX_FILE_BYTES = 10_000
QUOTA_BYTES = 25_000
# Cheap hashes: these tests are about files, not password hashing.
_HASH = bcrypt.hashpw(b"pw", bcrypt.gensalt(4)).decode()


def two_users_settings(data_dir: Path, **overrides) -> Settings:
    """Settings with the basic users ``alice`` and ``bob`` (password ``pw``)."""
    return Settings(
        data_dir=data_dir,
        users=[UserConfig(username=u, password_hash=_HASH) for u in ("alice", "bob")],
        **overrides,
    )


def login(client, user: str) -> dict[str, str]:
    resp = client.get("/openeo/1.2/credentials/basic", headers=basic(user, "pw"))
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer basic//{resp.json()['access_token']}"}


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
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, StubBackend(settings)),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/openeo/1.2"
    server.should_exit = True
    thread.join(timeout=10)
