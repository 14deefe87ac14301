"""Fixtures of the HTTP layer tests: apps on the real Backend and on a stub, and the openEO spec."""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
import yaml

from openeo_dedl.execution.options import run_options

with warnings.catch_warnings():
    # Starlette 1.x prefers httpx2 for its TestClient; httpx works and is what we have.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from openeo_dedl.api.app import create_app
from openeo_dedl.backend import OUTPUT_FORMATS
from openeo_dedl.config import Settings
from openeo_dedl.errors import CollectionNotFound, OpenEOError, ProcessGraphMissing
from openeo_dedl.execution.result import SyncResult
from openeo_dedl.execution.usage import Usage
from openeo_dedl.planning import Environment, Invalid, Prepared
from tests.support.users import basic  # noqa: F401 - re-exported

SPECS = Path(__file__).resolve().parents[2].parent / "shared" / "openeo-specs" / "openeo-api"
OPENAPI_PATH = SPECS / "openapi.yaml"
FEDERATION_README = SPECS / "extensions" / "federation" / "README.md"
BASE = "http://testserver"
API = f"{BASE}/openeo/1.2"


def assert_openeo_error(resp: httpx.Response, status: int, code: str) -> dict:
    """``resp`` is openEO error JSON with ``status`` and ``code``; returns the body."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json"), resp.headers
    body = resp.json()
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["id"], str) and body["id"]
    assert body["links"] == []
    return body


# -- apps -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def settings(tmp_path_factory, demo_catalog_dir) -> Settings:
    return Settings(data_dir=tmp_path_factory.mktemp("api-data"), demo_catalog_dir=demo_catalog_dir)


@pytest.fixture(scope="module")
def client(settings) -> Iterator[TestClient]:
    """The app on the real Backend (created and closed by the app's lifespan)."""
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture(scope="module")
def token(client) -> str:
    resp = client.get("/openeo/1.2/credentials/basic", headers=basic("demo", "demo"))
    assert resp.status_code == 200, resp.text
    return resp.json()["access_token"]


@pytest.fixture(scope="module")
def auth(token) -> dict[str, str]:
    return {"Authorization": f"Bearer basic//{token}"}


class StubBackend:
    """The Backend's interface with canned answers, to test the HTTP layer alone."""

    version = "9.9.9-test"

    def __init__(self, settings: Settings):
        self.settings = settings
        self.run_calls: list[tuple[dict, Path]] = []
        self.work_dirs: list[Path] = []
        # What run_sync does; tests replace it.
        self.on_run = self.write_json_result
        self.validate_result: list[OpenEOError] | Exception = []
        self.closed = False

    def sites(self) -> list[dict]:
        return [{"name": s.name, "title": s.title or s.name} for s in self.settings.sites]

    def collection_ids(self) -> list[str]:
        return [f"C{i}" for i in range(5)]

    def collection_metadata(self, collection_id: str) -> dict:
        if collection_id not in self.collection_ids():
            raise CollectionNotFound(f"Collection '{collection_id}' does not exist.")
        return {
            "type": "Collection",
            "stac_version": "1.0.0",
            "id": collection_id,
            "description": "stub",
            "license": "proprietary",
            "extent": {
                "spatial": {"bbox": [[0, 0, 1, 1]]},
                "temporal": {"interval": [["2020-01-01T00:00:00Z", None]]},
            },
            "links": [],
            "summaries": {"federation:backends": ["lumi"]},
        }

    def process_specs(self, processes: str = "2.0.0-rc.1") -> list[dict]:
        return [
            {
                "id": f"p{i:02d}",
                "description": "stub",
                "parameters": [],
                "returns": {"schema": {"type": "number"}},
            }
            for i in range(7)
        ]

    def missing_sites(self) -> list[str]:
        return []

    def run_options(self, body: Any, kind: str, user_id: str, strict: bool = True) -> Any:
        return run_options(body, kind, self.settings, user_id, strict)

    def file_formats(self) -> dict:
        return {"input": {}, "output": OUTPUT_FORMATS}

    def prepare(
        self, process: Any, user_processes: Any = None, user: str | None = None
    ) -> Prepared | Invalid:
        """``validate_result``'s errors (or raises it); else the process, planned for real
        (no collections: the stub's processes are plain values)."""
        if isinstance(self.validate_result, Exception):
            raise self.validate_result
        if not isinstance(process, dict) or "process_graph" not in process:
            return Invalid((ProcessGraphMissing("no process graph"),))
        if self.validate_result:
            return Invalid(tuple(self.validate_result))
        environment = Environment(
            specs={},
            sites=tuple(s.name for s in self.settings.sites),
            result_site=self.settings.default_site,
            collection_error=lambda cid: CollectionNotFound(f"No collection '{cid}'."),
            collection_facts=lambda cid: None,
        )
        return Prepared(process=process, environment=environment)

    def run_sync(
        self,
        process: dict,
        work_dir: Path,
        user: str | None = None,
        user_processes: Any = None,
        options: Any = None,
    ) -> SyncResult:
        self.run_calls.append((process, work_dir))
        self.work_dirs.append(work_dir)
        return self.on_run(process, work_dir)

    @staticmethod
    def write_json_result(process: dict, work_dir: Path) -> SyncResult:
        path = work_dir / "result.json"
        path.write_text(json.dumps({"ok": True}))
        return SyncResult(
            path=path,
            media_type="application/json",
            usage=Usage(),
        )

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def stub_settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def stub(stub_settings) -> StubBackend:
    return StubBackend(stub_settings)


@pytest.fixture
def stub_client(stub_settings, stub) -> Iterator[TestClient]:
    """The app on :class:`StubBackend`; server exceptions become responses, as in production."""
    with TestClient(create_app(stub_settings, stub), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def stub_auth(stub_client) -> dict[str, str]:
    resp = stub_client.get("/openeo/1.2/credentials/basic", headers=basic("demo", "demo"))
    return {"Authorization": f"Bearer basic//{resp.json()['access_token']}"}


# -- the openEO API spec ----------------------------------------------------------------------


def _require(path: Path) -> None:
    if not path.exists():
        pytest.skip(
            f"openEO specs not found at {path}: the repository expects ../shared/openeo-specs "
            "beside it (as in CI)"
        )


@pytest.fixture(scope="session")
def openapi_dict() -> dict:
    _require(OPENAPI_PATH)
    return yaml.safe_load(OPENAPI_PATH.read_text())


@pytest.fixture(scope="session")
def openapi(openapi_dict):
    """openapi-core's validator for the spec, pointed at the TestClient's base URL."""
    from openapi_core import OpenAPI

    # A deep copy; yaml turns the spec's example timestamps into datetimes.
    spec = json.loads(json.dumps(openapi_dict, default=str))
    spec["servers"] = [{"url": API}]
    # The well-known document lives at the server root, outside the versioned API.
    spec["paths"]["/.well-known/openeo"]["get"]["servers"] = [{"url": BASE}]
    return OpenAPI.from_dict(spec)


class HttpxOpenAPIRequest:
    """openapi-core's request protocol over an httpx request."""

    def __init__(self, request: httpx.Request):
        from openapi_core.datatypes import RequestParameters
        from werkzeug.datastructures import Headers, ImmutableMultiDict

        self._url = urlparse(str(request.url))
        self._request = request
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qs(self._url.query)),
            header=Headers(dict(request.headers)),
            cookie=ImmutableMultiDict({}),
        )

    @property
    def host_url(self) -> str:
        return f"{self._url.scheme}://{self._url.netloc}"

    @property
    def path(self) -> str:
        return self._url.path

    @property
    def method(self) -> str:
        return self._request.method.lower()

    @property
    def body(self) -> bytes | None:
        return self._request.content or None

    @property
    def content_type(self) -> str:
        return self._request.headers.get("Content-Type", "")


class HttpxOpenAPIResponse:
    """openapi-core's response protocol over an httpx response."""

    def __init__(self, response: httpx.Response):
        self._response = response

    @property
    def data(self) -> bytes:
        return self._response.content

    @property
    def status_code(self) -> int:
        return self._response.status_code

    @property
    def content_type(self) -> str:
        return self._response.headers.get("Content-Type", "")

    @property
    def headers(self):
        from werkzeug.datastructures import Headers

        return Headers(dict(self._response.headers))


@pytest.fixture(scope="session")
def check_spec(openapi):
    """Validate a TestClient response against the openEO API spec (raises on mismatch)."""

    def check(response: httpx.Response) -> httpx.Response:
        openapi.validate_response(
            HttpxOpenAPIRequest(response.request), HttpxOpenAPIResponse(response)
        )
        return response

    return check


@pytest.fixture(scope="session")
def federation_schemas() -> list[dict]:
    """The OpenAPI fragments of the Federation extension's README, in document order:
    capabilities' ``federation``, lists' ``federation:missing``, ``federation:backends``."""
    _require(FEDERATION_README)
    blocks = re.findall(r"```yaml\n(.*?)```", FEDERATION_README.read_text(), re.S)
    return [yaml.safe_load(b)["schema"] for b in blocks]
