"""What the job service answers: plain, immutable records, never the database's objects.

The API turns them into openEO JSON; nothing outside ``jobs/`` (and the workers) sees a
SQLAlchemy ``Job`` or ``JobLog``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from openeo_dedl.execution.usage import Usage
from openeo_dedl.storage.models import Job, JobLog


def token_of_run(started: datetime | None) -> str:
    """Names one run of a job (its start time): result paths and signed links use it."""
    return f"r{int(started.timestamp() * 1_000_000)}" if started else ""


@dataclass(frozen=True)
class JobInfo:
    """A batch job as its owner may see it."""

    id: str
    user_id: str
    title: str | None
    description: str | None
    process: dict[str, Any]
    billing_plan: str | None
    budget: float | None
    log_level: str
    status: str
    progress: float
    created: datetime
    updated: datetime
    # When the job was last queued, and when its (last) run started (status `running`).
    queued: datetime | None
    started: datetime | None
    finished: datetime | None
    costs: float | None
    # What the last run used (None before a run ended or was cut off).
    usage: Usage | None
    # ``{"code", "message"}`` of a job in ``error``.
    error: dict[str, Any] | None
    # One dict per result file: name, run, size, type, roles, proj, bbox_wgs84, ...
    results: list[dict[str, Any]] | None
    # The processing options asked for (``RunOptions.to_dict``); None: none.
    options: dict[str, Any] | None = None
    # The plan of the last run (``Plan.to_dict``), once it was planned.
    execution_plan: dict[str, Any] | None = None

    @property
    def sites(self) -> list[str]:
        """The sites the last run's plan ran partitions at (empty before it was planned)."""
        partitions = (self.execution_plan or {}).get("partitions", [])
        return sorted({p["site"] for p in partitions if "site" in p})

    @classmethod
    def of(cls, job: Job) -> JobInfo:
        return _copied(
            cls,
            job,
            log_level=job.log_level or "info",
            progress=job.progress or 0.0,
            usage=Usage.from_dict(job.usage) if job.usage else None,
        )

    @property
    def run(self) -> str:
        """The current run's token (empty before the first start)."""
        return token_of_run(self.started)

    def run_times(self) -> dict[str, datetime]:
        """The job's ``queued`` and ``started`` times as the openEO API 1.3 has them: when the
        status ``queued`` and ``running`` were set for the current run. A job back in
        ``created`` has neither; one queued again (after a server stop) has not started yet."""
        times: dict[str, datetime] = {}
        if self.queued is not None and self.status != "created":
            times["queued"] = self.queued
        if self.started is not None and self.status not in ("created", "queued"):
            times["started"] = self.started
        return times

    @property
    def wall_seconds(self) -> float | None:
        """Seconds from start to finish of the last run, when it finished."""
        if self.started and self.finished:
            return max(0.0, (self.finished - self.started).total_seconds())
        return None


@dataclass(frozen=True)
class LogRecord:
    """One entry of a job's log."""

    id: int
    level: str
    message: str
    time: datetime
    code: str | None = None
    data: dict[str, Any] | None = None
    # Where a run failed inside a process: the traceback that led to the error.
    stacktrace: str | None = None

    @classmethod
    def of(cls, entry: JobLog) -> LogRecord:
        return _copied(cls, entry)


@dataclass(frozen=True)
class LogPage:
    """Log entries after an offset, and whether more follow."""

    level: str
    entries: list[LogRecord]
    more: bool


def _copied(cls, row, **overrides):
    """An instance of the dataclass ``cls`` with each field read from the ORM ``row`` (the
    same names), except ``overrides``."""
    values = {f.name: getattr(row, f.name) for f in fields(cls) if f.name not in overrides}
    return cls(**values, **overrides)
