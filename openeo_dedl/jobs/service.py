"""Batch jobs: what the API asks for (create, start, cancel, results, logs, estimate), and a
pool of worker threads that runs queued jobs on the site clusters.

States: ``created → queued → running → finished | error | canceled``, kept in the database.
When the server stops, running jobs are canceled and queued again; jobs left ``running`` by a
crash are re-run at the next start until ``jobs.max_attempts`` runs were started, then marked
``error`` with a log line saying why. The pool assumes one server process per database.
"""

from __future__ import annotations

import logging
import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from openeo_dedl.config import Settings
from openeo_dedl.errors import (
    Internal,
    JobLocked,
    JobNotFinished,
    NotFound,
    OpenEOError,
    ProcessGraphMissing,
)
from openeo_dedl.execution.control import RunCanceled, RunControl
from openeo_dedl.jobs.progress import WRITING_PERCENT, JobProgress, transfer_seconds
from openeo_dedl.jobs.results import ResultStore, describe_file
from openeo_dedl.jobs.store import JobStore, LogEntry, LogPage, run_token
from openeo_dedl.storage import Database, utcnow
from openeo_dedl.storage.models import Job, JobLog
from openeo_dedl.storage.udps import UserProcessStore

logger = logging.getLogger(__name__)

ACTIVE = ("queued", "running")
# Seconds close() waits for running jobs to stop before leaving them to the next start.
SHUTDOWN_WAIT_SECONDS = 30.0
_STOP = object()


class JobFailed(Exception):
    """Results were asked of a job that ended in ``error``: carries its last error log."""

    def __init__(self, entry: JobLog | None, job: Job):
        super().__init__(job.id)
        self.entry, self.job = entry, job


@dataclass(frozen=True)
class Download:
    """A result file to send: its media type, size and bytes."""

    name: str
    media_type: str
    size: int
    chunks: Iterator[bytes]


def iso_duration(seconds: float) -> str:
    """An ISO 8601 duration (``PT1H2M3S``) of whole seconds, at least one."""
    total = max(1, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [
        f"{hours}H" if hours else "",
        f"{minutes}M" if minutes else "",
        f"{secs}S" if secs else "",
    ]
    return "PT" + "".join(parts)


class JobService:
    """Batch jobs of all users; every public method taking ``user_id`` acts for that user only."""

    def __init__(self, settings: Settings, database: Database, executor: Callable[[], Any]):
        """``executor()`` gives the execution engine (``Executor``: validate, plan, run_batch)."""
        self.settings = settings
        self.store = JobStore(database)
        # Calls of the job owner's user-defined processes are inlined when the job runs.
        self.user_processes = UserProcessStore(database)
        self.results = ResultStore(settings)
        self._executor = executor
        self._queue: queue.Queue = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._controls: dict[str, RunControl] = {}
        self._stopping: set[str] = set()  # jobs canceled because the server stops
        self._lock = threading.Lock()
        self._closing = False

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Recover jobs a previous server left behind and start the worker threads."""
        self.recover()
        for i in range(self.settings.jobs.workers):
            thread = threading.Thread(target=self._work, name=f"job-worker-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)
        for job_id in self.store.ids_in("queued"):
            self._queue.put(job_id)

    def recover(self) -> None:
        """Jobs still ``running`` belong to no one after a crash: queue them again or fail them."""
        max_attempts = self.settings.jobs.max_attempts
        for job_id in self.store.ids_in("running"):
            job = self.store.load(job_id)
            if job is None:
                continue
            if job.attempts < max_attempts:
                self.store.transition(
                    job_id,
                    ["running"],
                    "queued",
                    progress=0.0,
                    log=LogEntry(
                        "warning",
                        f"The server stopped while this job was running (run {job.attempts} of "
                        f"at most {max_attempts}); it was queued to run again.",
                        code="JobInterrupted",
                    ),
                )
            else:
                message = (
                    f"The server stopped while this job was running, {job.attempts} time(s): "
                    f"it is not run again (jobs.max_attempts = {max_attempts})."
                )
                self.store.transition(
                    job_id,
                    ["running"],
                    "error",
                    finished=utcnow(),
                    error={"code": "JobInterrupted", "message": message},
                    log=LogEntry("error", message, code="JobInterrupted"),
                )

    def close(self) -> None:
        """Stop the workers: running jobs are canceled and queued again for the next start."""
        with self._lock:
            self._closing = True
            controls = dict(self._controls)
            self._stopping.update(controls)
        for control in controls.values():
            control.cancel()
        for _ in self._threads:
            self._queue.put(_STOP)
        deadline = time.monotonic() + SHUTDOWN_WAIT_SECONDS
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        # Threads still busy are daemons: their jobs stay `running` and recover() handles them.

    # -- API operations --------------------------------------------------------------------
    def create(self, user_id: str, process: dict, **fields: Any) -> Job:
        _check_process(process)
        return self.store.create(user_id, process=process, **fields)

    def list(self, user_id: str) -> list[Job]:
        return self.store.list_for(user_id)

    def get(self, user_id: str, job_id: str) -> Job:
        return self.store.get(user_id, job_id)

    def update(self, user_id: str, job_id: str, **fields: Any) -> None:
        """Change title, description, process, billing plan, budget or log level."""
        if "process" in fields:
            _check_process(fields["process"])
        with self.store.db.session() as s:
            job = self.store.get_for(s, user_id, job_id)
            if job.status in ACTIVE:
                raise JobLocked("Batch job is locked due to a queued or running batch computation.")
            for key, value in fields.items():
                setattr(job, key, value)
            job.updated = utcnow()

    def delete(self, user_id: str, job_id: str) -> None:
        """Stop the job if it runs, delete its results, logs and record."""
        with self.store.db.session() as s:
            job = self.store.get_for(s, user_id, job_id)
            s.delete(job)
        self._cancel_run(job_id)
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
        self._queue.put(job_id)

    def cancel(self, user_id: str, job_id: str) -> None:
        """Stop a queued (→ ``created``) or running (→ ``canceled``) job; else no effect."""
        job = self.store.get(user_id, job_id)
        if job.status == "queued" and self.store.transition(
            job_id, ["queued"], "created", log=LogEntry("info", "Canceled before it started.")
        ):
            return
        if self.store.transition(
            job_id,
            ["running"],
            "canceled",
            finished=utcnow(),
            log=LogEntry("info", "Canceled by the user: the work on the sites is being stopped."),
        ):
            self._cancel_run(job_id)

    def _cancel_run(self, job_id: str) -> None:
        with self._lock:
            control = self._controls.get(job_id)
        if control is not None:
            control.cancel()

    def logs(
        self,
        user_id: str,
        job_id: str,
        offset: int | None,
        level: str,
        limit: int | None,
    ) -> LogPage:
        return self.store.logs(user_id, job_id, offset, level, limit)

    def results_of(self, user_id: str, job_id: str, partial: bool) -> tuple[Job, str]:
        """The job and its ``openeo:status`` for its results document.

        JobNotFinished unless finished (or ``partial``); JobFailed for a job in ``error``.
        """
        job = self.store.get(user_id, job_id)
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
            chunks=self.results.read_chunks(job_id, name, run),
        )

    def estimate(self, user_id: str, job_id: str) -> dict[str, Any]:
        """Estimated duration and result size, and the plan explaining where things run."""
        job = self.store.get(user_id, job_id)
        executor = self._executor()
        udps = self.user_processes.all(user_id)
        errors = executor.validate(job.process, user_processes=udps)
        if errors:
            raise errors[0]
        _, plan = executor.plan(job.process["process_graph"], user_processes=udps)
        plan_dict = plan.to_dict()
        node_bytes = plan_dict.get("node_bytes", {})
        loaded = sum(node_bytes.get(load["node"], 0) for load in plan_dict.get("loads", []))
        moved = (plan_dict.get("estimated_bytes") or {}).get("planned") or 0
        rate = self.settings.jobs.estimate_bytes_per_second
        estimate: dict[str, Any] = {
            # Reading the inputs and moving outputs between sites dominate; a rough guide.
            "duration": iso_duration((loaded + moved) / rate),
            "downloads_included": None,
            "expires": (utcnow() + timedelta(days=1)).isoformat().replace("+00:00", "Z"),
            "openeo-dedl:plan": plan_dict,
        }
        size = node_bytes.get(plan_dict.get("result_node"))
        if isinstance(size, int | float) and size >= 0:
            estimate["size"] = int(size)
        return estimate

    # -- running ---------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            job_id = self._queue.get()
            if job_id is _STOP:
                return
            with self._lock:
                if self._closing:
                    return
            try:
                self._run(job_id)
            except Exception:  # a worker thread must survive whatever one job does
                logger.exception("running job %s failed unexpectedly", job_id)

    def _run(self, job_id: str) -> None:
        from sqlalchemy import literal_column

        # Claim: only one worker (of any process) moves a queued job to running.
        if not self.store.transition(
            job_id,
            ["queued"],
            "running",
            started=utcnow(),
            progress=0.0,
            attempts=literal_column("attempts") + 1,
        ):
            return
        job = self.store.load(job_id)
        if job is None:
            return
        # Every write of this run names it (its start time): a run the user canceled and
        # started again while this one was still stopping must not touch the new one.
        run = job.started
        progress = JobProgress(
            log=lambda level, message, **kw: self.store.log(job_id, level, message, run=run, **kw),
            set_progress=lambda percent, **fields: self.store.set(
                job_id, run=run, progress=round(percent, 1), **fields
            ),
            still_running=lambda: self._still_running(job_id, run),
            cancel=lambda: control.cancel(),
        )
        control = RunControl(on_event=progress)
        with self._lock:
            self._controls[job_id] = control
        tmp_root = Path(self.settings.data_dir) / "tmp"
        tmp_root.mkdir(parents=True, exist_ok=True)
        work_dir = Path(tempfile.mkdtemp(prefix=f"job-{job_id}-", dir=tmp_root))
        self.store.log(job_id, "info", f"Job started (run {job.attempts}).", run=run)
        try:
            # The user's processes as they are now: a job runs what its graph calls at start.
            udps = self.user_processes.all(job.user_id)
            result = self._executor().run_batch(
                job.process, work_dir, control, user=job.user_id, user_processes=udps
            )
            control.check()
            self.store.set(job_id, run=run, progress=WRITING_PERCENT)
            self._finish(job, result)
        except RunCanceled:
            self._stopped(job_id, progress, run)
        except Exception as exc:
            self._failed(job_id, exc, progress, run)
        finally:
            with self._lock:
                if self._controls.get(job_id) is control:
                    self._controls.pop(job_id)
                    self._stopping.discard(job_id)
            shutil.rmtree(work_dir, ignore_errors=True)

    def _still_running(self, job_id: str, run: datetime | None) -> bool:
        job = self.store.load(job_id)
        return job is not None and job.status == "running" and job.started == run

    def _finish(self, job: Job, result) -> None:
        name, token = Path(result.path).name, run_token(job)
        size = self.results.publish(job.id, Path(result.path), name, run=token)
        asset = {"name": name, "run": token, "size": size, "roles": ["data"]}
        asset.update(describe_file(Path(result.path), result.media_type))
        moved = (result.usage.get("cross_site_bytes") or {}).get("value", 0)
        seconds = transfer_seconds(result.usage)
        transfers = len(result.usage.get("transfers", []))
        done = self.store.transition(
            job.id,
            ["running"],
            "finished",
            run=job.started,
            progress=100.0,
            finished=utcnow(),
            usage=result.usage,
            execution_plan=result.plan,
            results=[asset],
            log=LogEntry(
                "info",
                f"Job finished: {name} ({size} bytes); {moved} bytes crossed sites in "
                f"{transfers} transfer(s) taking {seconds:.2f} s.",
                data={"usage": result.usage},
            ),
        )
        if not done:
            # Canceled or deleted while the last step ran: nothing of this run is kept.
            self.results.delete(job.id, token)

    def _stopped(self, job_id: str, progress: JobProgress, run: datetime | None) -> None:
        with self._lock:
            shutting_down = job_id in self._stopping
        if shutting_down and self.store.transition(
            job_id,
            ["running"],
            "queued",
            run=run,
            progress=0.0,
            # The run was cut short by the server, not by the job: it does not count.
            attempts=_attempts_minus_one(),
            log=LogEntry(
                "warning",
                "The server stopped: the job was interrupted and will run again when the "
                "server is back.",
                code="JobInterrupted",
            ),
        ):
            return
        # Canceled by the user (already `canceled`), or the job was deleted.
        self.store.transition(job_id, ["running"], "canceled", run=run, finished=utcnow())
        self.store.set(job_id, run=run, usage=progress.usage())
        self.store.log(job_id, "info", "Stopped: the work on the sites was canceled.", run=run)

    def _failed(
        self, job_id: str, exc: Exception, progress: JobProgress, run: datetime | None
    ) -> None:
        timeout = self.settings.jobs.timeout_seconds
        if isinstance(exc.__cause__, TimeoutError) and timeout is not None:
            error = OpenEOError(
                f"The job's computation at a site took longer than {timeout:g} s "
                "(jobs.timeout_seconds) and was stopped.",
                code="JobTimeout",
                status=500,
            )
        elif isinstance(exc, OpenEOError):
            error = exc
        else:
            logger.exception("job %s failed", job_id)
            error = Internal(f"Server error: {type(exc).__name__}: {exc}")
        self.store.transition(
            job_id,
            ["running"],
            "error",
            run=run,
            finished=utcnow(),
            error={"code": error.code, "message": error.message},
            usage=progress.usage(),
            log=LogEntry("error", error.message, code=error.code),
        )


def _check_process(process: Any) -> None:
    if not isinstance(process, dict) or not isinstance(process.get("process_graph"), dict):
        raise ProcessGraphMissing("Invalid process specified. It doesn't contain a process graph.")


def _attempts_minus_one():
    from sqlalchemy import literal_column

    return literal_column("attempts") - 1
