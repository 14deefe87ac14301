"""A real server on the small demo catalog, a client for synchronous results, and the oracle's
view of the same catalog."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from tests.support.servers import running_server
from tests.values.oracle import Collection, read_catalog


class ResultClient:
    """POST /result with a process graph; the response body is written to a file."""

    def __init__(self, url: str):
        self.url = f"{url}/openeo/1.2"
        token = requests.get(f"{self.url}/credentials/basic", auth=("demo", "demo"), timeout=30)
        token.raise_for_status()
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer basic//{token.json()['access_token']}"

    def result(self, process_graph: dict, path: Path) -> Path:
        resp = self.session.post(
            f"{self.url}/result", json={"process": {"process_graph": process_graph}}, timeout=300
        )
        assert resp.status_code == 200, f"{resp.status_code}: {resp.text[:2000]}"
        path.write_bytes(resp.content)
        return path


@pytest.fixture(scope="session")
def values_server(tmp_path_factory, demo_catalog_dir):
    with running_server(tmp_path_factory.mktemp("values-server"), demo_catalog_dir) as url:
        yield url


@pytest.fixture(scope="session")
def client(values_server) -> ResultClient:
    return ResultClient(values_server)


@pytest.fixture(scope="session")
def collections(demo_catalog_dir) -> dict[str, Collection]:
    return read_catalog(demo_catalog_dir)
