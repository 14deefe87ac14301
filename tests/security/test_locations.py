"""Through the API, on the real app with two users: no process reads a file or URL it may not.

Each form of issue 17's findings (SSRF to 127.0.0.1, local files, existence and port oracles,
another user's uploads) is refused with one 400 message, and the listener started here on
127.0.0.1 receives no connection, even when the allow-list names it (loopback stays refused).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator

import pytest

from openeo_dedl.api.app import create_app
from openeo_dedl.execution.access import DataAccess
from tests.api.conftest import assert_openeo_error
from tests.files.conftest import login, two_users_settings
from tests.jobs.conftest import run_job
from tests.security.conftest import POLYGON, wait_briefly

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

API = "/openeo/1.2"

# The parameter naming geometries in each process that takes them (and a graph around it).
PROCESSES = {
    "aggregate_spatial": "geometries",
    "filter_spatial": "geometries",
    "mask_polygon": "mask",
    "load_geojson": "data",
}


def _load() -> dict:
    return {
        "process_id": "load_collection",
        "arguments": {
            "id": "ERA5_LAND",
            "spatial_extent": {"west": 67, "south": 26, "east": 68, "north": 27},
            "temporal_extent": ["2022-08-20", "2022-08-22"],
        },
    }


def graph(process_id: str, geometries) -> dict:
    """A graph applying ``process_id`` with ``geometries`` to a small ERA5 load."""
    if process_id == "load_geojson":
        node = {"process_id": "load_geojson", "arguments": {"data": geometries}}
        return {"process_graph": {"g": {**node, "result": True}}}
    arguments = {"data": {"from_node": "l"}, PROCESSES[process_id]: geometries}
    if process_id == "aggregate_spatial":
        mean = {"process_id": "mean", "arguments": {"data": {"from_parameter": "data"}}}
        arguments["reducer"] = {"process_graph": {"m": {**mean, "result": True}}}
    node = {"process_id": process_id, "arguments": arguments, "result": True}
    return {"process_graph": {"l": _load(), "p": node}}


def run(client, auth, process_id: str, geometries):
    body = {"process": graph(process_id, geometries)}
    if process_id != "load_geojson":
        body["process"]["process_graph"]["s"] = {
            "process_id": "save_result",
            "arguments": {"data": {"from_node": "p"}, "format": "JSON"},
            "result": True,
        }
        body["process"]["process_graph"]["p"].pop("result")
    return client.post(f"{API}/result", json=body, headers=auth)


def hostile_locations(port: int, workspace: str) -> list[str]:
    """Every form of the findings, and their neighbours, aimed at a listener on ``port``."""
    bob = f"{workspace}/users/bob/secret.geojson"
    return [
        f"http://127.0.0.1:{port}/geo.json",
        f"http://localhost:{port}/geo.json",
        f"http://[::1]:{port}/geo.json",
        f"http://127.1:{port}/geo.json",
        f"http://2130706433:{port}/geo.json",
        f"http://0.0.0.0:{port}/geo.json",
        f"https://127.0.0.1:{port}/geo.json",
        "http://127.0.0.1:1/",  # a closed port
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/geo.json",
        "http://192.168.0.1/geo.json",
        "file:///etc/shadow",
        "file:///etc/passwd",
        "file:///nonexistent.json",
        f"file://{bob}",
        f"file://localhost{bob}",
        bob,
        "/etc/passwd",
        "../bob/secret.geojson",
        "./../bob/secret.geojson",
        "x/../../bob/secret.geojson",
        f"ftp://127.0.0.1:{port}/geo.json",
        f"gopher://127.0.0.1:{port}/_GET",
        "data:application/json,{}",
        "https://example.com/geo.json",  # public, but not allowed
    ]


@pytest.fixture(scope="module")
def make_client(tmp_path_factory, demo_catalog_dir):
    """A context manager: the real app on two users (alice, bob) with ``security`` settings."""
    clients: list = []

    def make(**security) -> TestClient:
        settings = two_users_settings(
            tmp_path_factory.mktemp("security"),
            demo_catalog_dir=demo_catalog_dir,
            security=security,
        )
        client = TestClient(create_app(settings))
        client.__enter__()
        client.workspace_url = settings.workspace_url
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture(scope="module")
def client(make_client) -> Iterator[TestClient]:
    return make_client()


@pytest.fixture(scope="module")
def alice(client):
    return login(client, "alice")


@pytest.fixture(scope="module")
def bob(client):
    auth = login(client, "bob")
    body = json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": POLYGON, "properties": {}}]}).encode()  # fmt: skip
    resp = client.put(f"{API}/files/secret.geojson", content=body, headers=auth)
    assert resp.status_code == 200, resp.text
    return auth


@pytest.mark.parametrize("process_id", sorted(PROCESSES))
def test_hostile_locations_are_refused_with_one_message_and_no_connection(
    client, alice, bob, listener, process_id
):
    expected = DataAccess.refusal(process_id, PROCESSES[process_id]).message
    for location in hostile_locations(listener.port, client.workspace_url):
        resp = run(client, alice, process_id, location)
        body = assert_openeo_error(resp, 400, "ProcessParameterInvalid")
        assert body["message"] == expected, (location, body)
    wait_briefly()
    assert listener.connections == 0 and listener.requests == []


def test_loopback_stays_refused_when_the_allow_list_names_it(make_client, listener):
    client = make_client(
        allowed_urls=[f"http://127.0.0.1:{listener.port}/", f"http://localhost:{listener.port}/"]
    )
    auth = login(client, "alice")
    expected = DataAccess.refusal("aggregate_spatial", "geometries").message
    for host in ("127.0.0.1", "localhost"):
        resp = run(client, auth, "aggregate_spatial", f"http://{host}:{listener.port}/geo.json")
        assert assert_openeo_error(resp, 400, "ProcessParameterInvalid")["message"] == expected
    wait_briefly()
    assert listener.connections == 0


def _flat(values):
    if isinstance(values, list):
        return [x for v in values for x in _flat(v)]
    return [values]


def test_a_user_aggregates_over_an_own_file_by_relative_path(client, alice, bob):
    by_path = run(client, bob, "aggregate_spatial", "secret.geojson")
    assert by_path.status_code == 200, by_path.text
    inline = run(client, bob, "aggregate_spatial", POLYGON)
    assert inline.status_code == 200, inline.text
    assert by_path.json() == inline.json()
    # The polygon covers pixels with data: the means are numbers (not all no-data).
    assert any(isinstance(v, float) for v in _flat(by_path.json()["data"])), by_path.json()

    # The same name in alice's workspace is not bob's file: alice has none of that name.
    resp = run(client, alice, "aggregate_spatial", "secret.geojson")
    body = assert_openeo_error(resp, 400, "ProcessParameterInvalid")
    assert body["message"] == DataAccess.unreadable("aggregate_spatial", "geometries").message
    assert "secret" not in body["message"]


def test_own_files_serve_every_geometry_process(client, bob):
    for process_id in ("filter_spatial", "mask_polygon", "load_geojson"):
        by_path = run(client, bob, process_id, "secret.geojson")
        assert by_path.status_code == 200, (process_id, by_path.text)
        geojson = {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": POLYGON, "properties": {}}]}  # fmt: skip
        inline = run(client, bob, process_id, geojson)
        assert by_path.content == inline.content, process_id


def test_batch_jobs_follow_the_same_policy(client, make_client, alice, bob, listener):
    """Jobs run with their owner's policy too: bob's path works; alice's forms that the policy
    refuses without a lookup are refused when the job is created, and a host that resolves to
    loopback makes the job fail when it starts."""
    _, job = run_job(client, bob, graph("aggregate_spatial", "secret.geojson")["process_graph"])
    assert job["status"] == "finished", job
    expected = DataAccess.refusal("aggregate_spatial", "geometries").message
    for location in ("../bob/secret.geojson", f"{listener.base}/geo.json"):
        body = {"process": graph("aggregate_spatial", location)}
        resp = client.post(f"{API}/jobs", json=body, headers=alice)
        assert assert_openeo_error(resp, 400, "ProcessParameterInvalid")["message"] == expected

    allowing = make_client(allowed_urls=[f"http://localhost:{listener.port}/"])
    auth = login(allowing, "alice")
    location = f"http://localhost:{listener.port}/geo.json"  # allowed, but only DNS says where
    job_id, job = run_job(allowing, auth, graph("aggregate_spatial", location)["process_graph"])
    assert job["status"] == "error", job
    logs = allowing.get(f"{API}/jobs/{job_id}/logs", headers=auth).json()["logs"]
    assert any(expected in entry["message"] for entry in logs), logs
    wait_briefly()
    assert listener.connections == 0
