"""CORS for browser clients such as the openEO Web Editor."""

from __future__ import annotations

import pytest

ORIGIN = "https://editor.openeo.org"


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/result", "POST"),
        ("/me", "GET"),
        ("/credentials/basic", "GET"),
        ("/", "GET"),
        ("/collections/ERA5_LAND", "GET"),
    ],
)
def test_preflight_is_answered_even_on_protected_routes(client, path, method):
    resp = client.options(
        f"/openeo/1.2{path}",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "Authorization, Content-Type",
        },
    )
    assert resp.status_code in (200, 204), resp.text
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"
    assert method in resp.headers["Access-Control-Allow-Methods"]
    allowed = resp.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed


@pytest.mark.parametrize("path", ["/", "/collections/NOPE", "/me"])
def test_responses_and_errors_expose_the_openeo_headers(client, path):
    resp = client.get(f"/openeo/1.2{path}", headers={"Origin": ORIGIN})
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"
    exposed = {h.strip().lower() for h in resp.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"openeo-identifier", "location", "openeo-costs", "link", "content-length"} <= exposed


def test_sync_result_is_readable_cross_origin(client, auth):
    pg = {"a": {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": True}}
    resp = client.post(
        "/openeo/1.2/result",
        json={"process": {"process_graph": pg}},
        headers={**auth, "Origin": ORIGIN},
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "openeo-dedl-usage" in resp.headers["Access-Control-Expose-Headers"].lower()
