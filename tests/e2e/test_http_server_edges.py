"""What the real server (uvicorn, as `openeo-dedl serve` runs it) answers to requests at the edge
of HTTP: too large heads and unparsable requests get openEO error JSON, not a reset connection."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlparse

import pytest
import requests

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("size", [40_000, 100_000, 300_000, 1_000_000])
def test_a_too_large_header_is_431_not_a_reset(server, size):
    # Sizes past the server's read buffer (256 KiB) are refused while the header still
    # arrives: the answer must reach the client all the same.
    for _ in range(3):
        resp = requests.get(f"{server}/openeo/1.2/", headers={"X-Big": "a" * size}, timeout=30)
        assert resp.status_code == 431, resp.text
        assert resp.json()["code"] == "RequestHeaderFieldsTooLarge"


def test_many_headers_together_too_large_are_431(server):
    headers = {f"X-H{i}": "b" * 1000 for i in range(100)}
    resp = requests.get(f"{server}/openeo/1.2/", headers=headers, timeout=30)
    assert resp.status_code == 431 and resp.json()["code"] == "RequestHeaderFieldsTooLarge"


def test_a_too_long_request_line_is_414(server):
    resp = requests.get(f"{server}/openeo/1.2/collections?x=" + "a" * 500_000, timeout=30)
    assert resp.status_code == 414 and resp.json()["code"] == "UriTooLong"


def _raw(server: str, data: bytes) -> bytes:
    url = urlparse(server)
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_an_unparsable_request_is_400_openeo_json(server):
    answer = _raw(server, b"GET /openeo/1.2/ HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 "), answer
    assert b"content-type: application/json" in head.lower()
    assert json.loads(body)["code"] == "BadRequest"


def test_the_server_serves_on_after_refusing(server):
    requests.get(f"{server}/openeo/1.2/", headers={"X-Big": "a" * 1_000_000}, timeout=30)
    assert requests.get(f"{server}/openeo/1.2/", timeout=30).status_code == 200


def test_trace_is_405_with_every_method_of_the_path(server):
    resp = requests.request("TRACE", f"{server}/openeo/1.2/jobs", timeout=30)
    assert resp.status_code == 405
    assert resp.headers["Allow"] == "GET, HEAD, OPTIONS, POST"
    assert resp.json()["code"] == "MethodNotAllowed"


def test_a_body_with_broken_chunked_framing_is_400_openeo_json(server, connection):
    token = connection.auth.bearer
    answer = _raw(
        server,
        b"POST /openeo/1.2/jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        + f"Authorization: Bearer {token}\r\n\r\nzz\r\n".encode(),
    )
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 "), answer
    assert json.loads(body)["code"] == "BadRequest"
    # One answer only: the app, which saw the request, sends none after it.
    assert answer.count(b"\r\n\r\n") == 1 and b"HTTP/1.1 5" not in answer, answer
