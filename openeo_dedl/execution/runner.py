"""Running a plan: each partition through openeo-processes-dask on its site's cluster.

Partition outputs that another site needs are computed where they are produced and handed over as
in-memory results; every such transfer is measured. (Staged hand-over through per-site object
storage is the production mode; this in-process mode needs no shared storage.)
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import dask
import xarray as xr
from openeo_pg_parser_networkx import OpenEOProcessGraph, ProcessRegistry

from openeo_dedl.execution.save import SaveRequest
from openeo_dedl.execution.transfer import new_run_id, open_staged, remove_run, stage_output
from openeo_dedl.planning import FlatGraph, Partition, Plan

logger = logging.getLogger(__name__)

INPUT_PARAMETER_PREFIX = "dedl_input_"


@dataclass
class TransferRecord:
    node: str
    from_site: str
    to_site: str
    bytes: int
    seconds: float


@dataclass
class RunReport:
    """What a run did: seconds per site and every cross-site transfer."""

    site_seconds: dict[str, float] = field(default_factory=dict)
    transfers: list[TransferRecord] = field(default_factory=list)
    partitions: list[dict] = field(default_factory=list)

    @property
    def bytes_moved(self) -> int:
        return sum(t.bytes for t in self.transfers)

    def to_usage(self) -> dict:
        """openEO ``usage`` plus our figures (bytes crossing sites, seconds per site)."""
        return {
            "duration": {
                "value": round(sum(self.site_seconds.values()), 3),
                "unit": "seconds",
            },
            "cross_site_bytes": {"value": self.bytes_moved, "unit": "bytes"},
            "site_seconds": {
                site: {"value": round(s, 3), "unit": "seconds"}
                for site, s in self.site_seconds.items()
            },
            "transfers": [t.__dict__ for t in self.transfers],
        }


def input_parameter(node_id: str) -> str:
    return f"{INPUT_PARAMETER_PREFIX}{node_id}"


def _replace_references(value: Any, external: set[str]) -> Any:
    if isinstance(value, dict):
        if set(value) == {"from_node"} and value["from_node"] in external:
            return {"from_parameter": input_parameter(value["from_node"])}
        if "process_graph" in value:
            return value  # callbacks cannot reference the enclosing graph's nodes
        return {k: _replace_references(v, external) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_references(v, external) for v in value]
    return value


def partition_subgraph(graph: FlatGraph, partition: Partition, output: str) -> dict:
    """The flat graph computing ``output`` from this partition's nodes and external inputs."""
    members = set(partition.nodes)
    needed = {output}
    stack = [output]
    while stack:
        for producer in graph.producers(stack.pop()):
            if producer in members and producer not in needed:
                needed.add(producer)
                stack.append(producer)
    external = set(partition.inputs)
    sub = {}
    for node_id in partition.nodes:
        if node_id not in needed:
            continue
        node = dict(graph.nodes[node_id])
        node["arguments"] = _replace_references(node.get("arguments", {}), external)
        node["result"] = node_id == output
        sub[node_id] = node
    return sub


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


def _compute_on(client, value: Any, timeout: float | None) -> Any:
    if isinstance(value, SaveRequest):
        return SaveRequest(_compute_on(client, value.data, timeout), value.format, value.options)
    if _is_lazy(value):
        if client is None:
            return dask.compute(value, scheduler="synchronous")[0]
        return client.compute(value).result(timeout=timeout)
    return value


def _callback_nodes(parsed: OpenEOProcessGraph) -> set[str]:
    return {
        node for node, data in parsed.G.nodes(data=True) if data["process_graph_uid"] != parsed.uid
    }


def _is_callback(value: Any) -> bool:
    return (
        isinstance(value, functools.partial)
        and getattr(value.func, "__name__", "") == "node_callable"
    )


def _refreshing_callbacks(cache: dict, callback_nodes: set[str]):
    """A registry wrapper making every callback call recompute its nodes.

    The parser caches each node's result for the whole run, so a callback called once per element
    (``array_apply`` via ``np.vectorize``, ``array_filter`` ...) would repeat its first answer.
    Dropping the callback nodes' cache entries before each call keeps top-level results cached.
    """

    def fresh(callback):
        def call(*args, **kwargs):
            for node in callback_nodes:
                cache.pop(node, None)
            return callback(*args, **kwargs)

        return call

    def wrap(impl):
        @functools.wraps(impl)
        def wrapper(*args, **kwargs):
            kwargs = {k: fresh(v) if _is_callback(v) else v for k, v in kwargs.items()}
            return impl(*args, **kwargs)

        return wrapper

    return wrap


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
) -> tuple[Any, RunReport]:
    """Run every partition at its site; return the result node's computed value and a report.

    ``clusters.client(site)`` gives the Dask client of a site (see ``SiteClusters.for_run``).
    With ``staging`` (site → fsspec URL), cube outputs needed at another site are handed over
    through the producing site's staging store instead of through this process.
    """
    run_id = new_run_id()
    try:
        return _run_partitions(plan, graph, clusters, registry_factory, timeout, staging, run_id)
    finally:
        for url in (staging or {}).values():
            remove_run(url, run_id)


def _run_partitions(plan, graph, clusters, registry_factory, timeout, staging, run_id):
    report = RunReport()
    values: dict[str, Any] = {}
    # Measured hand-over of outputs that crossed sites through staging: node -> (bytes, seconds).
    staged: dict[str, tuple[int, float]] = {}
    site_of_value: dict[str, str] = {}
    consumer_sites: dict[str, set[str]] = {}
    for p in plan.partitions:
        for node in p.inputs:
            consumer_sites.setdefault(node, set()).add(p.site)

    for partition in plan.partitions:
        started = time.perf_counter()
        inputs: dict[str, Any] = {}
        for node in partition.inputs:
            value = values[node]
            if site_of_value[node] != partition.site:
                # Values crossing sites were computed at their source; count what moves.
                nbytes, seconds = staged.get(node, (_nbytes(value), 0.0))
                report.transfers.append(
                    TransferRecord(node, site_of_value[node], partition.site, nbytes, seconds)
                )
            inputs[input_parameter(node)] = value
        # Pure scalar/array work (no data loaded, nothing lazy coming in) needs no cluster.
        needs_cluster = any(
            graph.process_id(n) == "load_collection" for n in partition.nodes
        ) or any(_is_lazy(v) for v in inputs.values())
        client = clusters.client(partition.site) if needs_cluster else None
        # Implementations that compute eagerly must do it on this site's cluster.
        with _on_cluster(client):
            for output in partition.outputs:
                sub = partition_subgraph(graph, partition, output)
                parsed = OpenEOProcessGraph({"process_graph": sub})
                # A fresh registry, cache and callable per output: the parser caches results.
                cache: dict = {}
                registry = registry_factory()
                registry.add_wrap_func(_refreshing_callbacks(cache, _callback_nodes(parsed)))
                func = parsed.to_callable(registry, results_cache=cache)
                value = func(named_parameters=dict(inputs))
                crosses_sites = any(s != partition.site for s in consumer_sites.get(output, ()))
                if (
                    crosses_sites
                    and staging is not None
                    and output != plan.result_node
                    and isinstance(value, xr.DataArray)
                    and client is not None
                ):
                    handed = stage_output(client, value, staging[partition.site], run_id, output)
                    staged[output] = (handed.nbytes, handed.seconds)
                    value = open_staged(handed)
                elif crosses_sites or output == plan.result_node:
                    compute_started = time.perf_counter()
                    value = _compute_on(client, value, timeout)
                    logger.info(
                        "site %s computed %s in %.2fs (%.1f kB)",
                        partition.site,
                        output,
                        time.perf_counter() - compute_started,
                        _nbytes(value) / 1e3,
                    )
                values[output] = value
                site_of_value[output] = partition.site
        seconds = time.perf_counter() - started
        report.site_seconds[partition.site] = report.site_seconds.get(partition.site, 0.0) + seconds
        report.partitions.append(
            {
                "id": partition.id,
                "site": partition.site,
                "nodes": list(partition.nodes),
                "seconds": round(seconds, 3),
            }
        )
    return values[plan.result_node], report


def collection_sites_for(graph: FlatGraph, sites_of: Callable[[str], list[str]]) -> Mapping:
    """Collection id → sites for each ``load_collection`` of the graph."""
    ids = {
        graph.arguments(n).get("id")
        for n in graph.nodes
        if graph.process_id(n) == "load_collection"
    }
    return {cid: sites_of(cid) for cid in ids if isinstance(cid, str)}
