"""Running a plan: each partition through openeo-processes-dask on its site's cluster.

Partition outputs that another site needs are computed where they are produced and handed over as
in-memory results; every such transfer is measured. (Staged hand-over through per-site object
storage is the production mode; this in-process mode needs no shared storage.)
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any

import dask
import xarray as xr
from distributed.client import FutureCancelledError
from distributed.comm.core import CommClosedError
from openeo_pg_parser_networkx import ProcessRegistry

from openeo_dedl.errors import SiteUnavailable
from openeo_dedl.execution.control import RunCanceled, RunControl
from openeo_dedl.execution.events import (
    Computed,
    Computing,
    PartitionFinished,
    PartitionStarted,
    RunStarted,
)
from openeo_dedl.execution.merge import add_internal_processes
from openeo_dedl.execution.packing import pack, unpack
from openeo_dedl.execution.pg_adapter import add_adapter_processes, run_parsed
from openeo_dedl.execution.registry import available_specs
from openeo_dedl.execution.reuse_run import PlanReuse
from openeo_dedl.execution.save import SaveRequest
from openeo_dedl.execution.subgraph import input_parameter, partition_subgraph
from openeo_dedl.execution.transfer import new_run_id, open_staged, remove_run, stage_output
from openeo_dedl.execution.usage import PartitionRecord, ReuseRecord, TransferRecord, Usage
from openeo_dedl.planning import FlatGraph, Partition, Plan

logger = logging.getLogger(__name__)


def _is_lazy(value: Any) -> bool:
    return dask.is_dask_collection(value)


def _nbytes(value: Any) -> int:
    if isinstance(value, SaveRequest):
        return _nbytes(value.data)
    if isinstance(value, xr.DataArray | xr.Dataset):
        return int(value.nbytes)
    if hasattr(value, "nbytes"):
        return int(value.nbytes)
    import sys

    return sys.getsizeof(value)


def _compute_on(
    client, value: Any, timeout: float | None, control: RunControl, site: str | None = None
) -> Any:
    if isinstance(value, SaveRequest):
        data = _compute_on(client, value.data, timeout, control, site)
        return value.with_data(data)  # an ExportRequest stays one
    if _is_lazy(value):
        if client is None:
            return dask.compute(value, scheduler="synchronous")[0]
        # Through the control: canceling the run cancels this future on the site's cluster.
        return control.compute(client, value, timeout, site)
    return value


def run_registry(registry_factory: Callable[[], ProcessRegistry]) -> ProcessRegistry:
    """A registry for every graph of one run: ``registry_factory()`` and the processes the
    planner (e.g. the merge of a load split over sites) and the parser adapter add."""
    registry = registry_factory()
    add_internal_processes(registry)
    add_adapter_processes(registry)
    return registry


def evaluate_graph(
    flat_graph: dict,
    registry_factory: Callable[[], ProcessRegistry],
    parameters: dict[str, Any],
    registry: ProcessRegistry | None = None,
) -> Any:
    """Parse one flat graph (a partition's sub-graph) and run it with ``parameters``, with
    ``registry`` (from :func:`run_registry`) or else a fresh one."""
    registry = registry if registry is not None else run_registry(registry_factory)
    return run_parsed(flat_graph, registry, parameters, available_specs())


def _on_cluster(client):
    """Make ``client`` the current one in this thread only: dask's eager ``compute()`` calls
    inside implementations then run at the partition's site (dask asks ``get_client()``, which
    honours ``as_current``; global dask config would leak between concurrent requests)."""
    return contextlib.nullcontext() if client is None else client.as_current()


def run_plan(
    plan: Plan,
    graph: FlatGraph,
    clusters,
    registry_factory: Callable[[], ProcessRegistry],
    timeout: float | None = None,
    staging: Mapping[str, str] | None = None,
    control: RunControl | None = None,
    reuse: PlanReuse | None = None,
) -> tuple[Any, Usage]:
    """Run every partition at its site; return the result node's computed value and a report.

    ``clusters.client(site)`` gives the Dask client of a site (see ``SiteClusters.for_run``).
    With ``staging`` (site → fsspec URL), cube outputs needed at another site are handed over
    through the producing site's staging store instead of through this process. ``control``
    receives progress events and can cancel the run (which then raises ``RunCanceled``).
    With ``reuse``, kept partition results are used and what is computed is kept.
    """
    run_id = new_run_id()
    try:
        state = _PlanRun(plan, graph, clusters, registry_factory, timeout, staging, run_id)
        # A scope of its own: a failed partition can stop its siblings without canceling the
        # caller's control (which a next attempt of the same job still uses).
        state.control = (control or RunControl()).scope()
        state.reuse = reuse
        return state.run(), state.report
    finally:
        for url in (staging or {}).values():
            remove_run(url, run_id)


def dependency_levels(plan: Plan) -> list[list[Partition]]:
    """Partitions grouped so that each group depends only on earlier groups."""
    producer = {node: p.id for p in plan.partitions for node in p.nodes}
    level: dict[str, int] = {}
    for p in plan.partitions:  # dependency order
        level[p.id] = 1 + max((level[producer[n]] for n in p.inputs), default=-1)
    groups: dict[int, list[Partition]] = {}
    for p in plan.partitions:
        groups.setdefault(level[p.id], []).append(p)
    return [groups[i] for i in sorted(groups)]


class _PlanRun:
    """State of one run of a plan: values of partition outputs, hand-overs and the report."""

    def __init__(self, plan, graph, clusters, registry_factory, timeout, staging, run_id):
        self.plan, self.graph, self.clusters = plan, graph, clusters
        self.registry_factory, self.timeout = registry_factory, timeout
        self.staging, self.run_id = staging, run_id
        self.report = Usage()
        self.values: dict[str, Any] = {}
        # Measured hand-over of outputs that crossed sites (staged, or packed and fetched
        # through this process): node -> (bytes, seconds).
        self.handed_over: dict[str, tuple[int, float]] = {}
        self.site_of_value: dict[str, str] = {}
        self.consumer_sites: dict[str, set[str]] = {}
        for p in plan.partitions:
            for node in p.inputs:
                self.consumer_sites.setdefault(node, set()).add(p.site)
        self._moved: set[tuple[str, str]] = set()  # (node, destination site) metered
        self._lock = threading.Lock()
        self._registry: ProcessRegistry | None = None
        self._started = time.perf_counter()
        self.control = RunControl()
        self.reuse: PlanReuse | None = None

    def run(self) -> Any:
        self.control.emit(
            RunStarted(
                partitions=len(self.plan.partitions),
                sites=sorted({p.site for p in self.plan.partitions}),
            )
        )
        for level in dependency_levels(self.plan):
            if len(level) == 1:
                self.run_partition(level[0])
            else:
                self._run_concurrently(level)
        return self.values[self.plan.result_node]

    def _run_concurrently(self, level: list[Partition]) -> None:
        """Independent partitions at the same time, each on its own site.

        The first failure stops the others: their futures on the site clusters are canceled
        and the run does not wait for them (a cluster still starting ends in its own time).
        A site that is down is reported ahead of other errors: the executor can then plan
        again without it.
        """
        pool = ThreadPoolExecutor(max_workers=len(level), thread_name_prefix="partition")
        try:
            futures = [pool.submit(self.run_partition, p) for p in level]
            # Returns when all are done or as soon as one fails.
            wait(futures, return_when=FIRST_EXCEPTION)
            errors = [f.exception() for f in futures if f.done() and f.exception() is not None]
            if not errors:
                return
            self.control.cancel()  # this run's scope only: the job's control stays as it is
            # Partitions stopped by this cancel say so; the failure that caused it counts.
            errors = [e for e in errors if not isinstance(e, RunCanceled)] or errors
            down = [e for e in errors if isinstance(e, SiteUnavailable)]
            raise (down or errors)[0]
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _inputs(self, partition: Partition) -> dict[str, Any]:
        inputs: dict[str, Any] = {}
        for node in partition.inputs:
            value = self.values[node]
            if self.site_of_value[node] != partition.site:
                # Values crossing sites were computed or staged at their source; count them
                # once per destination site, however many partitions there use them (as planned).
                nbytes, seconds = self.handed_over.get(node, (_nbytes(value), 0.0))
                with self._lock:
                    if (node, partition.site) not in self._moved:
                        self._moved.add((node, partition.site))
                        record = TransferRecord(
                            node, self.site_of_value[node], partition.site, nbytes, seconds
                        )
                        self.report.transfers.append(record)
                        self.control.emit(record)
            inputs[input_parameter(node)] = value
        return inputs

    def run_partition(self, partition: Partition) -> None:
        try:
            self._run_partition(partition)
        except (FutureCancelledError, CommClosedError) as exc:
            if self.control.canceled:
                raise RunCanceled("the run was canceled") from exc
            # The site's scheduler went away mid-run (its cluster was stopped at the gateway,
            # the network between us broke): the site is down for this run. The cluster is
            # dropped when the run ends (SiteClusters), so the next run starts a new one.
            raise SiteUnavailable(
                f"Site '{partition.site}' is unavailable: the connection to its Dask cluster "
                f"was lost while computing ({type(exc).__name__}: {exc}).",
                site=partition.site,
            ) from exc

    def _run_partition(self, partition: Partition) -> None:
        self.control.check()
        self.control.emit(
            PartitionStarted(
                partition=partition.id,
                site=partition.site,
                nodes=list(partition.nodes),
                total=len(self.plan.partitions),
            )
        )
        started = time.perf_counter()
        inputs = self._inputs(partition)
        # Pure scalar/array work (no data loaded, nothing lazy coming in) needs no cluster.
        needs_cluster = any(
            self.graph.process_id(n) == "load_collection" for n in partition.nodes
        ) or any(_is_lazy(v) for v in inputs.values())
        client = self.clusters.client(partition.site) if needs_cluster else None
        # Implementations that compute eagerly must do it on this site's cluster.
        with _on_cluster(client):
            for output, value in self._outputs(partition, inputs, client).items():
                value = self._hand_over(partition, output, value, client)
                with self._lock:
                    self.values[output] = value
                    self.site_of_value[output] = partition.site
        ended = time.perf_counter()
        with self._lock:
            self.report.add_seconds(partition.site, ended - started)
            self.report.partitions.append(
                PartitionRecord(
                    id=partition.id,
                    site=partition.site,
                    nodes=partition.nodes,
                    seconds=round(ended - started, 3),
                    started=round(started - self._started, 3),
                    ended=round(ended - self._started, 3),
                )
            )
            done = len(self.report.partitions)
        self.control.emit(
            PartitionFinished(
                partition=partition.id,
                site=partition.site,
                nodes=list(partition.nodes),
                seconds=round(ended - started, 3),
                done=done,
                total=len(self.plan.partitions),
            )
        )

    def _outputs(self, partition: Partition, inputs: dict[str, Any], client) -> dict[str, Any]:
        """The partition's outputs: evaluated, or from kept results when the run re-uses."""
        if self.reuse is None or partition.id not in self.reuse.points:
            return self._evaluate(partition, inputs)

        def compute(delayed):
            if client is None:
                return delayed.compute(scheduler="synchronous")
            return self.control.compute(client, delayed, self.timeout, partition.site)

        def record(reused: ReuseRecord) -> None:
            with self._lock:
                self.report.reused.append(reused)
            self.control.emit(reused)

        return self.reuse.run_partition(partition, inputs, self._evaluate, compute, record)

    def _evaluate(self, partition: Partition, inputs: dict[str, Any]) -> dict[str, Any]:
        """The values of the partition's outputs (lazy where the processes are), one parse."""
        outputs = partition.outputs
        with self._lock:
            # One registry per run (built on first use): building one is not cheap.
            if self._registry is None:
                self._registry = run_registry(self.registry_factory)
        sub = partition_subgraph(self.graph, partition, outputs)
        value = evaluate_graph(sub, self.registry_factory, inputs, self._registry)
        return {outputs[0]: value} if len(outputs) == 1 else dict(zip(outputs, value, strict=True))

    def _compute_output(
        self, partition: Partition, output: str, value: Any, client, ship: bool
    ) -> Any:
        """``value`` computed at its site. With ``ship`` (a cube crossing sites through this
        process) the site packs it (smallest lossless dtype), the packed cube is fetched and
        unpacked here, and what crossed is metered."""
        compute_started = time.perf_counter()
        self.control.emit(Computing(site=partition.site, node=output))
        fetch_seconds = 0.0
        if ship and _is_lazy(value) and client is not None:
            value, fetch_seconds = self.control.compute_and_fetch(
                client, dask.delayed(pack)(value), self.timeout, partition.site
            )
        else:
            value = _compute_on(client, value, self.timeout, self.control, partition.site)
            if ship:
                value = pack(value)
        seconds = time.perf_counter() - compute_started
        nbytes = _nbytes(value)
        logger.info(
            "site %s computed %s in %.2fs (%.1f kB%s)",
            partition.site,
            output,
            seconds,
            nbytes / 1e3,
            " packed" if ship else "",
        )
        self.control.emit(
            Computed(site=partition.site, node=output, seconds=round(seconds, 3), bytes=nbytes)
        )
        if not ship:
            return value
        with self._lock:
            self.handed_over[output] = (nbytes, fetch_seconds)
        return unpack(value)

    def _hand_over(self, partition: Partition, output: str, value: Any, client) -> Any:
        """Stage or compute an output another site (or the user) needs; else leave it lazy."""
        is_result = output == self.plan.result_node
        crosses_sites = any(s != partition.site for s in self.consumer_sites.get(output, ()))
        if (
            crosses_sites
            and self.staging is not None
            and not is_result
            and isinstance(value, xr.DataArray)
            and client is not None
        ):
            handed = stage_output(
                client,
                value,
                self.staging[partition.site],
                self.run_id,
                output,
                compute=lambda c, delayed: self.control.compute(
                    c, delayed, self.timeout, partition.site
                ),
            )
            self.control.check()
            with self._lock:
                self.handed_over[output] = (handed.nbytes, handed.seconds)
            return open_staged(handed)
        if crosses_sites or is_result:
            ship = crosses_sites and not is_result and isinstance(value, xr.DataArray)
            return self._compute_output(partition, output, value, client, ship)
        return value
