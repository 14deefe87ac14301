"""One run of a batch job inside a worker process: run, publish results, record the outcome."""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import literal_column

from openeo_dedl.config import Settings
from openeo_dedl.errors import JOB_INTERRUPTED, Internal, OpenEOError
from openeo_dedl.execution.control import RunCanceled, RunControl
from openeo_dedl.jobs.progress import WRITING_PERCENT, JobProgress
from openeo_dedl.jobs.results import ResultStore, describe_file
from openeo_dedl.jobs.store import JobStore, LogEntry, run_token
from openeo_dedl.planning import RunOptions
from openeo_dedl.storage import Database, utcnow
from openeo_dedl.storage.models import Job
from openeo_dedl.storage.process_store import UserProcessStore
from openeo_dedl.workers.queue import Task

logger = logging.getLogger(__name__)


class BatchRunner:
    """Runs claimed batch jobs with an executor (``run_batch``) and records what happened."""

    def __init__(self, settings: Settings, database: Database, executor: Any):
        self.settings = settings
        self.store = JobStore(database)
        self.user_processes = UserProcessStore(database)
        self.results = ResultStore(settings)
        self.executor = executor

    def run(
        self,
        task: Task,
        on_control: Callable[[RunControl], None],
        stopping: Callable[[], bool],
    ) -> None:
        """Run the job of ``task`` (claimed: ``running``, owned by this worker).

        ``on_control`` receives the run's control (to cancel it); ``stopping()`` tells whether
        a cancel means the worker stops (the job is queued again) rather than the user
        canceled it.
        """
        job = self.store.load(task.id)
        if job is None or job.started != task.run:
            return
        run = task.run
        progress = JobProgress(
            log=lambda level, message, **kw: self.store.log(task.id, level, message, run=run, **kw),
            set_progress=lambda percent, **fields: self.store.set(
                task.id, run=run, progress=round(percent, 1), **fields
            ),
            still_running=lambda: self._still_running(task.id, run),
            cancel=lambda: control.cancel(),
        )
        control = RunControl(on_event=progress)
        on_control(control)
        tmp_root = Path(self.settings.data_dir) / "tmp"
        tmp_root.mkdir(parents=True, exist_ok=True)
        work_dir = Path(tempfile.mkdtemp(prefix=f"job-{task.id}-", dir=tmp_root))
        try:
            # The user's processes as they are now: a job runs what its graph calls at start.
            udps = self.user_processes.all(job.user_id)
            result = self.executor.run_batch(
                job.process,
                work_dir,
                control,
                user=job.user_id,
                user_processes=udps,
                options=RunOptions.from_dict(job.options),
            )
            control.check()
            self.store.set(task.id, run=run, progress=WRITING_PERCENT)
            self._finish(job, result)
        except RunCanceled:
            self._stopped(task.id, progress, run, stopping())
        except Exception as exc:
            self._failed(task.id, exc, progress, run)
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)

    def _still_running(self, job_id: str, run) -> bool:
        job = self.store.load(job_id)
        return job is not None and job.status == "running" and job.started == run

    def _finish(self, job: Job, result) -> None:
        name, token = Path(result.path).name, run_token(job)
        size = self.results.publish(job.id, Path(result.path), name, run=token)
        asset = {"name": name, "run": token, "size": size, "roles": ["data"]}
        asset.update(describe_file(Path(result.path), result.media_type))
        usage = result.usage
        moved, seconds, transfers = usage.bytes_moved, usage.transfer_seconds, len(usage.transfers)
        done = self.store.transition(
            job.id,
            ["running"],
            "finished",
            run=job.started,
            progress=100.0,
            finished=utcnow(),
            worker_id=None,
            usage=usage.to_dict(),
            execution_plan=result.plan,
            results=[asset],
            log=LogEntry(
                "info",
                f"Job finished: {name} ({size} bytes); {moved} bytes crossed sites in "
                f"{transfers} transfer(s) taking {seconds:.2f} s.{_exported(result.exports)}",
                data={
                    "usage": usage.to_dict(),
                    **({"exports": result.exports} if result.exports else {}),
                },
            ),
        )
        if not done:
            # Canceled or deleted while the last step ran: nothing of this run is kept.
            self.results.delete(job.id, token)

    def _stopped(self, job_id: str, progress: JobProgress, run, shutting_down: bool) -> None:
        if shutting_down and self.store.transition(
            job_id,
            ["running"],
            "queued",
            run=run,
            progress=0.0,
            queued=utcnow(),
            worker_id=None,
            # The run was cut short by the server, not by the job: it does not count.
            attempts=literal_column("attempts") - 1,
            log=LogEntry(
                "warning",
                "The server stopped: the job was interrupted and will run again when the "
                "server is back.",
                code=JOB_INTERRUPTED,
            ),
        ):
            return
        # Canceled by the user (already `canceled`), or the job was deleted.
        self.store.transition(
            job_id, ["running"], "canceled", run=run, finished=utcnow(), worker_id=None
        )
        self.store.set(job_id, run=run, usage=progress.usage().to_dict(), worker_id=None)
        self.store.log(job_id, "info", "Stopped: the work on the sites was canceled.", run=run)

    def _failed(self, job_id: str, exc: Exception, progress: JobProgress, run) -> None:
        # The executor's errors are openEO errors already (a timeout is JobTimeout); anything
        # else failed here, around the run: our bug, a logged 500.
        if isinstance(exc, OpenEOError):
            error = exc
        else:
            logger.exception("job %s failed", job_id)
            error = Internal(f"Server error: {type(exc).__name__}: {exc}")
        self.store.fail(
            job_id,
            run,
            error.code,
            error.message,
            stacktrace=error.stacktrace,
            usage=progress.usage().to_dict(),
        )


def _exported(exports: list[dict]) -> str:
    """The log line's words on what export_workspace copied (nothing when none)."""
    return "".join(
        f" Exported to workspace {e['workspace']}: {e['folder']}/{e['asset']}." for e in exports
    )
