"""Fixtures of the batch job tests: the real app and backend on SQLite and on PostgreSQL."""

from __future__ import annotations

import base64
import time
import warnings
from collections.abc import Iterator

import bcrypt
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from openeo_dedl.api.app import create_app
from openeo_dedl.config import Settings, UserConfig

API = "/openeo/1.2"
USERS = {"alice": "alice-pw", "bob": "bob-pw"}
# Cheap hashes: the tests log in often and do not test bcrypt.
_HASHES = {u: bcrypt.hashpw(p.encode(), bcrypt.gensalt(4)).decode() for u, p in USERS.items()}

SCALAR_GRAPH = {
    "add": {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": True},
}

# S1 soil moisture (site leonardo) over two months, averaged over time, as GeoTIFF.
RASTER_GRAPH = {
    "load": {
        "process_id": "load_collection",
        "arguments": {
            "id": "S1_SSM",
            "spatial_extent": None,
            "temporal_extent": ["2020-01-01", "2020-03-01"],
            "bands": ["ssm"],
        },
    },
    "mean": {
        "process_id": "reduce_dimension",
        "arguments": {
            "data": {"from_node": "load"},
            "dimension": "t",
            "reducer": {
                "process_graph": {
                    "m": {
                        "process_id": "mean",
                        "arguments": {"data": {"from_parameter": "data"}},
                        "result": True,
                    }
                }
            },
        },
    },
    "save": {
        "process_id": "save_result",
        "arguments": {"data": {"from_node": "mean"}, "format": "GTiff"},
        "result": True,
    },
}


def slow_graph(resolution: float = 20.0, collection: str = "S1_SSM", **load) -> dict:
    """A collection (S1 soil moisture at leonardo unless told) upsampled to ``resolution``
    (in its CRS' units) over all its years, its median over time: seconds to minutes of real
    Dask work, for tests that cancel or interrupt a run. ``load``: more load arguments."""
    return {
        "load": {
            "process_id": "load_collection",
            "arguments": {
                "id": collection,
                "spatial_extent": None,
                "temporal_extent": None,
                **load,
            },
        },
        "fine": {
            "process_id": "resample_spatial",
            "arguments": {"data": {"from_node": "load"}, "resolution": resolution},
        },
        "median": {
            "process_id": "reduce_dimension",
            "arguments": {
                "data": {"from_node": "fine"},
                "dimension": "t",
                "reducer": {
                    "process_graph": {
                        "m": {
                            "process_id": "median",
                            "arguments": {"data": {"from_parameter": "data"}},
                            "result": True,
                        }
                    }
                },
            },
            "result": True,
        },
    }


def job_settings(data_dir, demo_catalog_dir, database_url: str, **overrides) -> Settings:
    return Settings(
        data_dir=data_dir,
        demo_catalog_dir=demo_catalog_dir,
        database_url=database_url,
        users=[UserConfig(username=u, password_hash=h) for u, h in _HASHES.items()],
        **overrides,
    )


@pytest.fixture(scope="module")
def settings(tmp_path_factory, demo_catalog_dir, module_database_url) -> Settings:
    return job_settings(tmp_path_factory.mktemp("jobs-data"), demo_catalog_dir, module_database_url)


@pytest.fixture(scope="module")
def client(settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def login(client: TestClient, user: str) -> dict[str, str]:
    basic = base64.b64encode(f"{user}:{USERS[user]}".encode()).decode()
    resp = client.get(f"{API}/credentials/basic", headers={"Authorization": f"Basic {basic}"})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer basic//{resp.json()['access_token']}"}


@pytest.fixture(scope="module")
def alice(client) -> dict[str, str]:
    return login(client, "alice")


@pytest.fixture(scope="module")
def bob(client) -> dict[str, str]:
    return login(client, "bob")


def create_job(client: TestClient, auth: dict, graph: dict, **fields) -> str:
    resp = client.post(f"{API}/jobs", json={"process": {"process_graph": graph}, **fields},
                       headers=auth)  # fmt: skip
    assert resp.status_code == 201, resp.text
    return resp.headers["OpenEO-Identifier"]


def wait_for(client: TestClient, auth: dict, job_id: str, states: set[str], timeout=120.0):
    """The job's metadata once its status is one of ``states``."""
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"{API}/jobs/{job_id}", headers=auth).json()
        if job["status"] in states:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {job['status']} after {timeout}s")
        time.sleep(0.1)


def run_job(client: TestClient, auth: dict, graph: dict, **fields) -> tuple[str, dict]:
    job_id = create_job(client, auth, graph, **fields)
    assert client.post(f"{API}/jobs/{job_id}/results", headers=auth).status_code == 202
    return job_id, wait_for(client, auth, job_id, {"finished", "error", "canceled"})
