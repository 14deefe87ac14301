"""Job records in the database: per-user access, guarded state changes, log entries.

Every read or write on behalf of a user goes through :meth:`JobStore.get_for`, so a user never
sees another user's job: it does not exist for them (``JobNotFound``, 404). State changes are
conditional updates (``UPDATE ... WHERE status IN (...)``): a worker finishing a job and a user
canceling it at the same moment cannot both win.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from openeo_dedl.errors import JobNotFound
from openeo_dedl.jobs.info import LogPage, LogRecord, token_of_run
from openeo_dedl.storage import Database, utcnow
from openeo_dedl.storage.models import Job, JobLog
from openeo_dedl.storage.users import ensure_user

LOG_LEVELS = ("debug", "info", "warning", "error")


def levels_from(minimum: str) -> list[str]:
    """The log levels at or above ``minimum``."""
    return list(LOG_LEVELS[LOG_LEVELS.index(minimum) :])


def max_level(a: str, b: str) -> str:
    return max(a, b, key=LOG_LEVELS.index)


def run_token(job: Job) -> str:
    """Names one run of a job (its start time): result paths and signed links use it."""
    return token_of_run(job.started)


def new_job_id() -> str:
    # Unguessable: ids appear in URLs and logs; access is checked anyway.
    return f"j-{secrets.token_hex(10)}"


# Every id new_job_id makes matches; anything else names no job and is not looked up (ids from
# URLs may hold anything, and PostgreSQL refuses NUL characters in a query).
JOB_ID = re.compile(r"^j-[0-9a-f]{20}$", re.ASCII)


def is_job_id(job_id: str) -> bool:
    return bool(JOB_ID.fullmatch(job_id))


@dataclass(frozen=True)
class LogEntry:
    """A log entry to add along with a state change (in the same transaction)."""

    level: str
    message: str
    code: str | None = None
    data: dict[str, Any] | None = None
    stacktrace: str | None = None


class JobStore:
    """Reads and writes job records and their logs."""

    def __init__(self, database: Database):
        self.db = database

    # -- per-user access -------------------------------------------------------------------
    def create(self, user_id: str, **fields: Any) -> Job:
        with self.db.session() as s:
            ensure_user(s, user_id)
            job = Job(id=new_job_id(), user_id=user_id, **fields)
            s.add(job)
        return job

    @staticmethod
    def get_for(session: Session, user_id: str, job_id: str) -> Job:
        """The job ``job_id`` of ``user_id``; JobNotFound for anyone else's or a missing job."""
        job = session.get(Job, job_id) if is_job_id(job_id) else None
        if job is None or job.user_id != user_id:
            shown = job_id[:64].replace("\x00", "\\u0000")
            raise JobNotFound(f"The batch job '{shown}' does not exist.")
        return job

    def get(self, user_id: str, job_id: str) -> Job:
        with self.db.session() as s:
            return self.get_for(s, user_id, job_id)

    def list_for(self, user_id: str) -> list[Job]:
        """The user's jobs, newest first."""
        with self.db.session() as s:
            query = select(Job).where(Job.user_id == user_id).order_by(Job.created.desc(), Job.id)
            return list(s.scalars(query))

    # -- by id (workers) -------------------------------------------------------------------
    def load(self, job_id: str) -> Job | None:
        if not is_job_id(job_id):
            return None
        with self.db.session() as s:
            return s.get(Job, job_id)

    def transition(
        self,
        job_id: str,
        from_states: Iterable[str],
        to_state: str,
        run: datetime | None = None,
        log: LogEntry | None = None,
        **fields: Any,
    ) -> bool:
        """Set ``status`` (and ``fields``) only if the job is in one of ``from_states`` (and,
        with ``run``, still in the run that started at that time).

        ``log`` is added in the same transaction when the state changes: a client that sees
        the new state also sees the entry that says why.
        """
        query = update(Job).where(Job.id == job_id, Job.status.in_(list(from_states)))
        if run is not None:
            query = query.where(Job.started == run)
        with self.db.session() as s:
            result = s.execute(
                query.values(status=to_state, updated=utcnow(), **fields).execution_options(
                    synchronize_session=False
                )
            )
            changed = result.rowcount == 1
            if changed and log is not None:
                self._add_log(
                    s, job_id, log.level, log.message, log.code, log.data, stacktrace=log.stacktrace
                )
            return changed

    def fail(
        self,
        job_id: str,
        run: datetime | None,
        code: str,
        message: str,
        stacktrace: str | None = None,
        **fields: Any,
    ) -> bool:
        """End a running job (of ``run``) in ``error`` with ``code``/``message`` and a log
        entry saying it (with the ``stacktrace`` of where it failed, if known), in one
        transaction; ``fields`` are set along (usage, say)."""
        return self.transition(
            job_id,
            ["running"],
            "error",
            run=run,
            finished=utcnow(),
            worker_id=None,
            error={"code": code, "message": message},
            log=LogEntry("error", message, code=code, stacktrace=stacktrace),
            **fields,
        )

    def set(self, job_id: str, run: datetime | None = None, **fields: Any) -> None:
        """Update fields of a job whatever its state (no-op when it was deleted, or with
        ``run``, when the job was started again since)."""
        query = update(Job).where(Job.id == job_id)
        if run is not None:
            query = query.where(Job.started == run)
        with self.db.session() as s:
            s.execute(
                query.values(updated=utcnow(), **fields).execution_options(
                    synchronize_session=False
                )
            )

    def ids_in(self, *states: str) -> list[str]:
        """Ids of the jobs in ``states``, oldest update first (the order they should run)."""
        with self.db.session() as s:
            query = select(Job.id).where(Job.status.in_(states)).order_by(Job.updated, Job.id)
            return list(s.scalars(query))

    # -- logs ------------------------------------------------------------------------------
    def log(
        self,
        job_id: str,
        level: str,
        message: str,
        code: str | None = None,
        data: dict[str, Any] | None = None,
        run: datetime | None = None,
    ) -> None:
        """Add a log entry, unless it is below the job's ``log_level``, the job is gone, or
        (with ``run``) the job was started again since."""
        with self.db.session() as s:
            self._add_log(s, job_id, level, message, code, data, run)

    @staticmethod
    def _add_log(
        s: Session,
        job_id: str,
        level: str,
        message: str,
        code: str | None,
        data: dict[str, Any] | None,
        run: datetime | None = None,
        stacktrace: str | None = None,
    ) -> None:
        row = s.execute(select(Job.log_level, Job.started).where(Job.id == job_id)).first()
        if row is None or LOG_LEVELS.index(level) < LOG_LEVELS.index(row.log_level):
            return
        if run is not None and row.started != run:
            return
        s.add(
            JobLog(
                job_id=job_id,
                level=level,
                message=message,
                code=code,
                data=data,
                stacktrace=stacktrace,
            )
        )

    def clear_logs(self, job_id: str) -> None:
        with self.db.session() as s:
            s.execute(delete(JobLog).where(JobLog.job_id == job_id))

    def logs(
        self,
        user_id: str,
        job_id: str,
        offset: int | None = None,
        level: str = "debug",
        limit: int | None = None,
    ) -> LogPage:
        """The user's job's log entries after ``offset`` at ``level`` or above."""
        with self.db.session() as s:
            job = self.get_for(s, user_id, job_id)
            effective = max_level(level, job.log_level)
            query = (
                select(JobLog)
                .where(JobLog.job_id == job_id, JobLog.level.in_(levels_from(effective)))
                .order_by(JobLog.id)
            )
            if offset is not None:
                query = query.where(JobLog.id > offset)
            if limit is not None:
                query = query.limit(limit + 1)
            entries = [LogRecord.of(entry) for entry in s.scalars(query)]
        more = limit is not None and len(entries) > limit
        return LogPage(level=effective, entries=entries[:limit] if more else entries, more=more)

    def last_error(self, job_id: str) -> LogRecord | None:
        with self.db.session() as s:
            query = (
                select(JobLog)
                .where(JobLog.job_id == job_id, JobLog.level == "error")
                .order_by(JobLog.id.desc())
                .limit(1)
            )
            entry = s.scalars(query).first()
            return None if entry is None else LogRecord.of(entry)
