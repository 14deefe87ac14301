"""The work queue in the database: synchronous runs and batch jobs, claimed by workers.

Any number of API processes enqueue and any number of worker supervisors (on any machine)
claim, through one database (SQLite on one machine, PostgreSQL for several). Claiming is a
guarded update (``UPDATE ... WHERE id = :id AND status = 'queued'``): of two workers that
pick the same row, exactly one changes it, the other moves on to the next candidate. This is
the same guarded state change the job store already uses for every other transition, it
works alike on SQLite and PostgreSQL, and the rows it claims are the records users see; a
PostgreSQL-only queue library (procrastinate, pgqueuer) would have meant a second queue for
the SQLite default and a copy of every job's state in the library's tables
(docs/deployment.md, "Why no queue library").

Workers announce themselves in ``workers`` and renew a heartbeat; work of a worker whose
heartbeat is older than the lease is recovered by whoever notices (:meth:`WorkQueue.reap`):
batch jobs are queued again (up to ``jobs.max_attempts`` runs) or fail with a log entry,
synchronous runs fail with ``WorkerLost``.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psutil
from sqlalchemy import delete, func, literal_column, select, update

from openeo_dedl.errors import JOB_INTERRUPTED, OpenEOError, WorkerLost
from openeo_dedl.jobs.store import JobStore, LogEntry
from openeo_dedl.storage import Database, utcnow
from openeo_dedl.storage.models import Job, SyncRun, Worker
from openeo_dedl.storage.users import ensure_user

logger = logging.getLogger(__name__)

# Candidates looked at per claim: the fair pick chooses among the oldest of them.
_CANDIDATES = 50


@dataclass(frozen=True)
class Task:
    """One piece of claimed work: a synchronous run or a batch job's run."""

    kind: str  # "sync" | "batch"
    id: str
    user_id: str
    # The batch job's run (its start time), which every write of the run names.
    run: datetime | None = None


def new_sync_id() -> str:
    return f"s-{secrets.token_hex(10)}"


def error_dict(error: OpenEOError) -> dict[str, Any]:
    return {"code": error.code, "message": error.message, "status": error.status}


class WorkQueue:
    """Enqueue, claim and finish work; heartbeats and recovery of lost workers."""

    def __init__(self, database: Database):
        self.db = database
        self.jobs = JobStore(database)

    # -- synchronous runs (API side) -------------------------------------------------------
    def submit_sync(self, user_id: str, process: dict, options: dict | None = None) -> str:
        """Queue a synchronous run of ``process`` for ``user_id`` (``options``: the checked
        processing options, ``RunOptions.to_dict``); its id."""
        run_id = new_sync_id()
        with self.db.session() as s:
            ensure_user(s, user_id)
            s.add(
                SyncRun(
                    id=run_id,
                    user_id=user_id,
                    process=process,
                    options=options or None,
                    status="queued",
                )
            )
        return run_id

    def sync_run(self, run_id: str) -> SyncRun | None:
        with self.db.session() as s:
            return s.get(SyncRun, run_id)

    def cancel_sync(self, run_id: str) -> bool:
        """Give up a synchronous run that is still queued or running (its client left)."""
        return self._set_sync(run_id, ("queued", "running"), "canceled")

    # -- synchronous runs (worker side) ----------------------------------------------------
    def finish_sync(self, run_id: str, worker_id: str, result: dict[str, Any]) -> bool:
        return self._set_sync(run_id, ("running",), "finished", owner=worker_id, result=result)

    def fail_sync(self, run_id: str, worker_id: str | None, error: OpenEOError) -> bool:
        return self._set_sync(
            run_id, ("running",), "error", owner=worker_id, error=error_dict(error)
        )

    def _set_sync(
        self,
        run_id: str,
        from_states: tuple[str, ...],
        to_state: str,
        owner: str | None = None,
        **fields: Any,
    ) -> bool:
        """Guarded state change; with ``owner``, only while that worker owns the run."""
        query = update(SyncRun).where(SyncRun.id == run_id, SyncRun.status.in_(from_states))
        if owner is not None:
            query = query.where(SyncRun.worker_id == owner)
        if to_state != "running":
            fields.setdefault("finished", utcnow())
        with self.db.session() as s:
            result = s.execute(
                query.values(status=to_state, **fields).execution_options(synchronize_session=False)
            )
            return result.rowcount == 1

    def purge_sync(self, older_than_seconds: float) -> list[str]:
        """Forget synchronous runs that ended longer ago than this (their client never came
        back for them); returns their work folders, to be removed."""
        cutoff = utcnow() - timedelta(seconds=older_than_seconds)
        with self.db.session() as s:
            runs = list(
                s.scalars(
                    select(SyncRun).where(
                        SyncRun.status.in_(("finished", "error", "canceled")),
                        SyncRun.finished < cutoff,
                    )
                )
            )
            for run in runs:
                s.delete(run)
        return [r.result["work_dir"] for r in runs if r.result and r.result.get("work_dir")]

    # -- claiming --------------------------------------------------------------------------
    def has_work(self) -> bool:
        """Whether anything waits for a worker."""
        with self.db.session() as s:
            sync = s.scalar(select(func.count()).where(SyncRun.status == "queued"))
            if sync:
                return True
            return bool(s.scalar(select(func.count()).where(Job.status == "queued")))

    def claim(
        self,
        worker_id: str,
        max_sync_per_user: int | None = None,
        fair_share_seconds: float = 600.0,
        batch: bool = True,
        max_batch_per_user: int | None = None,
    ) -> Task | None:
        """The next piece of work for ``worker_id``, now ``running`` and owned by it.

        Synchronous runs first (a person waits for each), at most ``max_sync_per_user`` of
        one user at a time, so one user's burst of slow requests cannot take every worker;
        then, when ``batch``, batch jobs, at most ``max_batch_per_user`` of one user at a
        time. Within each, the user with the fewest runs in progress first, then
        the one who used the workers least in the last ``fair_share_seconds`` (so a user whose
        requests each hold a worker until they are stopped does not win every free worker
        from one whose requests take a moment), then the oldest.
        """
        sync_busy, batch_busy = self._running_per_user(SyncRun), self._running_per_user(Job)
        busy = sync_busy + batch_busy
        limits = {"sync": (max_sync_per_user, sync_busy), "batch": (max_batch_per_user, batch_busy)}
        for kind in ("sync", "batch") if batch else ("sync",):
            used = self._recent_seconds(SyncRun if kind == "sync" else Job, fair_share_seconds)
            limit, running = limits[kind]
            for candidate in self._candidates(kind, busy, used):
                if limit is not None and running[candidate[1]] >= limit:
                    continue
                task = self._claim_one(kind, candidate, worker_id)
                if task is not None:
                    return task
        return None

    def _running_per_user(self, model: type[SyncRun] | type[Job]) -> Counter[str]:
        with self.db.session() as s:
            query = (
                select(model.user_id, func.count())
                .where(model.status == "running")
                .group_by(model.user_id)
            )
            return Counter({user_id: count for user_id, count in s.execute(query)})

    def _recent_seconds(self, model: type[SyncRun] | type[Job], window: float) -> dict[str, float]:
        """Worker seconds each user's runs took within the last ``window`` seconds."""
        now = utcnow()
        cutoff = now - timedelta(seconds=window)
        with self.db.session() as s:
            rows = s.execute(
                select(model.user_id, model.started, model.finished).where(
                    model.started.is_not(None),
                    (model.finished.is_(None) & (model.status == "running"))
                    | (model.finished > cutoff),
                )
            )
            used: dict[str, float] = {}
            for user_id, started, finished in rows:
                begin = max(started, cutoff)
                end = finished or now
                used[user_id] = used.get(user_id, 0.0) + max(0.0, (end - begin).total_seconds())
            return used

    def _candidates(
        self, kind: str, busy: Counter[str], used: dict[str, float]
    ) -> list[tuple[str, str]]:
        with self.db.session() as s:
            if kind == "sync":
                query = select(SyncRun.id, SyncRun.user_id, SyncRun.created).where(
                    SyncRun.status == "queued"
                )
                order = (SyncRun.created, SyncRun.id)
            else:
                query = select(Job.id, Job.user_id, Job.queued).where(Job.status == "queued")
                order = (Job.queued, Job.updated, Job.id)
            rows = list(s.execute(query.order_by(*order).limit(_CANDIDATES)))
        # Stable sort: the oldest first among users equally busy.
        rows.sort(key=lambda row: (busy[row[1]], used.get(row[1], 0.0)))
        return [(row[0], row[1]) for row in rows]

    def _claim_one(self, kind: str, candidate: tuple[str, str], worker_id: str) -> Task | None:
        item_id, user_id = candidate
        now = utcnow()
        if kind == "sync":
            claimed = self._set_sync(
                item_id, ("queued",), "running", started=now, worker_id=worker_id
            )
            return Task("sync", item_id, user_id) if claimed else None
        claimed = self.jobs.transition(
            item_id,
            ["queued"],
            "running",
            started=now,
            progress=0.0,
            worker_id=worker_id,
            attempts=literal_column("attempts") + 1,
        )
        if not claimed:
            return None
        job = self.jobs.load(item_id)
        if job is None:
            return None
        self.jobs.log(item_id, "info", f"Job started (run {job.attempts}).", run=job.started)
        return Task("batch", item_id, user_id, run=job.started)

    # -- workers ---------------------------------------------------------------------------
    def register_worker(self, worker_id: str, host: str, pid: int) -> None:
        with self.db.session() as s:
            s.add(Worker(id=worker_id, host=host, pid=pid, started=utcnow(), heartbeat=utcnow()))

    def heartbeat(self, worker_id: str) -> bool:
        """Renew ``worker_id``'s lease; False when it was declared lost meanwhile."""
        with self.db.session() as s:
            result = s.execute(
                update(Worker)
                .where(Worker.id == worker_id)
                .values(heartbeat=utcnow())
                .execution_options(synchronize_session=False)
            )
            return result.rowcount == 1

    def unregister_worker(self, worker_id: str) -> None:
        with self.db.session() as s:
            s.execute(delete(Worker).where(Worker.id == worker_id))

    def reap(self, lease_seconds: float, max_attempts: int) -> list[str]:
        """Recover the work of workers whose lease ran out, and of runs owned by no worker.

        Returns the ids of the workers declared lost.
        """
        cutoff = utcnow() - timedelta(seconds=lease_seconds)
        host = socket.gethostname()[:255]
        with self.db.session() as s:
            lost = list(s.scalars(select(Worker.id).where(Worker.heartbeat < cutoff)))
            # A supervisor of this machine whose process is gone is lost now, not after its
            # lease (a server restarted after a crash takes its jobs back at once).
            for worker_id, pid in s.execute(
                select(Worker.id, Worker.pid).where(Worker.host == host, Worker.id.not_in(lost))
            ):
                if pid != os.getpid() and not psutil.pid_exists(pid):
                    lost.append(worker_id)
            s.execute(delete(Worker).where(Worker.id.in_(lost)))
            known = select(Worker.id)
            orphan_jobs = list(
                s.scalars(
                    select(Job.id).where(
                        Job.status == "running",
                        (Job.worker_id.is_(None)) | (Job.worker_id.not_in(known)),
                    )
                )
            )
            orphan_syncs = list(
                s.scalars(
                    select(SyncRun.id).where(
                        SyncRun.status == "running",
                        (SyncRun.worker_id.is_(None)) | (SyncRun.worker_id.not_in(known)),
                    )
                )
            )
        if lost:
            logger.warning("workers lost (no heartbeat for %g s): %s", lease_seconds, lost)
        for job_id in orphan_jobs:
            self.interrupt_job(
                job_id,
                None,
                "The worker running this job stopped without finishing it",
                max_attempts,
            )
        for run_id in orphan_syncs:
            self.fail_sync(run_id, None, WorkerLost(_WORKER_LOST))
        return lost

    def interrupt_job(
        self, job_id: str, worker_id: str | None, reason: str, max_attempts: int
    ) -> None:
        """A running job lost its run (its worker stopped or crashed): queue it again, or fail
        it when it had ``max_attempts`` runs; a log entry says which and why."""
        job = self.jobs.load(job_id)
        if job is None or job.status != "running":
            return
        if worker_id is not None and job.worker_id != worker_id:
            return
        if job.attempts < max_attempts:
            self.jobs.transition(
                job_id,
                ["running"],
                "queued",
                run=job.started,
                progress=0.0,
                queued=utcnow(),
                worker_id=None,
                log=LogEntry(
                    "warning",
                    f"{reason} (run {job.attempts} of at most {max_attempts}); it was queued "
                    "to run again.",
                    code=JOB_INTERRUPTED,
                ),
            )
            return
        message = (
            f"{reason}, {job.attempts} time(s): it is not run again "
            f"(jobs.max_attempts = {max_attempts})."
        )
        self.jobs.fail(job_id, job.started, "JobInterrupted", message)

    def fail_job(self, job_id: str, run: datetime | None, error: OpenEOError) -> bool:
        """End a running job with ``error`` (and a log entry saying it)."""
        return self.jobs.fail(job_id, run, error.code, error.message)

    def still_wanted(self, task: Task) -> bool:
        """Whether ``task`` is still running as claimed (not canceled, deleted or restarted)."""
        with self.db.session() as s:
            if task.kind == "sync":
                status = s.scalar(select(SyncRun.status).where(SyncRun.id == task.id))
                return status == "running"
            row = s.execute(select(Job.status, Job.started).where(Job.id == task.id)).first()
            return row is not None and row.status == "running" and row.started == task.run


_WORKER_LOST = (
    "The worker process running this request stopped before it finished (it was lost or "
    "killed); the request was not completed. Please try again."
)
