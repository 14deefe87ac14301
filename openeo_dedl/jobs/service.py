"""Batch jobs: what the API asks for (create, start, cancel, results, logs, estimate).

States: ``created → queued → running → finished | error | canceled``, kept in the database.
Queued jobs are run by worker processes (openeo_dedl/workers/), which claim them from the
database; a cancel or delete here is seen by the worker, which stops the run. A job's process
is prepared (``Backend.prepare``: inlined, validated) when it is stored, so an invalid one is
refused at ``POST /jobs`` and ``PATCH /jobs/{id}`` as ``POST /result`` refuses it. Answers are
:mod:`openeo_dedl.jobs.info` records, never database objects.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import IO, Any

from openeo_dedl.config import Settings
from openeo_dedl.errors import CollectionNotFound, JobLocked, JobNotFinished, NotFound
from openeo_dedl.formats import iso_duration, rfc3339
from openeo_dedl.jobs.info import JobInfo, LogPage, LogRecord
from openeo_dedl.jobs.results import ResultStore
from openeo_dedl.jobs.store import JobStore, LogEntry
from openeo_dedl.planning.prepare import Prepared, Preparer
from openeo_dedl.storage import Database, utcnow
from openeo_dedl.storage.process_store import UserProcessStore

logger = logging.getLogger(__name__)

ACTIVE = ("queued", "running")
_STOP = object()


class JobFailed(Exception):
    """Results were asked of a job that ended in ``error``: carries its last error log."""

    def __init__(self, entry: LogRecord | None, job: JobInfo):
        super().__init__(job.id)
        self.entry, self.job = entry, job


@dataclass(frozen=True)
class Download:
    """A result file to send: its media type, size, and how to open it (for whole or ranged
    reads)."""

    name: str
    media_type: str
    size: int
    open: Callable[[], IO[bytes]]


class JobService:
    """Batch jobs of all users; every public method taking ``user_id`` acts for that user only."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        backend: Preparer,
        on_queued: Callable[[], None] = lambda: None,
    ):
        """``backend`` prepares (validates, plans) job processes; ``on_queued()`` is told when
        a job was queued (to wake local workers)."""
        self.settings = settings
        self.store = JobStore(database)
        # Calls of the job owner's user-defined processes are inlined when preparing.
        self.user_processes = UserProcessStore(database)
        self.results = ResultStore(settings)
        self.backend = backend
        self._on_queued = on_queued

    def _prepared(self, user_id: str, process: Any) -> Prepared:
        """``process`` prepared with its owner's processes; raises its first error."""
        return self.backend.prepare(process, self.user_processes.all(user_id), user_id).valid()

    def _check_storable(self, user_id: str, process: Any) -> None:
        """Refuse a process that cannot run (its first error), except for collections the
        catalog does not hold (yet): catalogs change, and the job fails with
        CollectionNotFound when it starts (the openEO test suite creates jobs on collections
        only its authors' back-end has)."""
        prepared = self.backend.prepare(process, self.user_processes.all(user_id), user_id)
        errors = [e for e in prepared.errors if not isinstance(e, CollectionNotFound)]
        if errors:
            raise errors[0]

    # -- API operations --------------------------------------------------------------------
    def create(self, user_id: str, process: dict, **fields: Any) -> JobInfo:
        """Store a new job (``created``); an invalid process is refused (OpenEOError)."""
        self._check_storable(user_id, process)
        return JobInfo.of(self.store.create(user_id, process=process, **fields))

    def list(self, user_id: str) -> list[JobInfo]:
        return [JobInfo.of(job) for job in self.store.list_for(user_id)]

    def get(self, user_id: str, job_id: str) -> JobInfo:
        return JobInfo.of(self.store.get(user_id, job_id))

    def find(self, job_id: str) -> JobInfo | None:
        """Any user's job by id, for signed downloads (the signature is the credential)."""
        job = self.store.load(job_id)
        return None if job is None else JobInfo.of(job)

    def update(self, user_id: str, job_id: str, **fields: Any) -> None:
        """Change title, description, process, billing plan, budget or log level; a new
        process is refused (OpenEOError) when invalid."""
        if "process" in fields:
            self.store.get(user_id, job_id)  # someone else's job does not exist: 404 first
            self._check_storable(user_id, fields["process"])
        with self.store.db.session() as s:
            job = self.store.get_for(s, user_id, job_id)
            if job.status in ACTIVE:
                raise JobLocked("Batch job is locked due to a queued or running batch computation.")
            for key, value in fields.items():
                if key == "options":  # only the options sent change
                    merged = {**(job.options or {}), **value}
                    value = {k: v for k, v in merged.items() if v is not None} or None
                setattr(job, key, value)
            job.updated = utcnow()

    def delete(self, user_id: str, job_id: str) -> None:
        """Stop the job if it runs, delete its results, logs and record."""
        with self.store.db.session() as s:
            job = self.store.get_for(s, user_id, job_id)
            s.delete(job)
        # A worker running it sees the job gone and stops; results it writes later are
        # discarded (its last state change finds no job).
        self.results.delete(job_id)

    def start_job(self, user_id: str, job_id: str) -> None:
        """Queue the job; no effect when it is queued or running already."""
        job = self.store.get(user_id, job_id)
        if job.status in ACTIVE:
            return
        if not self.store.transition(
            job_id,
            [job.status],
            "queued",
            progress=0.0,
            attempts=0,
            queued=utcnow(),
            started=None,
            finished=None,
            error=None,
            usage=None,
            results=None,
            costs=None,
        ):
            return  # someone else changed it meanwhile: their change stands
        # A new run discards the previous run's results and logs.
        self.results.delete(job_id)
        self.store.clear_logs(job_id)
        self.store.log(job_id, "info", "Job queued.")
        self._on_queued()

    def cancel(self, user_id: str, job_id: str) -> None:
        """Stop a queued (→ ``created``) or running (→ ``canceled``) job; else no effect."""
        job = self.store.get(user_id, job_id)
        if job.status == "queued" and self.store.transition(
            job_id, ["queued"], "created", log=LogEntry("info", "Canceled before it started.")
        ):
            return
        # The worker running it sees the new state within a second and stops the run.
        self.store.transition(
            job_id,
            ["running"],
            "canceled",
            finished=utcnow(),
            log=LogEntry("info", "Canceled by the user: the work on the sites is being stopped."),
        )

    def logs(
        self,
        user_id: str,
        job_id: str,
        offset: int | None,
        level: str,
        limit: int | None,
    ) -> LogPage:
        return self.store.logs(user_id, job_id, offset, level, limit)

    def results_of(self, user_id: str, job_id: str, partial: bool) -> tuple[JobInfo, str]:
        """The job and its ``openeo:status`` for its results document.

        JobNotFinished unless finished (or ``partial``); JobFailed for a job in ``error``.
        """
        job = self.get(user_id, job_id)
        if job.status == "error" and not partial:
            raise JobFailed(self.store.last_error(job_id), job)
        if job.status == "finished":
            return job, "finished"
        if not partial:
            raise JobNotFinished(
                f"Batch job '{job_id}' has not finished computing the results yet "
                f"(status: {job.status})."
            )
        status = job.status if job.status in ("running", "canceled", "error") else "running"
        return job, status

    def download(self, job_id: str, name: str) -> Download:
        """A result file of a job (the caller has checked the signed link)."""
        job = self.store.load(job_id)
        meta = next((a for a in (job.results or []) if a["name"] == name), None) if job else None
        run = meta.get("run", "") if meta else ""
        if meta is None or not self.results.exists(job_id, name, run):
            raise NotFound(f"Result file '{name}' of job '{job_id}' does not exist.")
        return Download(
            name=name,
            media_type=meta["type"],
            size=self.results.size(job_id, name, run),
            open=functools.partial(self.results.open, job_id, name, run),
        )

    def estimate(self, user_id: str, job_id: str) -> dict[str, Any]:
        """Estimated duration and result size, and the plan explaining where things run."""
        job = self.store.get(user_id, job_id)
        plan_dict = self._prepared(user_id, job.process).plan().to_dict()
        node_bytes = plan_dict.get("node_bytes", {})
        loaded = sum(node_bytes.get(load["node"], 0) for load in plan_dict.get("loads", []))
        moved = (plan_dict.get("estimated_bytes") or {}).get("planned") or 0
        rate = self.settings.jobs.estimate_bytes_per_second
        estimate: dict[str, Any] = {
            # Reading the inputs and moving outputs between sites dominate; a rough guide.
            "duration": iso_duration((loaded + moved) / rate),
            "downloads_included": None,
            "expires": rfc3339(utcnow() + timedelta(days=1)),
            "openeo-dedl:plan": plan_dict,
        }
        size = node_bytes.get(plan_dict.get("result_node"))
        if isinstance(size, int | float) and size >= 0:
            estimate["size"] = int(size)
        return estimate
