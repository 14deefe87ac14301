"""Responses of the API validated against the official openEO API 1.2 spec (and its
Federation extension)."""

from __future__ import annotations

import json

import httpx
import jsonschema
import pytest

from tests.support.users import basic


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/conformance",
        "/file_formats",
        "/collections",
        "/collections?limit=2",
        "/collections/ERA5_LAND",
        "/collections/GFM_FLOOD",
        "/udf_runtimes",
        "/service_types",
    ],
)
def test_public_endpoints_match_the_spec(client, check_spec, path):
    resp = client.get(f"/openeo/1.2{path}")
    assert resp.status_code == 200, resp.text
    check_spec(resp)


def test_well_known_matches_the_spec(client, check_spec):
    resp = check_spec(client.get("/.well-known/openeo"))
    assert resp.json()["versions"] == [
        {"url": "http://testserver/openeo/1.2/", "api_version": "1.2.0", "production": False},
        {"url": "http://testserver/openeo/1.3/", "api_version": "1.3.0", "production": False},
    ]


def test_credentials_and_me_match_the_spec(client, check_spec, auth):
    check_spec(client.get("/openeo/1.2/credentials/basic", headers=basic("demo", "demo")))
    me = check_spec(client.get("/openeo/1.2/me", headers=auth)).json()
    assert me["user_id"] == "demo"
    # No limits apply, and the spec wants those fields null then.
    assert me["budget"] is None and me["storage"] is None


def test_validation_matches_the_spec(client, check_spec):
    ok = {
        "process_graph": {"a": {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": True}}
    }
    resp = check_spec(client.post("/openeo/1.2/validation", json=ok))
    assert resp.json()["errors"] == []
    bad = {"process_graph": {"a": {"process_id": "nope", "arguments": {}, "result": True}}}
    resp = check_spec(client.post("/openeo/1.2/validation", json=bad))
    assert [e["code"] for e in resp.json()["errors"]] == ["ProcessUnsupported"]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", "/collections/NOPE", {}, 404),
        ("GET", "/me", {}, 401),
        ("GET", "/me", {"headers": {"Authorization": "Bearer basic//x.1.y"}}, 403),
        ("GET", "/credentials/basic", {"headers": basic("demo", "wrong")}, 403),
        ("POST", "/result", {"json": {"process": {"process_graph": {}}}}, 401),
        ("POST", "/validation", {"content": b"{"}, 400),
        ("GET", "/processes?limit=0", {}, 400),
    ],
)
def test_errors_match_the_spec(client, check_spec, method, path, kwargs, status):
    resp = client.request(method, f"/openeo/1.2{path}", **kwargs)
    assert resp.status_code == status, resp.text
    check_spec(resp)


def _json_schema(openapi_dict: dict, schema: dict) -> dict:
    """An OpenAPI 3.0 response schema as plain JSON Schema with the spec's components.

    Two rewrites: OpenAPI's ``nullable`` becomes a ``null`` alternative, and ``oneOf`` becomes
    ``anyOf`` — the spec's process ``json_schema`` is a oneOf of a schema object and an array of
    them, and a plain schema such as ``{"type": "number"}`` matches more than one branch, so
    every real process would fail it.
    """
    defs = json.loads(
        json.dumps(openapi_dict["components"]["schemas"], default=str)
        .replace('"oneOf"', '"anyOf"')
        .replace("#/components/schemas/", "#/$defs/")
    )
    root = json.loads(json.dumps(schema).replace("#/components/schemas/", "#/$defs/"))
    root["$defs"] = defs
    return _nullable(root)


def _nullable(node):
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    if not isinstance(node, dict):
        return node
    node = {k: _nullable(v) for k, v in node.items()}
    if node.pop("nullable", False):
        return {"anyOf": [node, {"type": "null"}]}
    return node


def test_processes_match_the_spec(client, openapi_dict):
    """All process specs against the spec's schema (oneOf relaxed, see _json_schema)."""
    schema = openapi_dict["paths"]["/processes"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"]
    validator = jsonschema.Draft202012Validator(_json_schema(openapi_dict, schema))
    body = client.get("/openeo/1.2/processes").json()
    assert len(body["processes"]) > 100
    validator.validate(body)
    page = client.get("/openeo/1.2/processes?limit=5").json()
    validator.validate(page)
    # Not paginated: whole whatever the limit (docs/compliance.md).
    assert page["processes"] == body["processes"]


def test_capabilities_follow_the_federation_extension(client, federation_schemas):
    caps = client.get("/openeo/1.2/").json()
    jsonschema.Draft202012Validator(
        federation_schemas[0], format_checker=jsonschema.FormatChecker()
    ).validate(caps)
    assert set(caps["federation"]) == {"central", "lumi", "leonardo"}
    assert "https://api.openeo.org/extensions/federation/0.1.0" in caps["conformsTo"]


def test_collections_name_their_sites_per_the_federation_extension(client, federation_schemas):
    backends_schema = federation_schemas[2]
    sites = set(client.get("/openeo/1.2/").json()["federation"])
    listing = client.get("/openeo/1.2/collections").json()["collections"]
    for summary in listing:
        full = client.get(f"/openeo/1.2/collections/{summary['id']}").json()
        for doc in (summary, full, full["summaries"]):
            jsonschema.validate(doc, backends_schema)
            assert doc["federation:backends"], doc.get("id")
            assert set(doc["federation:backends"]) <= sites


@pytest.mark.parametrize(
    ("path", "broken"),
    [
        ("/conformance", {"conformsTo": "not a list"}),
        ("/me", {"name": "no user_id"}),
        ("/collections/NOPE", {"message": "error without code"}),
    ],
)
def test_the_spec_check_catches_wrong_responses(client, check_spec, auth, path, broken):
    """The checker is not vacuous: the same requests with broken bodies fail it."""
    from openapi_core.exceptions import OpenAPIError

    real = client.get(f"/openeo/1.2{path}", headers=auth)
    fake = httpx.Response(real.status_code, json=broken, request=real.request)
    with pytest.raises(OpenAPIError):
        check_spec(fake)
