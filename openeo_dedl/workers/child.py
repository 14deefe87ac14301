"""A worker process: runs the tasks its supervisor hands it, one at a time.

It holds the executor (process registry, site clusters) and does everything a run needs:
parsing, planning, driving the sites, writing results. Its supervisor (:mod:`.pool`) claims
the tasks, watches time and memory, and kills the whole process (its site clusters' local
workers with it) when a task passes its budget, so nothing a run does can stall the API.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import queue
import shutil
import signal
import sys
import tempfile
import threading
from multiprocessing.connection import Connection
from pathlib import Path

from openeo_dedl.config import Settings
from openeo_dedl.errors import Internal, OpenEOError, WorkerLost
from openeo_dedl.execution.control import RunCanceled, RunControl
from openeo_dedl.planning import RunOptions
from openeo_dedl.storage import Database
from openeo_dedl.storage.process_store import UserProcessStore
from openeo_dedl.workers.batch import BatchRunner
from openeo_dedl.workers.queue import Task, WorkQueue

logger = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Linux: the kernel kills this process when its supervisor dies (even by ``kill -9``),
    so no worker outlives it and keeps running work it no longer owns."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class ChildWorker:
    """The loop of one worker process."""

    def __init__(self, settings: Settings, worker_id: str, conn: Connection):
        from openeo_dedl.backend import Backend

        self.settings, self.worker_id, self.conn = settings, worker_id, conn
        self.backend = Backend(settings)
        # Importing the process implementations takes seconds: before the first task, not in it.
        self.backend.process_specs()
        self.database = Database(settings.effective_database_url)
        self.queue = WorkQueue(self.database)
        self.user_processes = UserProcessStore(self.database)
        self.batch = BatchRunner(settings, self.database, self.backend.executor)
        self._tasks: queue.Queue[Task | None] = queue.Queue()
        self._control: RunControl | None = None
        self._stopping = False

    def serve(self) -> None:
        threading.Thread(target=self._listen, name="supervisor-pipe", daemon=True).start()
        self.conn.send(("ready",))
        try:
            while True:
                task = self._tasks.get()
                if task is None:
                    return
                try:
                    self._run(task)
                except Exception:  # the worker must survive whatever one task does
                    logger.exception("task %s failed unexpectedly", task.id)
                self._control = None
                self.conn.send(("done", task.id))
        finally:
            self.backend.close()
            self.database.dispose()

    def _listen(self) -> None:
        while True:
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                # The supervisor is gone without a word (it sends "stop" when it shuts down):
                # die as it died, leaving the work to the lease recovery (a crash counts as a
                # run). PR_SET_PDEATHSIG did this while workers were its own children; they
                # are the forkserver's now, which outlives it by a moment.
                os.kill(os.getpid(), signal.SIGKILL)
            if message[0] == "run":
                self._tasks.put(message[1])
            elif message[0] == "cancel":
                control = self._control
                if control is not None:
                    control.cancel()
            elif message[0] == "stop":
                self.stop()
                return

    def stop(self) -> None:
        """Cancel the current task (a batch job is queued again) and leave the loop."""
        self._stopping = True
        control = self._control
        if control is not None:
            control.cancel()
        self._tasks.put(None)

    def _set_control(self, control: RunControl) -> None:
        self._control = control
        if self._stopping:
            control.cancel()

    def _run(self, task: Task) -> None:
        if task.kind == "batch":
            self.batch.run(task, self._set_control, lambda: self._stopping)
        else:
            self._run_sync(task)

    def _run_sync(self, task: Task) -> None:
        run = self.queue.sync_run(task.id)
        if run is None or run.status != "running":
            return
        tmp_root = Path(self.settings.data_dir) / "tmp"
        tmp_root.mkdir(parents=True, exist_ok=True)
        work_dir = Path(tempfile.mkdtemp(prefix=f"sync-{task.id}-", dir=tmp_root))
        control = RunControl()
        self._set_control(control)
        try:
            udps = self.user_processes.all(run.user_id)
            result = self.backend.run_sync(
                run.process,
                work_dir,
                user=run.user_id,
                user_processes=udps,
                control=control,
                options=RunOptions.from_dict(run.options),
            )
        except RunCanceled:
            shutil.rmtree(work_dir, ignore_errors=True)
            if self._stopping:
                self.queue.fail_sync(
                    task.id, self.worker_id, WorkerLost("The server stopped during the request.")
                )
            return
        except OpenEOError as exc:  # the executor's: a timeout is one too
            shutil.rmtree(work_dir, ignore_errors=True)
            self.queue.fail_sync(task.id, self.worker_id, exc)
            return
        except Exception as exc:
            shutil.rmtree(work_dir, ignore_errors=True)
            logger.exception("synchronous run %s failed", task.id)
            self.queue.fail_sync(
                task.id, self.worker_id, Internal(f"Server error: {type(exc).__name__}: {exc}")
            )
            return
        outcome = {
            "path": str(result.path),
            "work_dir": str(work_dir),
            "media_type": result.media_type,
            "usage": result.usage.to_dict(),
            "plan": result.plan,
        }
        if not self.queue.finish_sync(task.id, self.worker_id, outcome):
            shutil.rmtree(work_dir, ignore_errors=True)  # nobody waits for it any more


def child_main(settings: Settings, worker_id: str, conn: Connection, log_level: str) -> None:
    """Entry point of a worker process (forked from the forkserver, see ``pool.worker_context``)."""
    _die_with_parent()
    logging.basicConfig(
        level=log_level.upper(),
        format=f"%(asctime)s worker {os.getpid()} %(levelname)s %(name)s: %(message)s",
    )
    # Ctrl-C in a terminal reaches the whole process group: the supervisor decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    worker = ChildWorker(settings, worker_id, conn)
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    worker.serve()
