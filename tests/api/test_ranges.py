"""HEAD and byte ranges on stored files (api/ranges.py): the parser, and GET /files/{path}."""

from __future__ import annotations

import pytest

from openeo_dedl.api.ranges import ByteRange, Unsatisfiable, parse_range
from tests.api.conftest import assert_openeo_error

API = "/openeo/1.2"
BODY = bytes(range(256)) * 40  # 10240 bytes, every offset's byte is known


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99", ByteRange(0, 99)),
        ("bytes=100-", ByteRange(100, 999)),
        ("bytes=-10", ByteRange(990, 999)),
        ("bytes=-5000", ByteRange(0, 999)),  # a suffix longer than the file: all of it
        ("bytes=990-5000", ByteRange(990, 999)),  # clipped to the end
        ("BYTES = 5 - 5", ByteRange(5, 5)),
        (None, None),
        ("bytes=0-1,5-6", None),  # several ranges: the whole file (allowed by RFC 9110)
        ("items=0-1", None),
        ("bytes=9-3", None),  # invalid: ignored
        ("bytes=-", None),
        ("bytes=abc", None),
    ],
)
def test_parse_range(header, expected):
    assert parse_range(header, 1000) == expected


@pytest.mark.parametrize(("header", "size"), [("bytes=1000-", 1000), ("bytes=-0", 1000),
                                              ("bytes=0-", 0)])  # fmt: skip
def test_unsatisfiable_ranges(header, size):
    with pytest.raises(Unsatisfiable):
        parse_range(header, size)


@pytest.fixture
def stored(stub_client, stub_auth) -> str:
    resp = stub_client.put(f"{API}/files/maps/a.tif", content=BODY, headers=stub_auth)
    assert resp.status_code == 200, resp.text
    return f"{API}/files/maps/a.tif"


def test_file_head_has_the_get_headers_and_no_body(stub_client, stub_auth, stored):
    resp = stub_client.head(stored, headers=stub_auth)
    assert resp.status_code == 200
    assert resp.content == b""
    assert resp.headers["content-length"] == str(len(BODY))
    assert resp.headers["accept-ranges"] == "bytes"
    assert resp.headers["content-type"] == "application/octet-stream"


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [("bytes=0-99", 0, 99), ("bytes=10000-", 10000, 10239), ("bytes=-16", 10224, 10239),
     ("bytes=5000-999999", 5000, 10239)],
)  # fmt: skip
def test_file_range_is_206_with_those_bytes(stub_client, stub_auth, stored, header, start, end):
    resp = stub_client.get(stored, headers={**stub_auth, "Range": header})
    assert resp.status_code == 206, resp.text
    assert resp.content == BODY[start : end + 1]
    assert resp.headers["content-range"] == f"bytes {start}-{end}/{len(BODY)}"
    assert resp.headers["content-length"] == str(end - start + 1)
    assert resp.headers["accept-ranges"] == "bytes"


def test_file_range_past_the_end_is_416(stub_client, stub_auth, stored):
    resp = stub_client.get(stored, headers={**stub_auth, "Range": f"bytes={len(BODY)}-"})
    assert_openeo_error(resp, 416, "RangeNotSatisfiable")
    assert resp.headers["content-range"] == f"bytes */{len(BODY)}"


@pytest.mark.parametrize("extra", [{"Range": "bytes=0-1,5-6"}, {"Range": "bytes=9-3"},
                                   {"Range": "bytes=0-9", "If-Range": '"x"'}])  # fmt: skip
def test_ranges_this_server_ignores_get_the_whole_file(stub_client, stub_auth, stored, extra):
    resp = stub_client.get(stored, headers={**stub_auth, **extra})
    assert resp.status_code == 200
    assert resp.content == BODY
    assert "content-range" not in resp.headers


def test_browsers_may_read_the_range_headers(stub_client, stub_auth, stored):
    # The Web Editor runs on another origin: without Access-Control-Expose-Headers its GeoTIFF
    # reader could not see the file's size in Content-Range.
    origin = {"Origin": "https://editor.openeo.org"}
    preflight = stub_client.options(
        stored,
        headers={**origin, "Access-Control-Request-Method": "GET",
                 "Access-Control-Request-Headers": "authorization,range"},
    )  # fmt: skip
    assert preflight.status_code == 200
    assert "range" in preflight.headers["access-control-allow-headers"].lower()
    resp = stub_client.get(stored, headers={**stub_auth, **origin, "Range": "bytes=0-9"})
    assert resp.status_code == 206
    exposed = {h.strip().lower() for h in resp.headers["access-control-expose-headers"].split(",")}
    assert {"content-range", "accept-ranges", "content-length"} <= exposed
    assert resp.headers["access-control-allow-origin"] == origin["Origin"]
