"""The one place for workarounds of the upstream libraries: openeo-pg-parser-networkx (2026.3.3,
``graph.py``/``utils.py``) and openeo-processes-dask (at the end).

The runner parses every partition's sub-graph with the parser and calls the callable it builds.
The parser's own code is quadratic or exponential in places, so :class:`LinearProcessGraph`
overrides those methods, each with the same result as the upstream method:

* ``OpenEOProcessGraph._map_node_to_callable`` (graph.py lines 339-534): its ``node_callable``
  lists *all* edges (``self.edges``, line 401) and all nodes (line 404) on every call, asks the
  ``result_node`` property (a scan of all nodes, line 570) on every call and records provenance
  with ``yprov4wfs``, whose ``Workflow.get_task_by_id`` is a linear search (called per edge):
  quadratic in the nodes. It also builds one callable per *path* to a node (no memo) and calls a
  node's parents before looking in the results cache, so a node shared by several consumers is
  built and visited once per path: exponential for graphs like a ladder of diamonds. Here each
  node gets one callable, a cached node returns at once, the parents' lookups use a precomputed
  index, and no provenance is recorded (nothing here reads ``workflow``).
* ``OpenEOProcessGraph._walk_node`` (graph.py line 238) walks a node once per path to it
  (exponential for shared nodes); here every node is walked once.
* ``ProcessGraphUnflattener`` (utils.py line 51) nests every node under each ``from_node``
  reference to it and pydantic then validates the whole nest (graph.py line 130): each node once
  per path (exponential for shared nodes), and in a chain of more than ~110 nodes the deepest
  reference is no longer taken for one (pydantic's nesting depth), so a node silently drops out
  of the graph and the run fails with a KeyError. Here each node is validated once, producers
  first, and references hold the validated node (pydantic takes a model instance as it is), which
  gives the same values. Callbacks are unflattened the same way (upstream uses the base class
  there, utils.py line 132); process graphs nested deeper in an argument stay plain dicts.

Other workarounds of the parser, kept here so that there is one place for them:

* The parser caches every node's result for the whole run, also inside callbacks, so a callback
  called once per element would repeat its first answer: :func:`refreshing` (this replaces a
  registry wrapper that found callbacks by their function's name, ``node_callable``).
* :data:`MAX_CHAIN_DEPTH`: the callables are nested Python calls (a few frames per node on a
  path), so the planner keeps every partition at most ``MAX_PARTITION_DEPTH`` (planning/
  partition.py, 100) nodes deep, below this depth, which this module is tested with.
* The parser needs exactly one result node; a partition with several outputs is parsed once with
  an extra result node collecting them (:data:`OUTPUTS_PROCESS`, registered by
  :func:`add_adapter_processes`), not once per output (quadratic for partitions with many
  outputs).

* The parser converts every argument through a union of types, first match wins: ``[]``
  becomes an empty list of temporal intervals, ``[null, "2020-01-01"]`` a temporal interval,
  ``"2020-01-01"`` a date object. Processes on data cubes rely on some of these (bounding boxes,
  temporal extents); processes on plain values must see the values as sent. So
  :func:`protect_literals` hands the literal arguments of processes that take no data cube to
  the implementation as parameters, which the parser passes through untouched (in
  :func:`run_parsed`).
* What a callback and a reference are is the parser's definition, written once in
  ``planning/walk.py`` for the planner, the runner and this module.

Workarounds of openeo-processes-dask (2026.9.1, ``process_implementations``):

* Implementations named after Python keywords carry a leading underscore (``_if``, ``_and``):
  :func:`standard_implementations` lists them by process id, with the package's warnings about
  every import quietened.
* Its ``process`` decorator resolves ``{"from_parameter": ...}`` only when it is a whole
  argument, and passes special arguments (``axis``, ``context``, ...) to implementations that
  do not take them: ``processes/_wrap.resolve_parameters`` wraps every implementation instead.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import logging
from collections.abc import Callable, Mapping
from typing import Any

from openeo_pg_parser_networkx import OpenEOProcessGraph, ProcessRegistry
from openeo_pg_parser_networkx.pg_schema import (
    PGEdgeType,
    ProcessGraph,
    ProcessNode,
    ResultReference,
)
from openeo_pg_parser_networkx.process_registry import Process
from openeo_pg_parser_networkx.utils import ProcessGraphUnflattener, find_result_node

from openeo_dedl.execution.literals import takes_cube
from openeo_dedl.planning.walk import is_callback, is_literal

# A partition deeper than this would be evaluated wrongly or not at all (see the docstring).
MAX_CHAIN_DEPTH = 1000

# Literal arguments protected from the parser's type guessing become these parameters.
LITERAL_PARAMETER_PREFIX = "dedl_literal_"

# The extra result node of a partition with several outputs; its value is their list.
OUTPUTS_PROCESS = "dedl_partition_outputs"
OUTPUTS_NODE = "dedl_partition_outputs"
_OUTPUTS_SPEC = {
    "id": OUTPUTS_PROCESS,
    "description": "Internal: the values of a partition's outputs, in order.",
    "parameters": [{"name": "data", "schema": {"type": "array"}}],
    "returns": {"schema": {"type": "array"}},
}

# The parser never caches the results of these processes' callbacks (graph.py line 410).
_UNCACHED_CALLBACK_PARENTS = ("aggregate_temporal_period", "aggregate_spatial")


class _ValidatingUnflattener(ProcessGraphUnflattener):
    """Nests the flat graph like the upstream unflattener, but validates each node once."""

    def _process_node(self, node: dict) -> Any:
        fields = {
            "process_id": node["process_id"],
            "arguments": {k: self._process_argument(v) for k, v in node["arguments"].items()},
            **{k: node[k] for k in ["namespace", "description", "result"] if k in node},
        }
        return ProcessNode.model_validate(fields, strict=True)

    def _process_argument(self, value: Any) -> Any:
        # A callback passed as an argument becomes a ProcessGraph: validate its nodes once too.
        # Process graphs deeper inside an argument (e.g. load_collection's ``properties``) stay
        # plain dicts as upstream leaves them (utils.py line 132), which their users expect.
        if is_callback(value):
            result_node_id, _ = find_result_node(value["process_graph"])
            return self._process_child_graph(
                node_name=result_node_id, child_graph=type(self).unflatten(value["process_graph"])
            )
        return self._process_value(value)

    def _process_from_node(self, key: str, node: dict) -> Any:
        return ResultReference(from_node=key, node=self.get_node(key=key))


class LinearProcessGraph(OpenEOProcessGraph):
    """``OpenEOProcessGraph`` parsed and run in time linear in nodes and edges (see module)."""

    def __init__(self, pg_data: dict):
        self._walked: set[str] = set()
        super().__init__(pg_data)
        # The upstream property scans all nodes; the graph does not change after parsing.
        self._result_node = super().result_node
        position = {node: i for i, node in enumerate(self.G.nodes)}
        # The node referring to each node that comes first in the graph's node order: the
        # upstream callable takes the first edge into the node from the list of all edges.
        self._first_referrer = {
            node: min(self.G.predecessors(node), key=position.__getitem__)
            for node in self.G.nodes
            if self.G.in_degree(node)
        }

    @staticmethod
    def _unflatten_raw_process_graph(raw_flat_graph: dict) -> dict:
        if "process_graph" not in raw_flat_graph:
            raw_flat_graph = {"process_graph": raw_flat_graph}
        root = _ValidatingUnflattener.unflatten(raw_flat_graph["process_graph"])
        return {"process_graph": {"root": root}}

    @staticmethod
    def _parse_datamodel(nested_graph: dict) -> ProcessGraph:
        return ProcessGraph.model_validate(nested_graph, strict=True)

    def _walk_node(self) -> None:
        # A node reached again through another path has been walked with the same arguments.
        uid = self._EVAL_ENV.node_uid
        if uid in self._walked:
            return
        self._walked.add(uid)
        super()._walk_node()

    @property
    def result_node(self) -> str:
        return self._result_node

    def _uncached(self, node: str) -> bool:
        referrer = self._first_referrer.get(node)
        return (
            referrer is not None
            and self.G.nodes[referrer]["process_id"] in _UNCACHED_CALLBACK_PARENTS
        )

    def _map_node_to_callable(
        self,
        node: str,
        process_registry: ProcessRegistry,
        results_cache: dict | None = None,
        named_parameters: dict | None = None,
    ) -> Callable:
        built: dict[str, Callable] = {}
        results_cache = {} if results_cache is None else results_cache
        named_parameters = {} if named_parameters is None else named_parameters
        self._callback_nodes = callback_nodes(self)
        return self._build(node, process_registry, results_cache, named_parameters, built)

    def _build(
        self,
        node: str,
        registry: ProcessRegistry,
        results_cache: dict,
        named_parameters: dict,
        built: dict[str, Callable],
    ) -> Callable:
        """The callable of ``node`` (one per node), as upstream's ``node_callable`` computes."""
        if node in built:
            return built[node]
        node_data = self.G.nodes[node]
        static_parameters = node_data["resolved_kwargs"]
        parent_callables = []
        substitutions = []
        for _, source, data in self.G.out_edges(node, data=True):
            callable_ = self._build(source, registry, results_cache, named_parameters, built)
            if data["reference_type"] == PGEdgeType.ResultReference:
                parent_callables.append(callable_)
                substitutions.append((source, data["arg_substitutions"]))
            elif data["reference_type"] == PGEdgeType.Callback:
                static_parameters[data["arg_name"]] = refreshing(
                    callable_, results_cache, self._callback_nodes
                )
        prebaked = functools.partial(
            registry[node_data["process_id"]].implementation,
            named_parameters=named_parameters,
            **static_parameters,
        )
        uncached = self._uncached(node)

        def node_callable(*args, parent_callables, named_parameters=None, **kwargs):
            if named_parameters is None:
                named_parameters = {}
            if not uncached and node in results_cache:
                return results_cache[node]
            # Parents first, so that their results are in the cache.
            for func in parent_callables:
                func(*args, named_parameters=named_parameters, **kwargs)
            for source, arg_substitutions in substitutions:
                for sub in arg_substitutions:
                    sub.access_func(new_value=results_cache[source], set_bool=True)
                    kwargs[sub.arg_name] = node_data["resolved_kwargs"][sub.arg_name]
            result = prebaked(*args, named_parameters=named_parameters, **kwargs)
            results_cache[node] = result
            return result

        built[node] = functools.partial(node_callable, parent_callables=parent_callables)
        return built[node]


def callback_nodes(parsed: OpenEOProcessGraph) -> set[str]:
    """The nodes of ``parsed`` inside callbacks (not of its top-level graph)."""
    return {
        node for node, data in parsed.G.nodes(data=True) if data["process_graph_uid"] != parsed.uid
    }


def refreshing(callback: Callable, cache: dict, nodes: set[str]) -> Callable:
    """``callback`` recomputing its nodes on every call.

    The parser caches each node's result for the whole run, so a callback called once per element
    (``array_apply`` via ``np.vectorize``, ``array_filter`` ...) would repeat its first answer.
    Dropping the callback nodes' (``nodes``) cache entries before each call keeps top-level
    results cached. (Applied where the callback is made, not as a registry wrapper: the registry
    then stays as built and serves every partition of a run.)
    """

    def call(*args, **kwargs):
        for node in nodes:
            cache.pop(node, None)
        return callback(*args, **kwargs)

    return call


def _collect_outputs(data: list) -> list:
    return data


def with_outputs_node(flat_graph: Mapping[str, dict], outputs: list[str]) -> dict[str, dict]:
    """``flat_graph`` (no result node) with one result node whose value lists ``outputs``."""
    graph = {node_id: {**node, "result": False} for node_id, node in flat_graph.items()}
    graph[OUTPUTS_NODE] = {
        "process_id": OUTPUTS_PROCESS,
        "arguments": {"data": [{"from_node": o} for o in outputs]},
        "result": True,
    }
    return graph


def add_adapter_processes(registry: ProcessRegistry) -> None:
    """Register the processes this module adds to graphs (the outputs node)."""
    registry["predefined", OUTPUTS_PROCESS] = Process(
        spec=_OUTPUTS_SPEC, implementation=_collect_outputs
    )


@functools.cache
def standard_implementations() -> dict[str, Callable]:
    """openeo-processes-dask's implementations by process id (see the module docstring)."""
    logging.getLogger("openeo_processes_dask.process_implementations").setLevel(logging.ERROR)
    module = importlib.import_module("openeo_processes_dask.process_implementations")
    return {name.strip("_"): func for name, func in inspect.getmembers(module, inspect.isfunction)}


def run_parsed(
    flat_graph: Mapping[str, dict],
    registry: ProcessRegistry,
    named_parameters: dict[str, Any],
    specs: Mapping[str, dict],
) -> Any:
    """Parse ``flat_graph`` (one result node) and run it with ``named_parameters``; literal
    arguments of processes without cubes (by their ``specs``) reach them as sent.

    ``registry`` is used as it is (see :func:`add_adapter_processes`), so one can serve many
    graphs, also at the same time; the results cache is this graph's own.
    """
    flat_graph, literals = protect_literals(flat_graph, specs)
    named_parameters = {**named_parameters, **literals}
    parsed = LinearProcessGraph({"process_graph": dict(flat_graph)})
    func = parsed.to_callable(registry, results_cache={})
    return func(named_parameters=named_parameters)


def protect_literals(
    flat_graph: Mapping[str, dict], specs: Mapping[str, dict]
) -> tuple[dict[str, dict], dict[str, Any]]:
    """The graph with literal arguments of processes without cubes replaced by parameter
    references, and those parameters' values (top-level nodes only; callbacks keep theirs)."""
    graph: dict[str, dict] = {}
    values: dict[str, Any] = {}
    cube_takers: dict[str, bool] = {}  # per process id: walking its schemas per node is slow
    for node_id, node in flat_graph.items():
        pid = node.get("process_id")
        spec = specs.get(pid)
        if spec is not None and pid not in cube_takers:
            cube_takers[pid] = takes_cube(spec)
        if spec is None or cube_takers[pid]:
            graph[node_id] = node
            continue
        arguments = {}
        for name, value in node.get("arguments", {}).items():
            if is_literal(value):
                parameter = f"{LITERAL_PARAMETER_PREFIX}{node_id}_{name}"
                values[parameter] = value
                value = {"from_parameter": parameter}
            arguments[name] = value
        graph[node_id] = {**node, "arguments": arguments}
    return graph, values
