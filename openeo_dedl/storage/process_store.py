"""Stored user-defined processes (`/process_graphs`): one record per user and process id."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from openeo_dedl.storage.db import Base, Database, UTCDateTime, utcnow
from openeo_dedl.storage.users import ensure_user


class UserProcess(Base):
    """A stored user-defined process: the whole openEO process object as the user sent it."""

    __tablename__ = "user_processes"

    user_id: Mapped[str] = mapped_column(
        String(255), ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True
    )
    # The process id (openEO pattern ^\w+$), unique per user.
    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    # {"id", "process_graph", "summary", "description", "parameters", "returns", ...}.
    process: Mapped[dict[str, Any]] = mapped_column(JSON)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class UserProcessStore:
    """Reads and writes the user-defined processes of every user."""

    def __init__(self, database: Database):
        self.database = database

    def all(self, user_id: str) -> dict[str, dict[str, Any]]:
        """Every process of ``user_id``, by id (sorted by id)."""
        with self.database.session() as s:
            rows = s.scalars(select(UserProcess).where(UserProcess.user_id == user_id)).all()
            return {r.id: r.process for r in sorted(rows, key=lambda r: r.id)}

    def get(self, user_id: str, process_id: str) -> dict[str, Any] | None:
        with self.database.session() as s:
            row = s.get(UserProcess, (user_id, process_id))
            return None if row is None else row.process

    def put(self, user_id: str, process_id: str, process: dict[str, Any]) -> None:
        """Store ``process`` under ``process_id``, replacing one stored before."""
        try:
            self._put(user_id, process_id, process)
        except IntegrityError:
            # Two requests created the same new process at once: the later one replaces it.
            self._put(user_id, process_id, process)

    def _put(self, user_id: str, process_id: str, process: dict[str, Any]) -> None:
        with self.database.session() as s:
            ensure_user(s, user_id)
            row = s.get(UserProcess, (user_id, process_id))
            if row is None:
                s.add(UserProcess(user_id=user_id, id=process_id, process=process))
            else:
                row.process = process
                row.updated = utcnow()

    def delete(self, user_id: str, process_id: str) -> bool:
        """Delete a process; False if there was none."""
        with self.database.session() as s:
            result = s.execute(
                delete(UserProcess).where(
                    UserProcess.user_id == user_id, UserProcess.id == process_id
                )
            )
            return bool(result.rowcount)
