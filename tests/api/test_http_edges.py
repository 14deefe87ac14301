"""Requests HTTP itself gets wrong: methods, media types, bodies and heads.

Each answer is the status RFC 9110 (and the openEO API) asks for, with openEO error JSON.
"""

from __future__ import annotations

import json

import pytest

from tests.api.conftest import API, assert_openeo_error

ADD = {"process_graph": {"a": {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": True}}}


# -- methods ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/jobs", "GET, HEAD, OPTIONS, POST"),
        ("PUT", "/jobs/j-x", "DELETE, GET, HEAD, OPTIONS, PATCH"),
        ("PUT", "/jobs/j-x/results", "DELETE, GET, HEAD, OPTIONS, POST"),
        ("POST", "/process_graphs/p", "DELETE, GET, HEAD, OPTIONS, PUT"),
        ("PATCH", "/files/a/b.txt", "DELETE, GET, HEAD, OPTIONS, PUT"),
        ("POST", "/services", "GET, HEAD, OPTIONS"),
        ("TRACE", "/jobs", "GET, HEAD, OPTIONS, POST"),
        ("CONNECT", "/", "GET, HEAD, OPTIONS"),
        ("TRACE", "/process_graphs/p", "DELETE, GET, HEAD, OPTIONS, PUT"),
    ],
)
def test_a_method_the_path_lacks_is_405_and_allow_lists_every_method_of_the_path(
    client, auth, method, path, allow
):
    resp = client.request(method, API + path, headers=auth)
    body = assert_openeo_error(resp, 405, "MethodNotAllowed")
    assert resp.headers["Allow"] == allow
    assert allow in body["message"]


def test_a_method_http_does_not_define_is_501_on_any_path(client, auth):
    for path in ("/jobs", "/nothing-here"):
        resp = client.request("FROBNICATE", API + path, headers=auth)
        body = assert_openeo_error(resp, 501, "FeatureUnsupported")
        assert "FROBNICATE" in body["message"]


def test_a_known_method_on_an_unknown_path_stays_404(client):
    assert_openeo_error(client.request("TRACE", f"{API}/nothing-here"), 404, "NotFound")


def test_head_answers_like_get_without_the_body(client, auth):
    get = client.get(f"{API}/jobs", headers=auth)
    head = client.head(f"{API}/jobs", headers=auth)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"]
    assert client.head(f"{API}/jobs").status_code == 401


def test_plain_options_is_204_with_allow(client):
    resp = client.options(f"{API}/jobs/j-x/results")
    assert resp.status_code == 204 and resp.content == b""
    assert resp.headers["Allow"] == "DELETE, GET, HEAD, OPTIONS, POST"


# -- secondary web services -------------------------------------------------------------------


def test_services_need_a_token_and_there_are_none(client, auth, check_spec):
    assert_openeo_error(client.get(f"{API}/services"), 401, "AuthenticationRequired")
    resp = check_spec(client.get(f"{API}/services", headers=auth))
    assert resp.json() == {"services": [], "links": []}
    assert_openeo_error(client.get(f"{API}/services/s1"), 401, "AuthenticationRequired")
    resp = check_spec(client.get(f"{API}/services/s1", headers=auth))
    assert_openeo_error(resp, 404, "ServiceNotFound")


# -- file uploads -----------------------------------------------------------------------------


def test_an_empty_upload_is_refused_and_stores_nothing(client, auth):
    url = f"{API}/files/empty/nothing.txt"
    for kwargs in ({}, {"content": b""}, {"content": iter([])}):  # no body, length 0, chunked
        resp = client.put(url, headers=auth, **kwargs)
        body = assert_openeo_error(resp, 400, "FileContentInvalid")
        assert "empty" in body["message"]
    assert_openeo_error(client.get(url, headers=auth), 404, "FileNotFound")
    paths = [f["path"] for f in client.get(f"{API}/files", headers=auth).json()["files"]]
    assert "empty/nothing.txt" not in paths


def test_an_empty_upload_leaves_a_stored_file_as_it_was(client, auth):
    url = f"{API}/files/kept.txt"
    assert client.put(url, headers=auth, content=b"content").status_code == 200
    assert_openeo_error(client.put(url, headers=auth, content=b""), 400, "FileContentInvalid")
    assert client.get(url, headers=auth).content == b"content"
    assert client.delete(url, headers=auth).status_code == 204


# -- request heads ----------------------------------------------------------------------------


def test_a_too_large_header_is_431(client, settings):
    limit = settings.limits.request_header_bytes
    resp = client.get(f"{API}/", headers={"X-Big": "a" * 100_000})
    body = assert_openeo_error(resp, 431, "RequestHeaderFieldsTooLarge")
    assert str(limit) in body["message"]
    # Just within the limit: served.
    assert client.get(f"{API}/", headers={"X-Big": "a" * (limit - 1000)}).status_code == 200


def test_a_too_long_url_is_414(client):
    resp = client.get(f"{API}/collections?limit=1&x=" + "a" * 40_000)
    assert_openeo_error(resp, 414, "UriTooLong")


# -- JSON bodies ------------------------------------------------------------------------------

JSON_ENDPOINTS = [
    ("POST", "/validation"),
    ("POST", "/result"),
    ("POST", "/jobs"),
    ("PATCH", "/jobs/j-nope"),
    ("PUT", "/process_graphs/p_edge"),
]


@pytest.mark.parametrize(("method", "path"), JSON_ENDPOINTS)
@pytest.mark.parametrize(
    "content_type",
    [
        "image/png",
        "multipart/form-data; boundary=x",
        "application/xml",
        "garbage",
        "application/json; charset=latin-1",
        "json",
    ],
)
def test_a_body_declared_as_something_else_than_json_is_415(
    client, auth, method, path, content_type
):
    resp = client.request(
        method,
        API + path,
        content=json.dumps({"process": ADD, **ADD}),
        headers={**auth, "Content-Type": content_type},
    )
    assert_openeo_error(resp, 415, "ContentTypeInvalid")


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "application/json",
        "application/json; charset=UTF-8",
        "application/vnd.openeo+json",
        "text/plain;charset=utf-8",
        "application/x-www-form-urlencoded",
    ],
)
def test_json_is_read_with_the_types_clients_send_it_with(client, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    resp = client.post(f"{API}/validation", content=json.dumps(ADD), headers=headers)
    assert resp.status_code == 200 and resp.json()["errors"] == [], resp.text


@pytest.mark.parametrize(("method", "path"), JSON_ENDPOINTS)
def test_a_body_that_is_not_utf8_is_json_invalid(client, auth, method, path):
    resp = client.request(
        method, API + path, content=b'{"process_graph": {"\xff\xfe": 1}}', headers=auth
    )
    assert_openeo_error(resp, 400, "JsonInvalid")


@pytest.mark.parametrize("path", ["/validation", "/result"])
@pytest.mark.parametrize(
    "graph",
    [
        {"a": {"process_id": "\ud800", "arguments": {}, "result": True}},
        {"a": {"process_id": "add", "arguments": {"x": 1, "y": "\udfff"}, "result": True}},
        {"\ud83d": {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": True}},
    ],
)
def test_a_lone_surrogate_is_json_invalid(client, auth, path, graph):
    # json.dumps escapes it ("\ud800"): valid JSON syntax, but no Unicode text.
    body = (
        {"process_graph": graph} if path == "/validation" else {"process": {"process_graph": graph}}
    )
    resp = client.post(API + path, content=json.dumps(body), headers=auth)
    body = assert_openeo_error(resp, 400, "JsonInvalid")
    assert "surrogate" in body["message"]


# -- credentials and bodies that never arrive -------------------------------------------------


def test_basic_credentials_that_are_not_ascii_are_invalid(client):
    # A header carries Latin-1 bytes; base64 of them is refused like any wrong credentials.
    resp = client.get(f"{API}/credentials/basic", headers={"Authorization": b"Basic \xff\xfe=="})
    assert_openeo_error(resp, 403, "CredentialsInvalid")


def test_a_body_that_never_arrives_is_no_server_error(client, auth, caplog):
    """The client goes away (or the server refused the body's framing and answered itself):
    nothing is answered and no error of ours is logged."""
    import asyncio

    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/openeo/1.2/jobs", "raw_path": b"/openeo/1.2/jobs",
        "query_string": b"", "root_path": "", "server": ("testserver", 80),
        "client": ("127.0.0.1", 1),
        "headers": [(b"host", b"testserver"), (b"content-length", b"100"),
                    (b"authorization", auth["Authorization"].encode())],
    }  # fmt: skip
    with caplog.at_level("INFO", logger="openeo_dedl.api"):
        asyncio.run(client.app(scope, receive, send))
    assert sent == []
    assert "client disconnected" in caplog.text
    assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text
