"""The resolver's decisions (execution/access.py), with DNS answered by the test.

Loopback is refused by the policy, so a listener on 127.0.0.1 can serve an *allowed* URL only
if the test decides what the URL's host resolves to: here ``data.example.org`` resolves to a
public address (``PUBLIC``) and the TCP connection to that very address is carried to the local
listener. The policy's checks run unchanged on what DNS answered.
"""

from __future__ import annotations

import json
import socket
import time

import pytest

from openeo_dedl.config import Settings
from openeo_dedl.errors import OpenEOError
from openeo_dedl.execution.access import (
    DataAccess,
    Refused,
    UrlPrefix,
    is_public_address,
)
from openeo_dedl.storage.workspace import Workspace
from tests.security.conftest import POLYGON, wait_briefly

PUBLIC = "93.184.215.14"
HOST = "data.example.org"


class FakeDns:
    """Host name -> addresses, recording every lookup."""

    def __init__(self, answers: dict[str, list[str]]):
        self.answers = answers
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        return self.answers.get(host, [])


def access_with(allowed: list[str], dns: FakeDns | None = None, **kwargs) -> DataAccess:
    return DataAccess(
        allowed_urls=tuple(UrlPrefix.parse(u) for u in allowed),
        resolve=dns or FakeDns({}),
        **kwargs,
    )


def refused(access: DataAccess, url: str) -> bool:
    try:
        access.check_url(url)
    except Refused:
        return True
    return False


# -- addresses --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.255.0.9",
        "::1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "100.64.0.1",  # carrier-grade NAT
        "169.254.169.254",  # cloud metadata
        "fe80::1",
        "fc00::1",
        "0.0.0.0",
        "::",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "198.18.0.1",
        "fe80::1%eth0",
        "not-an-address",
    ],
)
def test_non_public_addresses_are_not_public(address):
    assert not is_public_address(address)


@pytest.mark.parametrize("address", [PUBLIC, "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are_public(address):
    assert is_public_address(address)


# -- the allow-list ---------------------------------------------------------------------------


def test_without_an_allow_list_every_url_is_refused_without_a_lookup():
    dns = FakeDns({HOST: [PUBLIC]})
    access = access_with([], dns)
    for url in (f"https://{HOST}/geo.json", f"http://{HOST}/", "https://8.8.8.8/x"):
        assert refused(access, url)
    assert dns.lookups == []


def test_only_urls_under_an_allowed_prefix_are_permitted():
    dns = FakeDns({HOST: [PUBLIC], f"{HOST}.evil.com": [PUBLIC], "evil.com": [PUBLIC]})
    access = access_with([f"https://{HOST}/geo/"], dns)
    target = access.check_url(f"https://{HOST}/geo/regions.json?v=2")
    assert (target.host, target.port, target.addresses) == (HOST, 443, (PUBLIC,))
    assert target.request_path == "/geo/regions.json?v=2"
    assert not refused(access, f"https://{HOST.upper()}:443/geo/a.json")
    for url in (
        f"http://{HOST}/geo/a.json",  # another scheme
        f"https://{HOST}:8443/geo/a.json",  # another port
        f"https://{HOST}/geometries/a.json",  # not under the prefix
        f"https://{HOST}/geo",  # the folder itself, without its slash
        f"https://{HOST}.evil.com/geo/a.json",  # a longer host name
        f"https://{HOST}@evil.com/geo/a.json",  # credentials: the host is evil.com
        f"https://user:pw@{HOST}/geo/a.json",
        f"https://{HOST}/geo/../private/a.json",  # dot segments leave the prefix
        f"https://{HOST}/geo/%2e%2e/private/a.json",
        f"https://{HOST}/geo/a.json\\..",
        f"ftp://{HOST}/geo/a.json",
        f"file://{HOST}/geo/a.json",
    ):
        assert refused(access, url), url
    # Only the permitted URLs were looked up.
    assert set(dns.lookups) == {HOST}


def test_a_prefix_without_a_trailing_slash_ends_at_a_segment():
    access = access_with([f"https://{HOST}/geo.json"], FakeDns({HOST: [PUBLIC]}))
    assert not refused(access, f"https://{HOST}/geo.json")
    assert not refused(access, f"https://{HOST}/geo.json/inner")
    assert refused(access, f"https://{HOST}/geo.json.bak")


@pytest.mark.parametrize(
    "addresses",
    [["127.0.0.1"], ["10.0.0.5"], ["169.254.169.254"], ["::1"], [PUBLIC, "192.168.0.7"], []],
)
def test_an_allowed_host_resolving_to_a_non_public_address_is_refused(addresses):
    access = access_with([f"https://{HOST}/"], FakeDns({HOST: addresses}))
    with pytest.raises(OpenEOError) as error:
        access.read(f"https://{HOST}/geo.json", "aggregate_spatial", "geometries")
    assert error.value.status == 400 and error.value.code == "ProcessParameterInvalid"


def test_allowed_literal_loopback_and_private_addresses_stay_refused():
    allowed = [
        "http://127.0.0.1:8080/",
        "http://[::1]/",
        "http://169.254.169.254/",
        "http://10.0.0.1/",
    ]
    dns = FakeDns({})
    access = access_with(allowed, dns)
    for url in ("http://127.0.0.1:8080/x", "http://[::1]/x", "http://169.254.169.254/latest",
                "http://10.0.0.1/x"):  # fmt: skip
        assert refused(access, url), url
    assert dns.lookups == []  # literal addresses are never looked up


@pytest.mark.parametrize(
    "prefix",
    ["ftp://host/", "file:///etc/", "https:///path", "https://u:p@host/", "https://host/?q=1",
     "https://host/#f", "https://host:99999/", "host/path"],
)  # fmt: skip
def test_bad_allowed_urls_are_configuration_errors(prefix):
    with pytest.raises(ValueError):
        UrlPrefix.parse(prefix)
    with pytest.raises(ValueError):
        Settings(security={"allowed_urls": [prefix]})


# -- fetching an allowed URL ------------------------------------------------------------------


def fetching_access(listener, allowed: list[str], **kwargs) -> DataAccess:
    """Access where HOST resolves to PUBLIC, and connections to PUBLIC reach ``listener``."""
    connected: list[str] = []

    def connect(address: str, port: int, timeout: float) -> socket.socket:
        connected.append(address)
        assert address == PUBLIC, address  # only ever the address that was checked
        return socket.create_connection(("127.0.0.1", listener.port), timeout=timeout)

    access = access_with(allowed, FakeDns({HOST: [PUBLIC]}), connect=connect, **kwargs)
    access.connected = connected  # type: ignore[attr-defined]
    return access


def test_an_allowed_url_is_read_with_the_host_name_in_the_request(listener):
    access = fetching_access(listener, [f"http://{HOST}:{listener.port}/geo/"])
    data = access.geojson(f"http://{HOST}:{listener.port}/geo/a.json", "p", "geometries")
    assert data == POLYGON
    [(path, headers)] = listener.requests
    assert path == "/geo/a.json"
    assert headers["Host"] == f"{HOST}:{listener.port}"


def _redirect(location: str):
    def route(handler):
        handler.send_response(302)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return route


def test_a_redirect_is_checked_again(listener):
    base = f"http://{HOST}:{listener.port}"
    listener.routes["/geo/moved.json"] = _redirect("/geo/a.json")
    listener.routes["/geo/out.json"] = _redirect("/private/a.json")
    listener.routes["/geo/loop.json"] = _redirect(f"http://127.0.0.1:{listener.port}/secret")
    listener.routes["/geo/meta.json"] = _redirect("http://169.254.169.254/latest/meta-data")
    listener.routes["/geo/file.json"] = _redirect("file:///etc/passwd")
    access = fetching_access(listener, [f"{base}/geo/"])

    assert access.geojson(f"{base}/geo/moved.json", "p", "g") == POLYGON
    expected = DataAccess.refusal("p", "g").message
    for start in ("out", "loop", "meta", "file"):
        with pytest.raises(OpenEOError) as error:
            access.read(f"{base}/geo/{start}.json", "p", "g")
        assert error.value.message == expected
    wait_briefly()
    paths = [p for p, _ in listener.requests]
    assert paths == ["/geo/moved.json", "/geo/a.json", "/geo/out.json", "/geo/loop.json",
                     "/geo/meta.json", "/geo/file.json"]  # fmt: skip
    assert set(access.connected) == {PUBLIC}


def test_redirect_loops_end(listener):
    base = f"http://{HOST}:{listener.port}"
    listener.routes["/geo/a"] = _redirect("/geo/b")
    listener.routes["/geo/b"] = _redirect("/geo/a")
    access = fetching_access(listener, [f"{base}/geo/"])
    with pytest.raises(OpenEOError) as error:
        access.read(f"{base}/geo/a", "p", "g")
    assert error.value.message == DataAccess.unreadable("p", "g").message
    assert len(listener.requests) == 6


def _body(chunks: list[bytes], delay: float = 0.0, length: int | None = None):
    def route(handler):
        handler.send_response(200)
        if length is not None:
            handler.send_header("Content-Length", str(length))
        handler.end_headers()
        for chunk in chunks:
            handler.wfile.write(chunk)
            handler.wfile.flush()
            time.sleep(delay)

    return route


@pytest.mark.serial  # bounds wall-clock time: runs alone, after the others
def test_downloads_are_bounded_in_size_and_time(listener):
    base = f"http://{HOST}:{listener.port}"
    listener.routes["/geo/declared"] = _body([b"{}"], length=10_000)
    listener.routes["/geo/endless"] = _body([b" " * 1000] * 20)  # no Content-Length
    listener.routes["/geo/slow"] = _body([b" "] * 50, delay=0.1)
    listener.routes["/geo/small"] = _body([json.dumps(POLYGON).encode()])
    listener.routes["/geo/missing"] = lambda h: (h.send_response(404), h.end_headers())
    access = fetching_access(listener, [f"{base}/geo/"], max_bytes=5000, timeout=1.0)

    assert access.geojson(f"{base}/geo/small", "p", "g") == POLYGON
    unreadable = DataAccess.unreadable("p", "g").message
    for path in ("declared", "endless", "slow", "missing"):
        started = time.monotonic()
        with pytest.raises(OpenEOError) as error:
            access.read(f"{base}/geo/{path}", "p", "g")
        assert error.value.message == unreadable, path
        assert time.monotonic() - started < 2.5, path


# -- workspace files --------------------------------------------------------------------------


@pytest.fixture
def workspace(tmp_path) -> Workspace:
    ws = Workspace(str(tmp_path / "workspace"))
    for user, path in (("alice", "mine.geojson"), ("bob", "secret.geojson")):
        upload = ws.start_upload()
        upload.write(json.dumps(POLYGON).encode())
        ws.publish(upload, user, path)
    return ws


def test_a_user_reads_only_own_files_by_relative_path(workspace):
    alice = DataAccess(user="alice", workspace=workspace)
    assert alice.geojson("mine.geojson", "p", "g") == POLYGON
    refusal = DataAccess.refusal("p", "g").message
    bob_file = f"{workspace.root}/users/bob/secret.geojson"
    for location in (
        "../bob/secret.geojson",
        "./mine.geojson",
        "/etc/passwd",
        bob_file,
        f"file://{bob_file}",
        "file:///etc/passwd",
        "users/../../bob/secret.geojson",
    ):
        with pytest.raises(OpenEOError) as error:
            alice.read(location, "p", "g")
        assert error.value.message == refusal, location
    # bob's file name in alice's workspace: simply not one of hers.
    with pytest.raises(OpenEOError) as error:
        alice.read("secret.geojson", "p", "g")
    assert error.value.message == DataAccess.unreadable("p", "g").message


def test_without_a_user_no_file_is_readable(workspace):
    with pytest.raises(OpenEOError) as error:
        DataAccess(workspace=workspace).read("mine.geojson", "p", "g")
    assert error.value.message == DataAccess.refusal("p", "g").message


def test_files_are_bounded_in_size(workspace):
    alice = DataAccess(user="alice", workspace=workspace, max_bytes=10)
    with pytest.raises(OpenEOError) as error:
        alice.read("mine.geojson", "p", "g")
    assert error.value.message == DataAccess.unreadable("p", "g").message
