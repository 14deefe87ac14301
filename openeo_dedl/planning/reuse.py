"""Keys of re-usable values (pure): a node's value named by what computes it, not by its id.

A node's key is a digest of its process, its arguments with every ``from_node`` reference
replaced by the key of the node it names (callbacks: the keys of their own nodes), and for a
``load_collection`` the versions of the items it reads (STAC item id and ``updated``, else its
time, from the catalog facts). So renaming nodes, or changing what consumes a value, leaves its
key as it is; an input from another partition counts by its own key (the digest covers the whole
chain up to the loads); a changed extent, band list or item gives another key.

A value has no key (it is never re-used) when anything it depends on is not reproducible from
the catalog: processes reading user files or URLs (their content may change), ``load_stac``,
UDFs, loads whose items the facts do not list.

:func:`reuse_points` chooses which values of a plan are kept: each partition's outputs, and in
the result's partition the inputs of the final step (the result node, or the step before
``save_result``), so that a run with a changed final step re-uses everything before it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from openeo_dedl.locations import LOCATION_PARAMETERS
from openeo_dedl.planning.estimate import Estimator
from openeo_dedl.planning.facts import CollectionFacts
from openeo_dedl.planning.graph import FlatGraph
from openeo_dedl.planning.internal import ITEM_SITE_ARGUMENT
from openeo_dedl.planning.partition import Plan
from openeo_dedl.planning.walk import rebuild

# Processes whose values depend on more than their arguments and the catalog's items.
NOT_REPRODUCIBLE = frozenset(
    {
        "load_stac",
        "load_uploaded_files",
        "load_url",
        "load_result",
        "load_ml_model",
        "run_udf",
        "run_udf_externally",
        "random_number",
    }
)
# Version of the key's form: a change of it makes every stored value unreachable.
KEY_VERSION = 1


class _NoKey(Exception):
    """Raised inside the walk: the value depends on something not reproducible."""


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def item_versions(facts: CollectionFacts | None, arguments: Mapping) -> list[list[str]]:
    """(item id, version) of every item a load with ``arguments`` reads (a split part: the
    whole load's items, whose grid it shares); raises _NoKey when they are not known."""
    if facts is None or facts.items is None:
        raise _NoKey
    whole = {k: v for k, v in arguments.items() if k != ITEM_SITE_ARGUMENT}
    try:
        chosen = Estimator({facts.id: facts}).matching_items(facts, whole)
    except Exception:  # extents given at run time: every item of the collection counts
        chosen = list(range(len(facts.items)))
    versions = []
    for i in chosen:
        item = facts.items[i]
        if item.id is None:
            raise _NoKey
        version = item.updated or (None if item.time is None else item.time.isoformat())
        versions.append([item.id, str(version)])
    return sorted(versions)


class _Keys:
    def __init__(self, facts: Mapping[str, CollectionFacts]):
        self.facts = facts

    def graph(self, nodes: Mapping[str, dict]) -> dict[str, str | None]:
        """Keys of every node of one (flat) graph; None for nodes without a key."""
        graph = FlatGraph(dict(nodes)) if any(n.get("result") for n in nodes.values()) else None
        order = graph.topological_order() if graph is not None else list(nodes)
        keys: dict[str, str | None] = {}
        for node_id in order:
            try:
                keys[node_id] = self.node(nodes[node_id], keys)
            except _NoKey:
                keys[node_id] = None
        return keys

    def node(self, node: Mapping, keys: Mapping[str, str | None]) -> str:
        process = node["process_id"]
        arguments = node.get("arguments", {})
        if process in NOT_REPRODUCIBLE:
            raise _NoKey
        for name in LOCATION_PARAMETERS.get(process, ()):
            if isinstance(arguments.get(name), str):  # a user's file or a URL
                raise _NoKey

        def reference(ref: dict) -> dict:
            if "from_node" not in ref:
                return dict(ref)  # parameters keep their names: they mean the same
            key = keys.get(ref["from_node"])
            if key is None:
                raise _NoKey
            return {"from_node": key}

        def callback(graph: dict) -> dict:
            inner = self.graph(graph)
            if None in inner.values():
                raise _NoKey
            result = [k for n, k in inner.items() if graph[n].get("result")]
            return {"nodes": sorted(inner.values()), "result": result}  # type: ignore[type-var]

        form: dict[str, Any] = {
            "v": KEY_VERSION,
            "process": process,
            "namespace": node.get("namespace"),
            "arguments": rebuild(arguments, reference, callback),
        }
        if process == "load_collection":
            cid = arguments.get("id")
            form["items"] = item_versions(
                self.facts.get(cid) if isinstance(cid, str) else None, arguments
            )
        return _digest(form)


def node_keys(graph: FlatGraph, facts: Mapping[str, CollectionFacts]) -> dict[str, str | None]:
    """The key of every node of ``graph`` (None: never re-used), from the catalog ``facts``."""
    return _Keys(facts).graph(graph.nodes)


def _final_step(graph: FlatGraph, members: set[str]) -> str:
    result = graph.result_node
    if graph.process_id(result) == "save_result":
        data = [p for p in graph.producers(result) if p in members]
        if len(data) == 1:
            return data[0]
    return result


def reuse_points(plan: Plan) -> dict[str, tuple[str, ...]]:
    """Partition id → the nodes whose values are kept and looked up: the partition's outputs
    (not the result itself) and, in the result's partition, the inputs of the final step."""
    graph = plan.graph
    points: dict[str, tuple[str, ...]] = {}
    for p in plan.partitions:
        chosen = [n for n in p.outputs if n != plan.result_node]
        members = set(p.nodes)
        if plan.result_node in members:
            final = _final_step(graph, members)
            for producer in graph.producers(final):
                if producer in members and producer not in chosen:
                    chosen.append(producer)
        points[p.id] = tuple(n for n in chosen if graph.process_id(n) != "load_collection")
    return points
