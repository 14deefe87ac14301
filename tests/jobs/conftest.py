"""Fixtures of the batch job tests: the real app and backend on SQLite and on PostgreSQL."""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from openeo_dedl.config import Settings
from tests.support import apps
from tests.support.graphs import RASTER_GRAPH, SCALAR_GRAPH, slow_graph  # noqa: F401 - re-exported
from tests.support.users import API, USERS, login, two_users_settings  # noqa: F401 - re-exported
from tests.support.waiting import wait_for_value

# The module fixtures of an app with alice and bob (names the helpers below also use).
settings, client, alice, bob = apps.settings, apps.client, apps.alice, apps.bob


def job_settings(data_dir, demo_catalog_dir, database_url: str, **overrides) -> Settings:
    return two_users_settings(
        data_dir, demo_catalog_dir=demo_catalog_dir, database_url=database_url, **overrides
    )


def create_job(client: TestClient, auth: dict, graph: dict, **fields) -> str:
    resp = client.post(f"{API}/jobs", json={"process": {"process_graph": graph}, **fields},
                       headers=auth)  # fmt: skip
    assert resp.status_code == 201, resp.text
    return resp.headers["OpenEO-Identifier"]


def wait_for(client: TestClient, auth: dict, job_id: str, states: set[str], timeout=120.0):
    """The job's metadata once its status is one of ``states``."""
    return wait_for_value(
        lambda: client.get(f"{API}/jobs/{job_id}", headers=auth).json(),
        lambda job: job["status"] in states,
        timeout,
        f"job {job_id} not in {states}",
    )


def run_job(client: TestClient, auth: dict, graph: dict, **fields) -> tuple[str, dict]:
    job_id = create_job(client, auth, graph, **fields)
    assert client.post(f"{API}/jobs/{job_id}/results", headers=auth).status_code == 202
    return job_id, wait_for(client, auth, job_id, {"finished", "error", "canceled"})
