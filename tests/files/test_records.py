"""File records on both databases, and the workspace's own guarantees without HTTP."""

from __future__ import annotations

import pytest

from openeo_dedl.config import WorkspaceConfig
from openeo_dedl.errors import OpenEOError
from openeo_dedl.storage.db import Database
from openeo_dedl.storage.files import UserFiles
from openeo_dedl.storage.workspace import Workspace, clean_path, user_folder


@pytest.fixture
def files(database_url, tmp_path):
    db = Database(database_url)
    db.migrate()
    yield UserFiles(Workspace(str(tmp_path / "ws")), db, WorkspaceConfig(quota_bytes=100))
    db.dispose()


def put(files: UserFiles, user: str, path: str, data: bytes):
    upload = files.start_upload()
    try:
        upload.write(data)
        return files.publish(upload, user, path)
    finally:
        upload.discard()


def test_records_follow_uploads_and_deletes(files):
    put(files, "alice", "b/2.txt", b"22")
    put(files, "alice", "a.txt", b"1")
    put(files, "bob", "a.txt", b"bob")
    assert [(f.path, f.size) for f in files.list("alice")] == [("a.txt", 1), ("b/2.txt", 2)]
    put(files, "alice", "a.txt", b"longer")
    assert [(f.path, f.size) for f in files.list("alice")] == [("a.txt", 6), ("b/2.txt", 2)]
    files.delete("alice", "b/2.txt")
    assert [f.path for f in files.list("alice")] == ["a.txt"]
    assert [f.path for f in files.list("bob")] == ["a.txt"]
    # Listing the file system gives the same as the records.
    assert [(f.path, f.size) for f in files.workspace.list("alice")] == [("a.txt", 6)]


def test_quota_is_checked_when_publishing(files):
    put(files, "alice", "big.bin", b"x" * 90)
    assert files.upload_limit("alice", "other.bin") == 10
    assert files.upload_limit("alice", "big.bin") == 100
    with pytest.raises(OpenEOError) as info:
        put(files, "alice", "other.bin", b"x" * 11)
    assert info.value.code == "StorageQuotaExceeded"
    assert [f.path for f in files.list("alice")] == ["big.bin"]
    assert not any(files.workspace.fs.ls(f"{files.workspace.root}/tmp"))


def test_an_unpublished_upload_is_invisible(files):
    put(files, "alice", "doc.txt", b"v1")
    upload = files.start_upload()
    upload.write(b"v2 half")
    assert files.info("alice", "doc.txt").size == 2
    assert [f.size for f in files.workspace.list("alice")] == [2]
    upload.discard()
    assert files.info("alice", "doc.txt").size == 2


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/a",
        "a/",
        "a//b",
        "./a",
        "a/../b",
        "..",
        "a\\b",
        "a:b",
        "a'b",
        'a"b',
        "a\nb",
        "a*",
        "a?",
        "a[1]",
        "x" * 256,
        "/".join(["d"] * 600),
    ],
)
def test_clean_path_refuses(path):
    with pytest.raises(OpenEOError) as info:
        clean_path(path)
    assert info.value.code == "FilePathInvalid"


@pytest.mark.parametrize("path", ["a", "a/b/c.txt", "münster.shp", "%2e%2e", "...", "a b", "~x"])
def test_clean_path_accepts(path):
    assert clean_path(path) == path


def test_user_folders_are_single_safe_names():
    assert user_folder("alice") == "alice"
    assert user_folder("egi~abc~40x.org") == "egi~abc~40x.org"
    for odd in ("..", ".", "a/b", "x" * 300, "~h~abc", ""):
        folder = user_folder(odd)
        assert folder.startswith("~h~") and "/" not in folder
    assert user_folder("x" * 300) != user_folder("x" * 301)
