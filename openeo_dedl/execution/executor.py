"""Running a process: prepare (inline, validate, plan), run at the sites, write the result."""

from __future__ import annotations

import contextlib
import logging
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from openeo_dedl.catalog import Catalog
from openeo_dedl.config import Settings
from openeo_dedl.errors import (
    Internal,
    OpenEOError,
    SiteMisconfigured,
    SiteUnavailable,
    job_timeout,
    sync_timeout,
)
from openeo_dedl.execution import registry as process_registry
from openeo_dedl.execution.access import DataAccess
from openeo_dedl.execution.clusters import SiteClusters
from openeo_dedl.execution.control import RunCanceled, RunControl
from openeo_dedl.execution.environment import planning_environment
from openeo_dedl.execution.events import Planned
from openeo_dedl.execution.exports import export_result
from openeo_dedl.execution.load import LoadBudget, make_load_collection
from openeo_dedl.execution.processes.export import ExportRequest
from openeo_dedl.execution.result import SyncResult
from openeo_dedl.execution.reuse import ReuseStore
from openeo_dedl.execution.reuse_run import PlanReuse
from openeo_dedl.execution.runner import run_plan
from openeo_dedl.execution.save import (
    MEDIA_TYPES,
    SaveRequest,
    default_format,
    save_result,
    write_result,
)
from openeo_dedl.execution.versions import PROCESSES_RC1, processes_version_of
from openeo_dedl.planning import Environment, Invalid, Plan, Prepared, RunOptions, prepare

logger = logging.getLogger(__name__)


def as_openeo_error(exc: Exception) -> OpenEOError:
    """User-facing error for an exception raised while running processes.

    Python exceptions of the process implementations on the user's values became 400s in the
    implementations' wrapper (``processes/_wrap.py``); what reaches here otherwise is a bug or
    an unexpected failure: a logged 500.
    """
    if isinstance(exc, OpenEOError):
        return exc
    # Imported here: the implementations' wrapper pulls in xarray and geopandas.
    from openeo_dedl.execution.processes._wrap import upstream_exception

    upstream = upstream_exception(exc)
    if upstream is not None:
        return upstream
    logger.error("unexpected error while running a process graph", exc_info=exc)
    return Internal(f"Server error: {type(exc).__name__}: {exc}")


class Executor:
    """Knows the processes and the site clusters; runs processes."""

    def __init__(
        self, settings: Settings, catalog: Catalog, environment: Environment | None = None
    ):
        self.settings = settings
        self.catalog = catalog
        self.environment = environment or planning_environment(settings, catalog)
        self.clusters = SiteClusters(settings)

    def prepare(
        self,
        process: Any,
        user_processes: Mapping[str, dict] | None = None,
        user: str | None = None,
    ) -> Prepared | Invalid:
        """``process`` as it would run for ``user``: calls of ``user_processes`` (id ->
        process) inlined, validated; plans on demand."""
        return prepare(process, user_processes, self.environment, user)

    def run_sync(
        self,
        process: Any,
        work_dir: Path,
        user: str | None = None,
        user_processes: Mapping[str, dict] | None = None,
        control: RunControl | None = None,
        options: RunOptions | None = None,
    ) -> SyncResult:
        """Plan and run ``process`` within the synchronous limits; ``user`` owns the run
        (with the ``shared`` cluster policy it runs on that user's clusters), and calls of
        ``user_processes`` (the user's, id -> process) are inlined. ``control`` cancels it;
        ``options`` are the checked processing options (placement, workers)."""
        return self._run(
            self.prepare(process, user_processes, user).valid(),
            work_dir,
            max_bytes=self.settings.limits.sync_max_bytes,
            timeout=self.settings.limits.sync_timeout_seconds,
            timeout_error=sync_timeout,
            control=control,
            user=user,
            options=options or RunOptions(),
            processes=processes_version_of(process),
        )

    def run_batch(
        self,
        process: Any,
        work_dir: Path,
        control: RunControl,
        user: str | None = None,
        user_processes: Mapping[str, dict] | None = None,
        options: RunOptions | None = None,
    ) -> SyncResult:
        """Run a batch job's process: no size limit, cancelable and observed through ``control``.

        Emits a ``planned`` event (``plan``: the plan's dict) before anything runs; raises
        ``RunCanceled`` when ``control`` was canceled, OpenEOError for anything else.
        """
        return self._run(
            self.prepare(process, user_processes, user).valid(),
            work_dir,
            max_bytes=None,
            timeout=self.settings.jobs.timeout_seconds,
            timeout_error=job_timeout,
            control=control,
            user=user,
            options=options or RunOptions(),
            processes=processes_version_of(process),
        )

    def _run(self, prepared: Prepared, work_dir: Path, **run: Any) -> SyncResult:
        """Run ``prepared``; when a site turns out to be down, plan again without it (loads of
        replicated collections move to a replica) or fail with SiteUnavailable naming it."""
        down: set[str] = set()
        strategy = run["options"].placement
        while True:
            try:
                return self._run_once(prepared, work_dir, unavailable=frozenset(down), **run)
            except SiteUnavailable as exc:
                if exc.site is None or exc.site in down:
                    raise
                try:
                    prepared.plan(frozenset(down | {exc.site}), strategy)
                except SiteUnavailable:
                    raise exc from None  # no replica: the site's own error says what is down
                logger.warning("%s Planning again without site %s.", exc.message, exc.site)
                down.add(exc.site)

    def _run_once(
        self,
        prepared: Prepared,
        work_dir: Path,
        max_bytes: int | None,
        timeout: float | None,
        timeout_error: Callable[[float], OpenEOError],
        control: RunControl | None = None,
        user: str | None = None,
        unavailable: frozenset[str] = frozenset(),
        options: RunOptions | None = None,
        processes: str = PROCESSES_RC1,
    ) -> SyncResult:
        options = options or RunOptions()
        plan = prepared.plan(unavailable, options.placement)
        graph = plan.graph
        budget = LoadBudget(max_bytes)
        access = DataAccess.for_user(self.settings, user)  # what the run may read and fetch
        if control is not None:
            control.emit(Planned(plan.to_dict()))

        def registry_factory():
            return process_registry.build_registry(
                {
                    "load_collection": make_load_collection(
                        self.catalog, budget, unavailable, prepared.stac_sources
                    ),
                    "save_result": save_result,
                },
                access,
                processes,
            )

        try:
            with self.clusters.for_run(user, options.workers) as clusters:
                value, report = run_plan(
                    plan,
                    graph,
                    clusters,
                    registry_factory,
                    timeout=timeout,
                    staging=self._staging_urls(),
                    control=control,
                    reuse=self._reuse(plan, user),
                )
            report.site_workers.update(clusters.workers)
            if isinstance(value, SaveRequest):
                fmt, data = value.format, value.data
            else:
                fmt, data = default_format(value), value
            path = write_result(data, fmt, work_dir)
            exports = []
            if isinstance(value, ExportRequest):
                exports.append(export_result(self.settings, user, value, path, MEDIA_TYPES[fmt]))
        except RunCanceled:
            raise
        except Exception as exc:  # everything leaving here must be an openEO error
            raise _run_error(exc, control, timeout, timeout_error) from exc
        logger.info(
            "run finished: %d partitions, %d bytes crossed sites",
            len(plan.partitions),
            report.bytes_moved,
        )
        planned = plan.to_dict()
        if report.reused:  # the plan says what it did not compute
            planned["reused"] = [r.to_dict() for r in report.reused]
        return SyncResult(
            path=path,
            media_type=MEDIA_TYPES[fmt],
            usage=report,
            plan=planned,
            exports=exports,
        )

    def _reuse(self, plan: Plan, user: str | None) -> PlanReuse | None:
        """What ``user``'s run of ``plan`` may re-use and keeps (``reuse.enabled``)."""
        config = self.settings.reuse
        if not config.enabled:
            return None
        # The facts the plan was made with: the items (and versions) its searches found.
        graph, facts = plan.graph, dict(plan.facts)
        for node in graph.nodes:
            cid = graph.arguments(node).get("id")
            is_load = graph.process_id(node) == "load_collection"
            if is_load and isinstance(cid, str) and cid not in facts:
                with contextlib.suppress(OpenEOError):  # no facts: no key, computed
                    facts[cid] = self.environment.collection_facts(cid)
        store = ReuseStore(
            self.settings.reuse_url, user, config.ttl_seconds, config.max_bytes_per_user
        )
        return PlanReuse.for_plan(plan, facts, store)

    def _staging_urls(self) -> dict[str, str] | None:
        if self.settings.transfer_mode != "staging":
            return None
        return {site.name: self.settings.staging_url(site.name) for site in self.settings.sites}

    def close(self) -> None:
        self.clusters.close()


def _run_error(
    exc: Exception,
    control: RunControl | None,
    timeout: float | None,
    timeout_error: Callable[[float], OpenEOError],
) -> Exception:
    """What a run that raised ``exc`` fails with: the cancel, the run's own time limit, or the
    openEO error of ``exc``."""
    if control is not None and control.canceled:
        # Work cut off by the cancel fails in many ways: it was still the cancel.
        return RunCanceled("the run was canceled")
    if isinstance(exc, TimeoutError) and timeout is not None:
        return timeout_error(timeout)
    error = as_openeo_error(exc)
    if not isinstance(error, SiteUnavailable | SiteMisconfigured):
        # Failed inside a process (not at a site's compute): where, for the job log.
        with_stacktrace(error, exc)
    return error


# A stacktrace kept in a log entry is cut to its last characters (the innermost frames).
MAX_STACKTRACE_CHARS = 20_000


def with_stacktrace(error: OpenEOError, exc: BaseException) -> OpenEOError:
    """``error`` carrying the traceback of ``exc`` (with its causes), the exception a process
    raised, cut to :data:`MAX_STACKTRACE_CHARS`: job logs show it (API 1.3 ``stacktrace``)."""
    text = "".join(traceback.format_exception(exc))
    error.stacktrace = text[-MAX_STACKTRACE_CHARS:]
    return error
