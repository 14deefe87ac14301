"""Synchronous runs as the API sees them: hand a process to the workers, wait, get the file.

:class:`QueuedSyncRuns` queues the run in the database for any worker (this machine's or
another's) and waits for its outcome without blocking the event loop; the result file lies in
the worker's work folder under the data dir (shared by API and workers, see
docs/deployment.md) until the API has sent it. :class:`InlineSyncRuns` runs in a thread of
this process, only for a backend given to the app by its caller (tests of the HTTP layer).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from openeo_dedl.config import Settings
from openeo_dedl.errors import Canceled, Internal, ServiceUnavailable, restore
from openeo_dedl.execution.usage import Usage
from openeo_dedl.planning import RunOptions
from openeo_dedl.workers.queue import WorkQueue

Disconnected = Callable[[], Awaitable[bool]]

# Polling the database for the outcome: quick at first (small requests finish in tens of
# milliseconds), then at most this often.
_FIRST_POLL_SECONDS = 0.01
_MAX_POLL_SECONDS = 0.25


@dataclass
class SyncOutcome:
    """A finished synchronous run: the file to send, its work folder (removed after sending)
    and what it cost; ``run_id`` names the run (API 1.3 ``OpenEO-Identifier``)."""

    path: Path
    work_dir: Path
    media_type: str
    usage: Usage
    plan: dict[str, Any]
    run_id: str

    def cleanup(self) -> None:
        shutil.rmtree(self.work_dir, ignore_errors=True)


class SyncRuns(Protocol):
    async def run(
        self,
        user_id: str,
        process: dict,
        user_processes: dict,
        disconnected: Disconnected,
        options: RunOptions | None = None,
    ) -> SyncOutcome: ...


class QueuedSyncRuns:
    """Runs through the database's work queue, in worker processes."""

    def __init__(self, settings: Settings, queue: WorkQueue, wake: Callable[[], None]):
        self.settings, self.queue, self._wake = settings, queue, wake

    async def run(
        self,
        user_id: str,
        process: dict,
        user_processes: dict,
        disconnected: Disconnected,
        options: RunOptions | None = None,
    ) -> SyncOutcome:
        """The outcome of running ``process`` for ``user_id`` (OpenEOError when it failed).

        The worker reads the user's processes itself; ``user_processes`` is for the inline
        runner's signature only.
        """
        del user_processes
        kept = options.to_dict() if options is not None else None
        run_id = await asyncio.to_thread(self.queue.submit_sync, user_id, process, kept)
        self._wake()
        # The record stays (the workers' fair share counts recent runs) until purged.
        return await self._wait(run_id, disconnected)

    async def _wait(self, run_id: str, disconnected: Disconnected) -> SyncOutcome:
        workers = self.settings.workers
        queued_until = time.monotonic() + workers.sync_queue_seconds
        # The worker's supervisor ends a run past its time; this is only a backstop.
        running_for = (
            self.settings.limits.sync_timeout_seconds
            + workers.timeout_grace_seconds
            + workers.lease_seconds
            + 30.0
        )
        running_until: float | None = None
        delay = _FIRST_POLL_SECONDS
        while True:
            await asyncio.sleep(delay)
            delay = min(delay * 2, _MAX_POLL_SECONDS)
            run = await asyncio.to_thread(self.queue.sync_run, run_id)
            if run is None:
                raise Internal("The synchronous run disappeared.")
            if run.status == "finished":
                return _outcome(run_id, run.result or {})
            if run.status == "error":
                error = run.error or {}
                raise restore(
                    error.get("code", "Internal"),
                    error.get("message", "The run failed."),
                    int(error.get("status", 500)),
                )
            now = time.monotonic()
            if run.status == "running" and running_until is None:
                running_until = now + running_for
            if await disconnected():
                await asyncio.to_thread(self.queue.cancel_sync, run_id)
                raise Canceled("The client went away.")
            too_long = (run.status == "queued" and now > queued_until) or (
                running_until is not None and now > running_until
            )
            if too_long and await asyncio.to_thread(self.queue.cancel_sync, run_id):
                raise ServiceUnavailable(
                    "No worker finished this request in time; the service is busy. "
                    "Please try again later or use a batch job."
                )


def _outcome(run_id: str, result: dict[str, Any]) -> SyncOutcome:
    return SyncOutcome(
        path=Path(result["path"]),
        work_dir=Path(result["work_dir"]),
        media_type=result["media_type"],
        usage=Usage.from_dict(result.get("usage")),
        plan=result.get("plan") or {},
        run_id=run_id,
    )


class InlineSyncRuns:
    """Runs in a thread of this process, on a backend the app's caller gave it."""

    def __init__(self, settings: Settings, backend: Any):
        self.settings, self.backend = settings, backend

    async def run(
        self,
        user_id: str,
        process: dict,
        user_processes: dict,
        disconnected: Disconnected,
        options: RunOptions | None = None,
    ) -> SyncOutcome:
        tmp_root = Path(self.settings.data_dir) / "tmp"
        tmp_root.mkdir(parents=True, exist_ok=True)
        work_dir = Path(tempfile.mkdtemp(prefix="sync-", dir=tmp_root))
        try:
            result = await asyncio.to_thread(
                self.backend.run_sync,
                process,
                work_dir,
                user=user_id,
                user_processes=user_processes,
                options=options,
            )
        except BaseException:
            shutil.rmtree(work_dir, ignore_errors=True)
            raise
        return SyncOutcome(
            path=Path(result.path),
            work_dir=work_dir,
            media_type=result.media_type,
            usage=result.usage,
            plan=result.plan,
            run_id=uuid.uuid4().hex,
        )
