"""Records of users, batch jobs and job log entries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from openeo_dedl.storage.db import Base, UTCDateTime, utcnow

# Log entries are numbered by the database; SQLite autoincrements only INTEGER PRIMARY KEY.
_BigId = BigInteger().with_variant(Integer, "sqlite")

# openEO job states, in order of a job's life.
JOB_STATES = ("created", "queued", "running", "canceled", "finished", "error")


class User(Base):
    """Someone who has used the backend (basic auth user name or OIDC subject)."""

    __tablename__ = "users"

    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    # Free-form facts from the identity provider (claims), for display only.
    info: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[datetime | None] = mapped_column(UTCDateTime)

    jobs: Mapped[list[Job]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )


class Job(Base):
    """A batch job: the process, its state and what its run produced and cost."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        String(255), ForeignKey("users.user_id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    # The openEO process object: {"process_graph": ..., optional "id", "parameters", ...}.
    process: Mapped[dict[str, Any]] = mapped_column(JSON)
    # openEO billing plan and budget as the user gave them (no billing here).
    billing_plan: Mapped[str | None] = mapped_column(String(64))
    budget: Mapped[float | None] = mapped_column(Float)
    log_level: Mapped[str] = mapped_column(String(16), default="info")

    status: Mapped[str] = mapped_column(String(16), default="created", index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    started: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # How many times a run was started (restarts re-run interrupted jobs a limited number of times).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # When the job was last queued: workers take the oldest first (per user, fairly).
    queued: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The worker process running the job (``workers.id``) while it is ``running``.
    worker_id: Mapped[str | None] = mapped_column(String(64), index=True)

    costs: Mapped[float | None] = mapped_column(Float)
    # openEO usage plus per-site figures (bytes moved between sites, seconds per site).
    usage: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The planner's explanation (Plan.to_dict()) of the last run.
    execution_plan: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # {"code", "message"} when status is "error".
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Result files: [{"name", "path", "type", "size", "roles", "proj": {...}, ...}].
    results: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)

    user: Mapped[User] = relationship(back_populates="jobs")
    logs: Mapped[list[JobLog]] = relationship(
        back_populates="job", cascade="all, delete-orphan", passive_deletes=True
    )


class JobLog(Base):
    """One log entry of a job; ``id`` orders the entries and is the ``offset`` of paging."""

    __tablename__ = "job_logs"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("jobs.id", ondelete="CASCADE"), index=True
    )
    time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    level: Mapped[str] = mapped_column(String(16))
    code: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    # Structured context: {"site": ..., "partition": ..., ...}.
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Where a run failed inside a process: the Python traceback (API 1.3 `stacktrace`).
    stacktrace: Mapped[str | None] = mapped_column(Text)

    job: Mapped[Job] = relationship(back_populates="logs")


class Worker(Base):
    """A worker process that runs synchronous requests and batch jobs.

    ``heartbeat`` is renewed every few seconds by the worker's supervisor; work of a worker
    whose heartbeat is older than ``workers.lease_seconds`` belongs to no one and is recovered.
    """

    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    heartbeat: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


# States of a synchronous run, in order of its life.
SYNC_STATES = ("queued", "running", "finished", "error", "canceled")


class SyncRun(Base):
    """A synchronous request (``POST /result``) handed to a worker; the API waits for it."""

    __tablename__ = "sync_runs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255), index=True)
    process: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished: Mapped[datetime | None] = mapped_column(UTCDateTime)
    worker_id: Mapped[str | None] = mapped_column(String(64), index=True)
    # Where the worker wrote the result: {"path", "media_type", "usage", "plan"}.
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # {"code", "message", "status"} when status is "error".
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
