"""User file workspaces on any fsspec file system: a folder per user, safe paths, atomic uploads.

Layout under the workspace URL::

    users/<user folder>/<path the user chose>
    tmp/<random>.part            uploads in progress, never visible to users

Paths are checked before they touch the file system (:func:`clean_path`): relative, ``/``
separated, no empty, ``.`` or ``..`` components, no backslashes, colons, quotes, control or glob
characters. On a local file system, symbolic links below a user's folder are never followed
(whoever planted them), and the resolved path must stay inside the folder.

An upload is written to ``tmp/`` first and moved into place only when complete (``os.replace`` on
a local disk; object stores publish an object only when it is complete), so a half-written file
is never visible, and a failed or refused upload leaves the previous version untouched.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO

import fsspec
from fsspec.implementations.local import LocalFileSystem

from openeo_dedl.errors import (
    FileNotFound,
    FileOperationUnsupported,
    FilePathInvalid,
    StorageFailure,
)
from openeo_dedl.formats import rfc3339

# The path rule is shared with planning, which finds bad literal paths before a run.
from openeo_dedl.locations import MAX_NAME_BYTES, MAX_PATH_BYTES, clean_path  # noqa: F401

logger = logging.getLogger(__name__)

_SAFE_FOLDER = re.compile(r"^[A-Za-z0-9_.~\-]{1,200}$")


@dataclass(frozen=True)
class FileInfo:
    """A workspace file as the API lists it."""

    path: str
    size: int
    modified: datetime

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "size": self.size,
            "modified": rfc3339(self.modified),
        }


def _invalid(reason: str) -> FilePathInvalid:
    return FilePathInvalid(f"File path is invalid: {reason}")


def user_folder(user_id: str) -> str:
    """The folder name of ``user_id``: the id itself when it is a plain, short name.

    Other ids (very long OIDC subjects) get ``~h~<sha256>``; no user id starts with ``~``.
    """
    if _SAFE_FOLDER.match(user_id) and user_id.strip(".") and not user_id.startswith("~"):
        return user_id
    return "~h~" + hashlib.sha256(user_id.encode()).hexdigest()


class Upload:
    """A file being uploaded: written to a private temporary path until published."""

    def __init__(self, workspace: Workspace):
        self.workspace = workspace
        self.tmp_path = f"{workspace.root}/tmp/{uuid.uuid4().hex}.part"
        self.size = 0
        self._file: IO[bytes] | None = workspace.fs.open(self.tmp_path, "wb")

    def write(self, chunk: bytes) -> None:
        assert self._file is not None, "upload already closed"
        self._file.write(chunk)
        self.size += len(chunk)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def discard(self) -> None:
        """Remove the temporary file (a no-op once it was published)."""
        with contextlib.suppress(Exception):
            self.close()
        with contextlib.suppress(FileNotFoundError, OSError):
            self.workspace.fs.rm_file(self.tmp_path)


class Workspace:
    """Every user's files under one fsspec URL."""

    def __init__(self, url: str, storage_options: dict | None = None):
        self.fs, root = fsspec.core.url_to_fs(url, **(storage_options or {}))
        self.root = root.rstrip("/") or "/"
        self.local = isinstance(self.fs, LocalFileSystem)
        if self.local:
            for sub in ("users", "tmp"):
                os.makedirs(f"{self.root}/{sub}", mode=0o700, exist_ok=True)

    # -- paths ----------------------------------------------------------------------------------
    def user_root(self, user_id: str) -> str:
        return f"{self.root}/users/{user_folder(user_id)}"

    def _full(self, user_id: str, path: str) -> str:
        """The storage path of a checked ``path``; on local disks, never through a link."""
        root = self.user_root(user_id)
        full = f"{root}/{clean_path(path)}"
        if self.local:
            self._check_no_links(root, full)
        return full

    @staticmethod
    def _check_no_links(root: str, full: str) -> None:
        current = root
        for part in full[len(root) + 1 :].split("/"):
            current = f"{current}/{part}"
            if os.path.islink(current):
                raise _invalid("it leads through a link, and links are not followed.")
        real_root = os.path.realpath(root)
        if not os.path.realpath(full).startswith(real_root + os.sep):
            raise _invalid("it points outside of your workspace.")

    # -- reading ----------------------------------------------------------------------------------
    def info(self, user_id: str, path: str) -> FileInfo:
        """The file at ``path``; FileNotFound, or FileOperationUnsupported for a folder."""
        full = self._full(user_id, path)
        try:
            info = self.fs.info(full)
        except FileNotFoundError:
            raise FileNotFound(f"File '{path}' does not exist.") from None
        if info.get("type") != "file":
            raise FileOperationUnsupported(
                f"'{path}' is a folder: only files can be downloaded or deleted."
            )
        return FileInfo(path=path, size=int(info.get("size") or 0), modified=_modified(info))

    def local_path(self, user_id: str, path: str) -> str | None:
        """The checked local path of ``path`` (None on remote file systems)."""
        return self._full(user_id, path) if self.local else None

    def open(self, user_id: str, path: str) -> IO[bytes]:
        return self.fs.open(self._full(user_id, path), "rb")

    def list(self, user_id: str) -> list[FileInfo]:
        """Every file of the user, read from the file system (links are skipped)."""
        root = self.user_root(user_id)
        try:
            found = self.fs.find(root, detail=True)
        except FileNotFoundError:
            return []
        files = []
        for full, info in sorted(found.items()):
            rel = full[len(root) + 1 :] if full.startswith(root + "/") else None
            if rel is None or info.get("type") != "file":
                continue
            try:
                if self.local:
                    self._check_no_links(root, full)
                clean_path(rel)
            except FilePathInvalid:
                continue
            files.append(FileInfo(rel, int(info.get("size") or 0), _modified(info)))
        return files

    # -- writing ----------------------------------------------------------------------------------
    def start_upload(self) -> Upload:
        if not self.local:
            self.fs.makedirs(f"{self.root}/tmp", exist_ok=True)
        return Upload(self)

    def publish(self, upload: Upload, user_id: str, path: str) -> FileInfo:
        """Move a complete upload to ``path`` (replacing a file there) and describe it."""
        upload.close()
        full = self._full(user_id, path)
        root = self.user_root(user_id)
        parts = path.split("/")
        current = root
        for part in parts[:-1]:
            current = f"{current}/{part}"
            if self.fs.isfile(current):
                raise _invalid(f"'{current[len(root) + 1 :]}' is a file, not a folder.")
        if self.fs.isdir(full):
            raise _invalid(f"'{path}' is an existing folder.")
        parent = full.rsplit("/", 1)[0]
        try:
            if self.local:
                os.makedirs(parent, mode=0o700, exist_ok=True)
                # The folders just made are ours, but check again: nothing may have raced a link in.
                self._check_no_links(root, full)
                os.replace(upload.tmp_path, full)
            else:
                self.fs.makedirs(parent, exist_ok=True)
                self.fs.mv(upload.tmp_path, full)
        except FilePathInvalid:
            raise
        except OSError as exc:
            logger.exception("cannot store %s for %s", path, user_id)
            raise StorageFailure("Unable to store the file due to a server error.") from exc
        return self.info(user_id, path)

    def delete(self, user_id: str, path: str) -> None:
        """Delete a file and the folders it leaves empty (FileNotFound if there is none)."""
        self.info(user_id, path)
        full = self._full(user_id, path)
        self.fs.rm_file(full)
        root = self.user_root(user_id)
        parent = full.rsplit("/", 1)[0]
        while parent != root and parent.startswith(root + "/"):
            try:
                if self.fs.ls(parent):
                    break
                self.fs.rmdir(parent)
            except (FileNotFoundError, OSError):
                break
            parent = parent.rsplit("/", 1)[0]


def _modified(info: dict) -> datetime:
    for key in ("mtime", "LastModified", "last_modified", "updated", "created"):
        value = info.get(key)
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value, UTC)
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.now(UTC)
