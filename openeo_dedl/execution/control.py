"""Watching and stopping a run: progress events out, cancellation in.

A :class:`RunControl` goes with one run of a plan. The runner reports what happens (a partition
starts or ends at a site, an output crosses sites) through :meth:`RunControl.emit`, and computes
on the clusters through :meth:`RunControl.compute`, so that :meth:`RunControl.cancel` can cancel
the Dask futures of the run on the site clusters and the run stops with :class:`RunCanceled`.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from openeo_dedl.execution.events import RunEvent, WorkerLost

logger = logging.getLogger(__name__)


class RunCanceled(Exception):
    """The run was canceled (by the user, or because the server stops)."""


class RunControl:
    """Cancellation and progress events of one run (thread-safe)."""

    def __init__(
        self,
        on_event: Callable[[RunEvent], None] | None = None,
        parent: RunControl | None = None,
    ):
        self._on_event = on_event
        self._parent = parent
        self._canceled = threading.Event()
        self._futures: set = set()
        self._children: weakref.WeakSet[RunControl] = weakref.WeakSet()
        self._lock = threading.Lock()

    @property
    def canceled(self) -> bool:
        return self._canceled.is_set() or (self._parent is not None and self._parent.canceled)

    def scope(self) -> RunControl:
        """A control for one part of the run (one attempt of a plan): canceling it stops only
        its own futures, canceling this control stops it too; its events go to this one."""
        child = RunControl(parent=self)
        with self._lock:
            self._children.add(child)
        if self.canceled:
            child.cancel()
        return child

    def cancel(self) -> None:
        """Stop the run: cancel its futures on the site clusters; later steps do not start."""
        self._canceled.set()
        with self._lock:
            futures = list(self._futures)
            children = list(self._children)
        for future in futures:
            _cancel_quietly(future)
        for child in children:
            child.cancel()

    def check(self) -> None:
        """Raise :class:`RunCanceled` when the run was canceled."""
        if self.canceled:
            raise RunCanceled("the run was canceled")

    def compute(
        self, client, value: Any, timeout: float | None = None, site: str | None = None
    ) -> Any:
        """``value`` computed on ``client``'s cluster (at ``site``); cancelable by
        :meth:`cancel`."""
        return self.compute_and_fetch(client, value, timeout, site)[0]

    def compute_and_fetch(
        self, client, value: Any, timeout: float | None = None, site: str | None = None
    ) -> tuple[Any, float]:
        """``value`` computed on ``client``'s cluster and fetched from it, with the seconds the
        fetch took once the cluster had it (the hand-over, apart from the computing).

        While it computes, a worker of the cluster that disappears is reported
        (a ``WorkerLost`` event); Dask recomputes its
        tasks on the others.
        """
        self.check()
        # Before the graph is sent: a worker lost while it is sent counts too.
        workers = _workers_of(client)
        future = client.compute(value)
        with self._lock:
            self._futures.add(future)
        try:
            # A canceled run may have missed this future: cancel it now rather than wait.
            if self.canceled:
                future.cancel(force=True)
            self._wait_watching_workers(client, future, timeout, site, workers)
            started = time.perf_counter()
            result = future.result(timeout=timeout)
            return result, time.perf_counter() - started
        except Exception:
            if self.canceled:
                raise RunCanceled("the run was canceled") from None
            # Timed out or failed here: leave nothing computing on the cluster.
            _cancel_quietly(future)
            raise
        finally:
            with self._lock:
                self._futures.discard(future)

    def _wait_watching_workers(
        self, client, future, timeout: float | None, site, known: set[str]
    ) -> None:
        from distributed import wait

        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            step = WORKER_WATCH_SECONDS
            if deadline is not None:
                step = min(step, max(0.0, deadline - time.monotonic()))
            try:
                wait(future, timeout=step)
                return
            except TimeoutError:
                if deadline is not None and time.monotonic() >= deadline:
                    raise
            now = _workers_of(client)
            lost = sorted(known - now)
            if lost:
                logger.warning("site %s lost Dask worker(s) %s during a run", site, lost)
                self.emit(WorkerLost(site=site, workers=lost, remaining=len(now)))
            known = now

    def emit(self, event: RunEvent) -> None:
        """Report an event (``execution/events.py``); a failing listener never breaks the run."""
        if self._parent is not None:
            self._parent.emit(event)
        if self._on_event is None:
            return
        try:
            self._on_event(event)
        except Exception:
            logger.exception("run event listener failed on %s", type(event).__name__)


# How often the workers of a cluster are compared while a run waits for it.
WORKER_WATCH_SECONDS = 1.0


def _workers_of(client) -> set[str]:
    try:
        return set(client.scheduler_info()["workers"])
    except Exception:  # a cluster going away: the wait itself reports it
        return set()


def _cancel_quietly(future) -> None:
    try:
        # force: tasks other clients also wait for are cancelled too (only ours exist).
        future.cancel(force=True)
    except Exception:  # a cluster that went away has nothing left to cancel
        logger.debug("cancelling a future failed", exc_info=True)
