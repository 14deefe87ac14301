"""What API 1.3 changed, on the real backend: capabilities, JWT bearer tokens, the synchronous
run's identifier, the processes' version, no UDF runtimes; the same requests on 1.2 answer as
before."""

from __future__ import annotations

import re

import jwt
import pytest

from openeo_dedl.api.routers.capabilities import JWT_CONFORMANCE
from tests.api.conftest import BASE, assert_openeo_error
from tests.support.users import basic

V12, V13 = "/openeo/1.2", "/openeo/1.3"
ADD = {"a": {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": True}}
IDENTIFIER = re.compile(r"^[\w\-\.~]+$")


def _endpoints(caps: dict) -> set[str]:
    return {e["path"] for e in caps["endpoints"]}


def test_capabilities_name_the_version_its_classes_and_endpoints(client):
    caps = client.get(f"{V13}/").json()
    assert caps["api_version"] == "1.3.0" and caps["type"] == "Catalog"
    assert caps["conformsTo"] == client.get(f"{V13}/conformance").json()["conformsTo"]
    assert {"https://api.openeo.org/1.3.0", JWT_CONFORMANCE} <= set(caps["conformsTo"])
    old = client.get(f"{V12}/").json()
    assert JWT_CONFORMANCE not in old["conformsTo"]
    # 1.3 wants at least one UDF runtime in the list, and none runs here: no such endpoint.
    assert _endpoints(old) - _endpoints(caps) == {"/udf_runtimes"}
    assert_openeo_error(client.get(f"{V13}/udf_runtimes"), 404, "NotFound")
    assert client.get(f"{V12}/udf_runtimes").json() == {}


def test_processes_name_their_openeo_processes_release(client):
    new, old = client.get(f"{V13}/processes").json(), client.get(f"{V12}/processes").json()
    assert new["version"] == "2.0.0-rc.2"
    assert "version" not in old
    # The same processes; rc.2 changed three of them (tests/api/test_processes_rc2.py).
    specs = {p["id"]: p for p in new["processes"]}
    assert specs.keys() == {p["id"] for p in old["processes"]}
    changed = {p["id"] for p in old["processes"] if p != specs[p["id"]]}
    assert changed == {"all", "any", "is_nan"}


def _token(client, prefix: str) -> str:
    resp = client.get(f"{prefix}/credentials/basic", headers=basic("demo", "demo"))
    assert resp.status_code == 200, resp.text
    return resp.json()["access_token"]


def test_basic_tokens_are_jwts_with_an_issuer_sent_plain_on_13(client):
    token = _token(client, V13)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == f"{BASE}{V13}/credentials/basic" and claims["sub"] == "demo"
    plain = {"Authorization": f"Bearer {token}"}
    assert client.get(f"{V13}/me", headers=plain).json()["user_id"] == "demo"
    # The openEO token format stays valid on both versions; 1.2 knows no other.
    for prefix in (V12, V13):
        me = client.get(f"{prefix}/me", headers={"Authorization": f"Bearer basic//{token}"})
        assert me.json()["user_id"] == "demo"
    assert_openeo_error(client.get(f"{V12}/me", headers=plain), 403, "AuthenticationSchemeInvalid")
    # A token of 1.2's endpoint works plain on 1.3 too.
    old = {"Authorization": f"Bearer {_token(client, V12)}"}
    assert client.get(f"{V13}/me", headers=old).json()["user_id"] == "demo"


def test_tokens_issued_before_13_work_plain_until_they_expire(client):
    # Issued without `iss`, as before API 1.3 was served.
    authenticator = client.app.state.authenticator
    legacy = authenticator.issue_token("demo")
    assert "iss" not in jwt.decode(legacy, options={"verify_signature": False})
    me = client.get(f"{V13}/me", headers={"Authorization": f"Bearer {legacy}"})
    assert me.json()["user_id"] == "demo"


def _forged(token: str) -> list[str]:
    claims = jwt.decode(token, options={"verify_signature": False})
    header, payload, signature = token.split(".")
    admin = jwt.encode({**claims, "sub": "admin"}, "g" * 32, algorithm="HS256").split(".")[1]
    return [
        f"{header}.{admin}.{signature}",  # another user, the same signature
        jwt.encode(claims, "not-our-secret-at-all-but-long-enough", algorithm="HS256"),
        jwt.encode(claims, None, algorithm="none"),
        jwt.encode({**claims, "exp": claims["iat"] - 10}, "x" * 32, algorithm="HS256"),
        f"{header}.{payload}.{signature[:-2]}AA",
        "not-a-jwt",
    ]


@pytest.mark.parametrize("case", range(6))
def test_forged_plain_tokens_are_refused(client, case):
    forged = _forged(_token(client, V13))[case]
    resp = client.get(f"{V13}/me", headers={"Authorization": f"Bearer {forged}"})
    body = assert_openeo_error(resp, 403, "TokenInvalid")
    assert forged not in body["message"]


def test_a_synchronous_run_is_named_on_13(client):
    auth = {"Authorization": f"Bearer {_token(client, V13)}"}
    ids = set()
    for _ in range(2):
        resp = client.post(f"{V13}/result", json={"process": {"process_graph": ADD}}, headers=auth)
        assert resp.status_code == 200 and resp.json() == 3, resp.text
        ids.add(resp.headers["OpenEO-Identifier"])
    assert len(ids) == 2 and all(IDENTIFIER.match(i) for i in ids)
    old = {"Authorization": f"Bearer basic//{_token(client, V12)}"}
    resp = client.post(f"{V12}/result", json={"process": {"process_graph": ADD}}, headers=old)
    assert resp.status_code == 200 and "OpenEO-Identifier" not in resp.headers
