"""/files: upload, list, download, delete; limits; paths that try to leave the user's folder."""

from __future__ import annotations

import http.client
import os
from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests

from openeo_dedl.storage.workspace import Workspace
from tests.api.conftest import assert_openeo_error
from tests.files.conftest import MAX_FILE_BYTES, QUOTA_BYTES
from tests.support.users import USERS, login
from tests.support.waiting import wait_until

API = "/openeo/1.2"


def tree(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` (links not followed) with its content."""
    out = {}
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            p = Path(dirpath, name)
            if not p.is_symlink():
                out[str(p.relative_to(root))] = p.read_bytes()
    return out


def test_upload_list_download_replace_delete(client, alice, workspace_dir, check_spec):
    assert check_spec(client.get(f"{API}/files", headers=alice)).json() == {
        "files": [],
        "links": [],
    }
    # (The spec validator cannot match paths with folders: OpenAPI path parameters have no "/".)
    resp = client.put(f"{API}/files/europe/österreich/münster.txt", content=b"hello", headers=alice)
    assert resp.status_code == 200
    meta = resp.json()
    assert meta["path"] == "europe/österreich/münster.txt" and meta["size"] == 5
    assert meta["modified"].endswith("Z")
    check_spec(client.put(f"{API}/files/b.bin", content=bytes(range(256)) * 4, headers=alice))

    listing = check_spec(client.get(f"{API}/files", headers=alice)).json()
    assert [(f["path"], f["size"]) for f in listing["files"]] == [
        ("b.bin", 1024),
        ("europe/österreich/münster.txt", 5),
    ]
    got = client.get(f"{API}/files/b.bin", headers=alice)
    assert got.status_code == 200 and got.content == bytes(range(256)) * 4
    assert got.headers["content-type"] == "application/octet-stream"
    # Percent-encoded names (as the spec asks clients to send them) reach the same file.
    encoded = client.get(f"{API}/files/europe/%C3%B6sterreich/m%C3%BCnster.txt", headers=alice)
    assert encoded.content == b"hello"

    client.put(f"{API}/files/b.bin", content=b"new", headers=alice)
    assert client.get(f"{API}/files/b.bin", headers=alice).content == b"new"
    sizes = {
        f["path"]: f["size"] for f in client.get(f"{API}/files", headers=alice).json()["files"]
    }
    assert sizes["b.bin"] == 3

    assert (
        client.delete(f"{API}/files/europe/österreich/münster.txt", headers=alice).status_code
        == 204
    )
    # Folders left empty are removed; the listing follows.
    assert not (workspace_dir / "users" / "alice" / "europe").exists()
    paths = [f["path"] for f in client.get(f"{API}/files", headers=alice).json()["files"]]
    assert paths == ["b.bin"]
    assert_openeo_error(
        client.get(f"{API}/files/europe/österreich/münster.txt", headers=alice), 404, "FileNotFound"
    )
    assert_openeo_error(
        client.delete(f"{API}/files/nothing.txt", headers=alice), 404, "FileNotFound"
    )


def test_files_need_authentication(client):
    for method, path in (
        ("GET", "/files"),
        ("GET", "/files/a"),
        ("PUT", "/files/a"),
        ("DELETE", "/files/a"),
    ):
        resp = client.request(method, f"{API}{path}", content=b"x" if method == "PUT" else None)
        assert_openeo_error(resp, 401, "AuthenticationRequired")


def test_listing_is_paginated(client, alice):
    for i in range(5):
        client.put(f"{API}/files/f{i}.txt", content=b"x", headers=alice)
    first = client.get(f"{API}/files?limit=2", headers=alice).json()
    assert [f["path"] for f in first["files"]] == ["f0.txt", "f1.txt"]
    nxt = next(link["href"] for link in first["links"] if link["rel"] == "next")
    second = client.get(nxt, headers=alice).json()
    assert [f["path"] for f in second["files"]] == ["f2.txt", "f3.txt"]


def test_folders_are_not_files(client, alice):
    client.put(f"{API}/files/dir/inner.txt", content=b"x", headers=alice)
    assert_openeo_error(
        client.get(f"{API}/files/dir", headers=alice), 400, "FileOperationUnsupported"
    )
    assert_openeo_error(
        client.delete(f"{API}/files/dir", headers=alice), 400, "FileOperationUnsupported"
    )
    assert_openeo_error(
        client.put(f"{API}/files/dir", content=b"y", headers=alice), 400, "FilePathInvalid"
    )
    assert_openeo_error(
        client.put(f"{API}/files/dir/inner.txt/deeper", content=b"y", headers=alice),
        400,
        "FilePathInvalid",
    )
    assert client.get(f"{API}/files/dir/inner.txt", headers=alice).content == b"x"


# Paths as they appear in the URL after /files/ (the server percent-decodes them once).
ESCAPES = [
    "%2e%2e/bob/secret.txt",
    "..%2fbob%2fsecret.txt",
    "%2e%2e%2f%2e%2e%2f%2e%2e%2fescaped.txt",
    "a/%2e%2e/%2e%2e/escaped.txt",
    "a/%2E%2E/%2E%2E/%2E%2E/escaped.txt",
    "%2fetc%2fpasswd",
    "/tmp/escaped.txt",
    "..%5c..%5cescaped.txt",
    "a%5cb.txt",
    "C:%5cescaped.txt",
    "c:/escaped.txt",
    "a%00b.txt",
    "a%0ab.txt",
    "%2e",
    "a/%2e/b.txt",
    "a//b.txt",
    "dir/",
    "x" * 256,
    "star*.txt",
]


@pytest.mark.parametrize("raw", ESCAPES)
def test_paths_that_try_to_escape_are_refused(client, alice, bob, workspace_dir, raw):
    client.put(f"{API}/files/secret.txt", content=b"bob's", headers=bob)
    before = tree(workspace_dir.parent)
    for method in ("PUT", "GET", "DELETE"):
        resp = client.request(
            method,
            f"{API}/files/{raw}",
            headers=alice,
            content=b"evil" if method == "PUT" else None,
        )
        assert resp.status_code in (400, 404), (method, raw, resp.status_code, resp.text)
        assert resp.json()["code"] in ("FilePathInvalid", "NotFound", "FileNotFound"), resp.text
    assert tree(workspace_dir.parent) == before
    assert client.get(f"{API}/files/secret.txt", headers=bob).content == b"bob's"


def test_raw_dot_segments_on_the_wire_are_refused(live_url, settings, tmp_path):
    """Sent by a client that does not normalise URLs (http.client sends what it is given)."""
    s = requests.Session()
    token = s.get(f"{live_url}/credentials/basic", auth=("alice", USERS["alice"])).json()[
        "access_token"
    ]
    url = urlparse(live_url)
    secret = Path(settings.workspace_url) / "users" / "bob" / "secret.txt"
    secret.parent.mkdir(parents=True)
    secret.write_bytes(b"bob's")
    for raw in (
        "../bob/secret.txt",
        "a/../../bob/secret.txt",
        "..%2f..%2fbob/secret.txt",
        "a/..\\..\\bob\\secret.txt",
        "./../bob/secret.txt",
    ):
        for method in ("GET", "PUT", "DELETE"):
            conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
            conn.request(
                method,
                f"{url.path}/files/{raw}",
                body=b"evil" if method == "PUT" else None,
                headers={"Authorization": f"Bearer basic//{token}"},
            )
            resp = conn.getresponse()
            body = resp.read()
            conn.close()
            assert resp.status in (400, 404), (method, raw, resp.status, body)
            assert b"bob's" not in body
    assert secret.read_bytes() == b"bob's"


def test_an_encoded_percent_is_just_a_name(live_url, workspace_dir):
    # On the wire (uvicorn decodes once) %252e%252e is the literal name "%2e%2e": a folder inside
    # alice's, harmless. (Starlette's TestClient decodes twice, hence a real server here.)
    s = requests.Session()
    token = s.get(f"{live_url}/credentials/basic", auth=("alice", USERS["alice"])).json()[
        "access_token"
    ]
    s.headers["Authorization"] = f"Bearer basic//{token}"
    resp = s.put(f"{live_url}/files/%252e%252e/x.txt", data=b"ok")
    assert resp.status_code == 200, resp.text
    assert resp.json()["path"] == "%2e%2e/x.txt"
    assert (workspace_dir / "users" / "alice" / "%2e%2e" / "x.txt").read_bytes() == b"ok"


def test_links_out_of_the_folder_are_not_followed(client, alice, bob, workspace_dir, tmp_path):
    client.put(f"{API}/files/mine.txt", content=b"mine", headers=alice)
    client.put(f"{API}/files/secret.txt", content=b"bob's", headers=bob)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "target.txt").write_bytes(b"outside")
    home = workspace_dir / "users" / "alice"
    os.symlink(outside / "target.txt", home / "file-link")
    os.symlink(outside, home / "dir-link")
    os.symlink(workspace_dir / "users" / "bob", home / "bob-link")
    os.symlink("/etc/passwd", home / "passwd")
    before = (tree(outside), tree(workspace_dir))

    for path in ("file-link", "dir-link/target.txt", "bob-link/secret.txt", "passwd"):
        for method in ("GET", "PUT", "DELETE"):
            resp = client.request(
                method,
                f"{API}/files/{path}",
                headers=alice,
                content=b"evil" if method == "PUT" else None,
            )
            assert_openeo_error(resp, 400, "FilePathInvalid")
    resp = client.put(f"{API}/files/dir-link/new.txt", content=b"evil", headers=alice)
    assert_openeo_error(resp, 400, "FilePathInvalid")
    assert (tree(outside), tree(workspace_dir)) == before
    assert (outside / "target.txt").read_bytes() == b"outside"
    assert client.get(f"{API}/files/secret.txt", headers=bob).content == b"bob's"
    # The workspace's own listing (from the file system) skips the links too.
    ws = Workspace(str(workspace_dir))
    assert [f.path for f in ws.list("alice")] == ["mine.txt"]


def test_too_large_uploads_are_refused_and_leave_nothing(client, alice, workspace_dir):
    client.put(f"{API}/files/keep.bin", content=b"old", headers=alice)
    big = b"x" * (MAX_FILE_BYTES + 1)
    assert_openeo_error(
        client.put(f"{API}/files/keep.bin", content=big, headers=alice), 413, "FileSizeExceeded"
    )
    assert_openeo_error(
        client.put(f"{API}/files/new.bin", content=big, headers=alice), 413, "FileSizeExceeded"
    )
    assert client.get(f"{API}/files/keep.bin", headers=alice).content == b"old"
    assert_openeo_error(client.get(f"{API}/files/new.bin", headers=alice), 404, "FileNotFound")
    assert list((workspace_dir / "tmp").iterdir()) == []
    exact = b"y" * MAX_FILE_BYTES
    assert client.put(f"{API}/files/exact.bin", content=exact, headers=alice).status_code == 200


def test_streamed_upload_without_length_is_cut_at_the_limit(live_url, settings):
    s = requests.Session()
    token = s.get(f"{live_url}/credentials/basic", auth=("alice", USERS["alice"])).json()[
        "access_token"
    ]
    s.headers["Authorization"] = f"Bearer basic//{token}"

    def body():
        for _ in range(20):
            yield b"z" * 1000  # 20 kB in chunks; no Content-Length (chunked encoding)

    try:
        resp = s.put(f"{live_url}/files/stream.bin", data=body())
        assert resp.status_code == 413, resp.text
        assert resp.json()["code"] == "FileSizeExceeded"
    except requests.ConnectionError:
        pass  # the server may close the connection while the client still sends: also a refusal
    assert s.get(f"{live_url}/files/stream.bin").status_code == 404
    assert list((Path(settings.workspace_url) / "tmp").iterdir()) == []


def test_half_written_files_are_never_visible(live_url, settings):
    s = requests.Session()
    token = s.get(f"{live_url}/credentials/basic", auth=("alice", USERS["alice"])).json()[
        "access_token"
    ]
    s.headers["Authorization"] = f"Bearer basic//{token}"
    s.put(f"{live_url}/files/doc.txt", data=b"version 1")
    seen = []

    def body():
        yield b"version 2, part 1; "
        # The upload is under way: others still see the old version, whole.
        other = requests.Session()
        other.headers.update(s.headers)
        seen.append(other.get(f"{live_url}/files/doc.txt").content)
        seen.append([f["size"] for f in other.get(f"{live_url}/files").json()["files"]])
        yield b"part 2"

    assert s.put(f"{live_url}/files/doc.txt", data=body()).status_code == 200
    assert seen == [b"version 1", [9]]
    assert s.get(f"{live_url}/files/doc.txt").content == b"version 2, part 1; part 2"


def test_interrupted_upload_leaves_nothing(live_url, settings):
    s = requests.Session()
    token = s.get(f"{live_url}/credentials/basic", auth=("alice", USERS["alice"])).json()[
        "access_token"
    ]
    s.headers["Authorization"] = f"Bearer basic//{token}"
    s.get(f"{live_url}/files")  # the workspace exists from here on
    tmp = Path(settings.workspace_url) / "tmp"
    url = urlparse(live_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    conn.putrequest("PUT", f"{url.path}/files/cut.bin")
    conn.putheader("Authorization", f"Bearer basic//{token}")
    conn.putheader("Content-Length", "5000")
    conn.endheaders()
    conn.send(b"a" * 1000)
    # Wait until the server writes the upload (to its temporary file), then go away.
    assert wait_until(lambda: list(tmp.iterdir()), 10, every=0.05), "the upload never started"
    assert s.get(f"{live_url}/files/cut.bin").status_code == 404
    conn.close()
    assert wait_until(lambda: not list(tmp.iterdir()), 10, every=0.05), (
        "the temporary file was left behind"
    )
    assert s.get(f"{live_url}/files/cut.bin").status_code == 404


def test_quota_counts_all_files_of_the_user(client, alice, bob):
    chunk = b"q" * 9_000
    for i in range(2):
        assert client.put(f"{API}/files/q{i}.bin", content=chunk, headers=alice).status_code == 200
    # 18 000 used of 25 000: another 9 000 does not fit, replacing a file with a bigger one does.
    assert_openeo_error(
        client.put(f"{API}/files/q2.bin", content=chunk, headers=alice), 400, "StorageQuotaExceeded"
    )
    assert (
        client.put(f"{API}/files/q1.bin", content=b"q" * 10_000, headers=alice).status_code == 200
    )
    assert client.put(f"{API}/files/q2.bin", content=chunk, headers=bob).status_code == 200
    client.delete(f"{API}/files/q0.bin", headers=alice)
    assert client.put(f"{API}/files/q2.bin", content=chunk, headers=alice).status_code == 200
    assert (
        sum(f["size"] for f in client.get(f"{API}/files", headers=alice).json()["files"])
        <= QUOTA_BYTES
    )


def test_records_survive_a_restart(settings, client, alice):
    from fastapi.testclient import TestClient

    from openeo_dedl.api.app import create_app
    from tests.api.conftest import StubBackend

    client.put(f"{API}/files/persist/me.txt", content=b"still here", headers=alice)
    with TestClient(create_app(settings, StubBackend(settings))) as again:
        auth = login(again, "alice")
        files = again.get(f"{API}/files", headers=auth).json()["files"]
        assert [(f["path"], f["size"]) for f in files] == [("persist/me.txt", 10)]
        assert again.get(f"{API}/files/persist/me.txt", headers=auth).content == b"still here"
