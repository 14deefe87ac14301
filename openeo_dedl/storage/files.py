"""User files: the bytes in a :class:`~openeo_dedl.storage.workspace.Workspace`, their metadata
(path, size, modified) as database records.

The records are what ``GET /files`` lists and what the storage quota counts (no listing of a
remote object store per request); reads, writes and deletes go to the workspace itself. Uploads
and deletions update both under a per-user lock, so the records follow the files.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import datetime
from typing import IO

from sqlalchemy import BigInteger, ForeignKey, String, delete, func, select
from sqlalchemy.orm import Mapped, mapped_column

from openeo_dedl.config import Settings, WorkspaceConfig
from openeo_dedl.errors import FileSizeExceeded, StorageQuotaExceeded
from openeo_dedl.storage.db import Base, Database, UTCDateTime, utcnow
from openeo_dedl.storage.users import ensure_user
from openeo_dedl.storage.workspace import FileInfo, Upload, Workspace, clean_path


class WorkspaceFile(Base):
    """Metadata of one file in a user's workspace."""

    __tablename__ = "workspace_files"

    user_id: Mapped[str] = mapped_column(
        String(255), ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True
    )
    # Relative to the user's folder, "/"-separated (checked by workspace.clean_path).
    path: Mapped[str] = mapped_column(String(1024), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    modified: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def info(self) -> FileInfo:
        return FileInfo(path=self.path, size=self.size, modified=self.modified)


class UserFiles:
    """The ``/files`` operations of every user."""

    def __init__(self, workspace: Workspace, database: Database, config: WorkspaceConfig):
        self.workspace = workspace
        self.database = database
        self.config = config
        self._locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)

    @classmethod
    def of(cls, settings: Settings, database: Database) -> UserFiles:
        """The files of ``settings``' workspace, their records in ``database``."""
        workspace = Workspace(settings.workspace_url, settings.workspace.storage_options)
        return cls(workspace, database, settings.workspace)

    def list(self, user_id: str) -> list[FileInfo]:
        with self.database.session() as s:
            rows = s.scalars(select(WorkspaceFile).where(WorkspaceFile.user_id == user_id)).all()
            # Sorted here, not by the database: collations differ between SQLite and PostgreSQL.
            return sorted((r.info() for r in rows), key=lambda f: f.path)

    def _used(self, user_id: str, except_path: str) -> int:
        with self.database.session() as s:
            total = s.scalar(
                select(func.coalesce(func.sum(WorkspaceFile.size), 0)).where(
                    WorkspaceFile.user_id == user_id, WorkspaceFile.path != except_path
                )
            )
        return int(total or 0)

    def upload_limit(self, user_id: str, path: str) -> int:
        """How many bytes an upload to ``path`` may have (file size limit and quota)."""
        clean_path(path)
        limit = self.config.max_file_bytes
        if self.config.quota_bytes is not None:
            limit = min(limit, self.config.quota_bytes - self._used(user_id, path))
        return max(limit, 0)

    def too_large(self, user_id: str, path: str) -> Exception:
        """The error for an upload that went past :meth:`upload_limit`."""
        if (
            self.config.quota_bytes is not None
            and self.upload_limit(user_id, path) < self.config.max_file_bytes
        ):
            return StorageQuotaExceeded(
                f"Your storage quota of {self.config.quota_bytes} bytes has been exceeded."
            )
        return FileSizeExceeded(
            f"File size is too large. Maximum file size: {self.config.max_file_bytes} bytes."
        )

    def start_upload(self) -> Upload:
        return self.workspace.start_upload()

    def publish(self, upload: Upload, user_id: str, path: str) -> FileInfo:
        """Make a complete upload the file at ``path`` and record it."""
        with self._locks[user_id]:
            if upload.size > self.upload_limit(user_id, path):
                # Another upload of the same user filled the quota meanwhile.
                raise self.too_large(user_id, path)
            info = self.workspace.publish(upload, user_id, path)
            with self.database.session() as s:
                ensure_user(s, user_id)
                s.merge(
                    WorkspaceFile(
                        user_id=user_id, path=path, size=info.size, modified=info.modified
                    )
                )
            return info

    def info(self, user_id: str, path: str) -> FileInfo:
        return self.workspace.info(user_id, path)

    def local_path(self, user_id: str, path: str) -> str | None:
        """The file's path on this machine's disk, None when the workspace is remote."""
        return self.workspace.local_path(user_id, path)

    def open(self, user_id: str, path: str) -> IO[bytes]:
        """The file, open for reading bytes."""
        return self.workspace.open(user_id, path)

    def delete(self, user_id: str, path: str) -> None:
        with self._locks[user_id]:
            self.workspace.delete(user_id, path)
            with self.database.session() as s:
                s.execute(
                    delete(WorkspaceFile).where(
                        WorkspaceFile.user_id == user_id, WorkspaceFile.path == path
                    )
                )
