"""Bad input over real HTTP: openEO error JSON with the right status and code, never a 500."""

from __future__ import annotations

import openeo
import pytest
import requests
from openeo.rest import OpenEoApiError

from tests.support.servers import start_server, stop_server

pytestmark = pytest.mark.e2e


def assert_openeo_error(resp: requests.Response, status: int, code: str) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"]


@pytest.fixture(scope="module")
def auth_headers(connection):
    return {"Authorization": f"Bearer {connection.auth.bearer}"}


def post_result(server, headers, process_graph):
    return requests.post(
        f"{server}/openeo/1.2/result",
        json={"process": {"process_graph": process_graph}},
        headers=headers,
        timeout=120,
    )


LOAD_UNKNOWN = {
    "l": {
        "process_id": "load_collection",
        "arguments": {"id": "NO_SUCH_COLLECTION", "spatial_extent": None, "temporal_extent": None},
        "result": True,
    }
}


def test_unknown_collection(server, auth_headers, connection):
    assert_openeo_error(
        requests.get(f"{server}/openeo/1.2/collections/NO_SUCH_COLLECTION", timeout=10),
        404,
        "CollectionNotFound",
    )
    assert_openeo_error(post_result(server, auth_headers, LOAD_UNKNOWN), 404, "CollectionNotFound")
    with pytest.raises(OpenEoApiError) as info:
        connection.load_collection("NO_SUCH_COLLECTION").download(format="GTiff")
    assert info.value.code == "CollectionNotFound"


def test_unknown_process(server, auth_headers):
    pg = {"a": {"process_id": "frobnicate", "arguments": {}, "result": True}}
    assert_openeo_error(post_result(server, auth_headers, pg), 400, "ProcessUnsupported")


def test_missing_argument(server, auth_headers):
    pg = {"a": {"process_id": "add", "arguments": {"x": 1}, "result": True}}
    assert_openeo_error(post_result(server, auth_headers, pg), 400, "ProcessParameterRequired")


def test_malformed_json(server, auth_headers):
    resp = requests.post(
        f"{server}/openeo/1.2/result",
        data=b'{"process": {"process_graph": ',
        headers={**auth_headers, "Content-Type": "application/json"},
        timeout=10,
    )
    assert resp.status_code == 400, resp.text
    assert resp.json()["code"]


def test_wrong_password(server):
    resp = requests.get(
        f"{server}/openeo/1.2/credentials/basic", auth=("demo", "not-the-password"), timeout=10
    )
    assert_openeo_error(resp, 403, "CredentialsInvalid")
    with pytest.raises(OpenEoApiError):
        openeo.connect(server).authenticate_basic("demo", "wrong")


def test_result_needs_authentication(server):
    pg = {"a": {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": True}}
    assert_openeo_error(post_result(server, {}, pg), 401, "AuthenticationRequired")


@pytest.fixture(scope="module")
def tiny_limit_server(tmp_path_factory, demo_catalog_dir):
    data_dir = tmp_path_factory.mktemp("tiny-limit")
    proc, url, _ = start_server(
        data_dir, demo_catalog_dir, OPENEO_DEDL_LIMITS__SYNC_MAX_BYTES="10000"
    )
    yield url
    stop_server(proc)


def test_request_above_sync_limit(tiny_limit_server):
    con = openeo.connect(tiny_limit_server).authenticate_basic("demo", "demo")
    cube = con.load_collection("ERA5_LAND", bands=["total_precipitation"])
    with pytest.raises(OpenEoApiError) as info:
        cube.reduce_dimension(dimension="t", reducer="mean").download(format="netCDF")
    assert info.value.http_status_code == 400
    assert info.value.code == "ProcessGraphComplexity"
