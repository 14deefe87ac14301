"""Responses of the live server validated against the official openEO API 1.2 spec."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests
import yaml

from tests.conftest import SHARED

pytestmark = pytest.mark.e2e

SPEC_PATH = SHARED / "openeo-specs" / "openeo-api" / "openapi.yaml"


@pytest.fixture(scope="module")
def openapi(server):
    if not SPEC_PATH.exists():
        pytest.skip(f"openEO API spec not found at {SPEC_PATH} (../shared beside the repo)")
    from openapi_core import OpenAPI

    spec = yaml.safe_load(Path(SPEC_PATH).read_text())
    # The spec's servers are examples; validate against this server's versioned root.
    spec["servers"] = [{"url": f"{server}/openeo/1.2"}]
    return OpenAPI.from_dict(spec)


def check(openapi, response: requests.Response) -> None:
    from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

    openapi.validate_response(
        RequestsOpenAPIRequest(response.request), RequestsOpenAPIResponse(response)
    )


@pytest.fixture(scope="module")
def token(server):
    resp = requests.get(f"{server}/openeo/1.2/credentials/basic", auth=("demo", "demo"), timeout=30)
    assert resp.status_code == 200
    return resp.json()["access_token"]


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/conformance",
        "/file_formats",
        "/collections",
        "/collections/ERA5_LAND",
        "/collections/GFM_FLOOD",
        "/udf_runtimes",
        "/service_types",
    ],
)
def test_public_endpoints_match_the_spec(openapi, server, path):
    resp = requests.get(f"{server}/openeo/1.2{path}", timeout=60)
    assert resp.status_code == 200, resp.text
    check(openapi, resp)


def test_authenticated_endpoints_match_the_spec(openapi, server, token):
    headers = {"Authorization": f"Bearer basic//{token}"}
    check(openapi, requests.get(f"{server}/openeo/1.2/me", headers=headers, timeout=30))
    check(
        openapi,
        requests.get(f"{server}/openeo/1.2/credentials/basic", auth=("demo", "demo"), timeout=30),
    )


def test_validation_matches_the_spec(openapi, server):
    pg = {"process_graph": {"a": {"process_id": "nope", "arguments": {}, "result": True}}}
    resp = requests.post(f"{server}/openeo/1.2/validation", json=pg, timeout=30)
    assert resp.status_code == 200
    assert [e["code"] for e in resp.json()["errors"]] == ["ProcessUnsupported"]
    check(openapi, resp)


def test_errors_match_the_spec(openapi, server):
    resp = requests.get(f"{server}/openeo/1.2/collections/NOPE", timeout=30)
    assert resp.status_code == 404
    check(openapi, resp)
    resp = requests.get(f"{server}/openeo/1.2/me", timeout=30)
    assert resp.status_code == 401
    check(openapi, resp)


def test_well_known_lists_the_versioned_root(server):
    body = requests.get(f"{server}/.well-known/openeo", timeout=30).json()
    assert body["versions"][0]["api_version"] == "1.2.0"
    assert body["versions"][0]["url"].rstrip("/").endswith("/openeo/1.2")


def test_capabilities_list_exactly_the_mounted_endpoints(server):
    caps = requests.get(f"{server}/openeo/1.2/", timeout=30).json()
    endpoints = {(e["path"], m) for e in caps["endpoints"] for m in e["methods"]}
    assert ("/result", "POST") in endpoints
    assert ("/jobs", "POST") in endpoints
    for path, method in endpoints:
        url = f"{server}/openeo/1.2{path.replace('{collection_id}', 'ERA5_LAND')}"
        url = re.sub(r"\{[^}]+\}", "no_such_thing", url)
        resp = requests.request(method, url, timeout=60)
        assert resp.status_code != 405, (method, path, resp.status_code)
        # A missing job or file is a 404 with its own code; a missing route says NotFound.
        if resp.status_code == 404:
            assert resp.json()["code"] != "NotFound", (method, path, resp.json())


def test_cors_preflight_and_exposed_headers(server):
    resp = requests.options(
        f"{server}/openeo/1.2/result",
        headers={
            "Origin": "https://editor.openeo.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Content-Type",
        },
        timeout=30,
    )
    assert resp.status_code in (200, 204)
    assert resp.headers["Access-Control-Allow-Origin"] in ("*", "https://editor.openeo.org")
    resp = requests.get(
        f"{server}/openeo/1.2/collections/NOPE",
        headers={"Origin": "https://editor.openeo.org"},
        timeout=30,
    )
    exposed = resp.headers.get("Access-Control-Expose-Headers", "")
    assert "OpenEO-Identifier" in exposed and "Location" in exposed
    assert resp.headers["Access-Control-Allow-Origin"] == "https://editor.openeo.org"


def test_unknown_path_and_wrong_method_are_openeo_errors(server):
    resp = requests.get(f"{server}/openeo/1.2/no/such/path", timeout=30)
    assert resp.status_code == 404 and resp.json()["code"] == "NotFound"
    resp = requests.delete(f"{server}/openeo/1.2/collections", timeout=30)
    assert resp.status_code == 405 and resp.json()["code"]


def test_bad_tokens(server):
    for header, code in [
        ("Bearer basic//garbage", "TokenInvalid"),
        ("Bearer oidc/google/xyz", "AuthenticationSchemeInvalid"),
        ("Basic ZGVtbzpkZW1v", "AuthenticationSchemeInvalid"),
    ]:
        resp = requests.get(
            f"{server}/openeo/1.2/me", headers={"Authorization": header}, timeout=30
        )
        assert resp.status_code == 403, (header, resp.text)
        assert resp.json()["code"] == code
