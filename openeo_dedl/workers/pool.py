"""A supervisor of worker processes: claims work, hands it over, enforces budgets.

The supervisor never runs a process graph itself, so it always answers: it renews the
heartbeat of its worker id, recovers the work of lost workers, claims a task for every idle
worker process, and kills (with everything the process started) a worker process whose task
passes its time budget (``limits.sync_timeout_seconds`` / ``jobs.timeout_seconds``) or its
memory budget (``workers.max_memory_bytes``), or that does not stop after a cancel. The task
then ends with ``ProcessGraphComplexity`` (synchronous) or ``JobTimeout`` (batch), or
``MemoryLimitExceeded``, and a fresh worker process takes the next task. Killing the process
also ends its Dask work: its site clients disconnect (the schedulers release their tasks) and
local site clusters, its children, go with it.

``openeo-dedl worker`` runs a supervisor in its own process; ``openeo-dedl serve`` runs one
inside the API process (``workers.embedded`` worker processes), as a thread that only watches.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import secrets
import shutil
import socket
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

import psutil

from openeo_dedl.config import Settings
from openeo_dedl.errors import (
    JobTimeout,
    MemoryLimitExceeded,
    OpenEOError,
    WorkerLost,
    sync_timeout,
)
from openeo_dedl.storage import Database
from openeo_dedl.workers.child import child_main
from openeo_dedl.workers.queue import Task, WorkQueue

logger = logging.getLogger(__name__)

# How often a busy worker's memory and the wish to keep its task are checked (seconds).
_MEMORY_CHECK_SECONDS = 0.25
_WANTED_CHECK_SECONDS = 1.0


def new_worker_id() -> str:
    return f"{socket.gethostname()[:32]}-{os.getpid()}-{secrets.token_hex(4)}"


def kill_tree(pid: int) -> None:
    """SIGKILL a process and every process it started, and reap them."""
    try:
        root = psutil.Process(pid)
        procs = [*root.children(recursive=True), root]
    except psutil.NoSuchProcess:
        return
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(procs, timeout=10)


@dataclass
class _Slot:
    """One worker process and the task it runs."""

    index: int
    process: BaseProcess | None = None
    conn: Connection | None = None
    ready: bool = False
    task: Task | None = None
    deadline: float | None = None
    memory_checked: float = 0.0
    wanted_checked: float = 0.0
    cancel_sent: float | None = None
    # Worker processes of this slot that died before they were ready, in a row, and when the
    # next may start (a worker that cannot start must not be restarted in a tight loop).
    failed_starts: int = 0
    next_start: float = 0.0


def worker_context() -> multiprocessing.context.BaseContext:
    """How worker processes start: forked from a forkserver that imported the process
    implementations once (``preload.py``), else spawned. Never forked from the supervisor
    itself: it has threads."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["openeo_dedl.workers.preload"])
    return context


class WorkerPool:
    """``size`` worker processes fed from the database's work queue."""

    def __init__(
        self,
        settings: Settings,
        size: int,
        database: Database | None = None,
        prestart: bool = False,
        log_level: str = "info",
    ):
        self.settings = settings
        self.config = settings.workers
        self.id = new_worker_id()
        self._own_database = database is None
        self.database = database or Database(settings.effective_database_url)
        self.queue = WorkQueue(self.database)
        self.slots = [_Slot(i) for i in range(size)]
        self.prestart = prestart
        self.log_level = log_level
        self._context = worker_context()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_heartbeat = 0.0
        self._next_reap = 0.0

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Register this supervisor and start watching (worker processes start on demand)."""
        self.queue.register_worker(self.id, socket.gethostname()[:255], os.getpid())
        logger.info("worker supervisor %s with %d worker process(es)", self.id, len(self.slots))
        # The thread that starts the worker processes must live as long as they do: they die
        # with it (PR_SET_PDEATHSIG follows the parent thread).
        self._thread = threading.Thread(target=self._loop, name="worker-supervisor", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Look for work now (something was just queued)."""
        self._wake.set()

    def stop(self) -> None:
        """Stop the worker processes: batch jobs they run are queued again."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
        if self._own_database:
            self.database.dispose()

    def child_pids(self) -> list[int]:
        return [s.process.pid for s in self.slots if s.process is not None and s.process.pid]

    # -- the loop --------------------------------------------------------------------------
    def _loop(self) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    self._tick()
                except Exception:  # the supervisor must survive a database hiccup
                    logger.exception("worker supervisor: tick failed")
                self._wake.wait(self.config.poll_seconds)
                self._wake.clear()
        finally:
            self._shutdown()

    def _tick(self) -> None:
        now = time.monotonic()
        if now >= self._next_heartbeat:
            self._next_heartbeat = now + self.config.heartbeat_seconds
            if not self.queue.heartbeat(self.id):
                self._declared_lost()
        if now >= self._next_reap:
            self._next_reap = now + self.config.lease_seconds / 2
            self.queue.reap(self.config.lease_seconds, self.settings.jobs.max_attempts)
            for work_dir in self.queue.purge_sync(self.config.sync_result_seconds):
                shutil.rmtree(work_dir, ignore_errors=True)
        for slot in self.slots:
            self._watch(slot, now)
        self._assign()

    def _declared_lost(self) -> None:
        # Our heartbeat was late (a suspended host, say) and others recovered our work: it is
        # theirs now. Stop what we run and start over under the same id.
        logger.warning("worker supervisor %s was declared lost; restarting its workers", self.id)
        for slot in self.slots:
            if slot.task is not None:
                self._kill(slot)
        self.queue.register_worker(self.id, socket.gethostname()[:255], os.getpid())

    def _assign(self) -> None:
        idle = [s for s in self.slots if s.ready and s.task is None]
        # Batch jobs never hold the processes kept for synchronous requests.
        batch_slots = max(1, len(self.slots) - self.config.sync_reserved)
        for slot in idle:
            batch_running = sum(1 for s in self.slots if s.task and s.task.kind == "batch")
            task = self.queue.claim(
                self.id,
                self.config.max_sync_per_user,
                self.config.fair_share_seconds,
                batch=batch_running < batch_slots,
                max_batch_per_user=self.config.max_batch_per_user,
            )
            if task is None:
                break
            self._hand_over(slot, task)
        now = time.monotonic()
        missing = [s for s in self.slots if s.process is None and s.next_start <= now]
        if missing and (self.prestart or (not idle and self.queue.has_work())):
            for slot in missing if self.prestart else missing[:1]:
                self._spawn(slot)

    def _spawn(self, slot: _Slot) -> None:
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=child_main,
            args=(self.settings, self.id, child, self.log_level),
            name=f"openeo-dedl-worker-{slot.index}",
            # Not a daemon: a worker starts processes of its own (local site clusters). It
            # dies with its supervisor anyway (child.py, PR_SET_PDEATHSIG).
        )
        process.start()
        child.close()
        slot.process, slot.conn, slot.ready, slot.task = process, parent, False, None
        logger.info("worker process %d started (pid %s)", slot.index, process.pid)

    def _hand_over(self, slot: _Slot, task: Task) -> None:
        now = time.monotonic()
        limit = (
            self.settings.limits.sync_timeout_seconds
            if task.kind == "sync"
            else self.settings.jobs.timeout_seconds
        )
        # The run's own timeout comes first where it can act; this one where it cannot (a
        # computation holding the interpreter).
        slot.deadline = None if limit is None else now + limit + self.config.timeout_grace_seconds
        slot.task, slot.cancel_sent = task, None
        slot.memory_checked = slot.wanted_checked = now
        assert slot.conn is not None
        slot.conn.send(("run", task))

    # -- watching --------------------------------------------------------------------------
    def _watch(self, slot: _Slot, now: float) -> None:
        if slot.process is None:
            return
        self._read_messages(slot)
        if not slot.process.is_alive():
            task, code = slot.task, slot.process.exitcode
            if not slot.ready:
                slot.failed_starts += 1
                slot.next_start = now + min(60.0, 2.0**slot.failed_starts)
                logger.error(
                    "worker process %d exited (code %s) before it was ready; next start in %.0f s",
                    slot.index,
                    code,
                    slot.next_start - now,
                )
            self._forget(slot)
            if task is not None:
                logger.error("worker process %d died (exit code %s)", slot.index, code)
                self._lost(task, f"stopped unexpectedly (exit code {code})")
            return
        if slot.task is None:
            return
        if slot.deadline is not None and now > slot.deadline:
            self._over_budget(slot, self._timeout_error(slot.task))
            return
        if now - slot.memory_checked >= _MEMORY_CHECK_SECONDS:
            slot.memory_checked = now
            rss = self._rss(slot)
            if rss > self.config.max_memory_bytes:
                self._over_budget(slot, self._memory_error(rss))
                return
        if now - slot.wanted_checked >= _WANTED_CHECK_SECONDS:
            slot.wanted_checked = now
            self._check_wanted(slot, now)

    def _read_messages(self, slot: _Slot) -> None:
        assert slot.conn is not None
        try:
            while slot.conn.poll():
                message = slot.conn.recv()
                if message[0] == "ready":
                    slot.ready, slot.failed_starts = True, 0
                elif message[0] == "done" and slot.task is not None and message[1] == slot.task.id:
                    slot.task, slot.deadline, slot.cancel_sent = None, None, None
        except (EOFError, OSError):
            pass  # the process is gone: is_alive() says so next

    def _check_wanted(self, slot: _Slot, now: float) -> None:
        task = slot.task
        assert task is not None and slot.conn is not None
        if self.queue.still_wanted(task):
            return
        if slot.cancel_sent is None:
            slot.cancel_sent = now
            with contextlib.suppress(OSError):
                slot.conn.send(("cancel", task.id))
        elif now - slot.cancel_sent > self.config.cancel_grace_seconds:
            logger.warning("worker process %d ignored a cancel: killing it", slot.index)
            self._kill(slot)
            if task.kind == "batch":
                self.queue.jobs.log(
                    task.id,
                    "info",
                    "Stopped: the worker process was stopped to end the work on the sites.",
                    # Not into the log of a run started since (the job may be restarted at
                    # once after a cancel, while this one is still being stopped).
                    run=task.run,
                )

    @staticmethod
    def _rss(slot: _Slot) -> int:
        try:
            return psutil.Process(slot.process.pid).memory_info().rss
        except (psutil.NoSuchProcess, AttributeError):
            return 0

    def _timeout_error(self, task: Task) -> OpenEOError:
        if task.kind == "sync":
            return sync_timeout(self.settings.limits.sync_timeout_seconds)
        return JobTimeout(
            f"The job ran longer than {self.settings.jobs.timeout_seconds:g} s "
            "(jobs.timeout_seconds) and was stopped."
        )

    def _memory_error(self, rss: int) -> OpenEOError:
        limit = self.config.max_memory_bytes
        return MemoryLimitExceeded(
            f"The process needed more than {limit / 1e6:,.0f} MB of memory in its worker "
            f"(workers.max_memory_bytes; it had {rss / 1e6:,.0f} MB) and was stopped. "
            "Please reduce the extent, the resolution or the sizes the process creates."
        )

    def _over_budget(self, slot: _Slot, error: OpenEOError) -> None:
        task = slot.task
        assert task is not None
        logger.warning(
            "worker process %d over budget on %s %s: %s", slot.index, task.kind, task.id, error
        )
        self._kill(slot)
        if task.kind == "sync":
            self.queue.fail_sync(task.id, self.id, error)
        else:
            self.queue.fail_job(task.id, task.run, error)

    def _kill(self, slot: _Slot) -> None:
        if slot.process is not None and slot.process.pid:
            kill_tree(slot.process.pid)
            slot.process.join(timeout=5)
        self._forget(slot)

    def _forget(self, slot: _Slot) -> None:
        if slot.conn is not None:
            slot.conn.close()
        slot.process, slot.conn, slot.ready, slot.task = None, None, False, None
        slot.deadline, slot.cancel_sent = None, None

    def _lost(self, task: Task, how: str) -> None:
        """``task`` ended with its worker process, which ``how`` (e.g. "was stopped")."""
        if task.kind == "sync":
            message = f"The worker process running this request {how}; it was not completed."
            self.queue.fail_sync(task.id, self.id, WorkerLost(message))
        else:
            reason = f"The worker process running this job {how}"
            self.queue.interrupt_job(task.id, self.id, reason, self.settings.jobs.max_attempts)

    # -- shutdown --------------------------------------------------------------------------
    def _shutdown(self) -> None:
        running = [s for s in self.slots if s.process is not None]
        for slot in running:
            with contextlib.suppress(OSError, AttributeError):
                slot.conn.send(("stop",))
        deadline = time.monotonic() + self.config.shutdown_seconds
        for slot in running:
            slot.process.join(timeout=max(0.0, deadline - time.monotonic()))
            self._read_messages(slot)
            task = slot.task
            if slot.process.is_alive():
                self._kill(slot)
            else:
                self._forget(slot)
            if task is not None:
                self._lost(task, "was stopped with the server")
        with contextlib.suppress(Exception):
            self.queue.unregister_worker(self.id)
        logger.info("worker supervisor %s stopped", self.id)
