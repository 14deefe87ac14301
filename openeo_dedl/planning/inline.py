"""User-defined processes in process graphs: checking their calls and inlining them.

A node calls a user-defined process when its ``process_id`` is one of the user's processes and
its ``namespace`` is ``"user"`` or absent (the spec: without namespace, user-defined processes
are preferred; storing one with a predefined process's id is refused, so this only matters for
processes added to the backend later). :func:`inline_calls` checks the calls (required and
unknown arguments, recursion, size after expansion) and returns the process with every call
replaced by the called process's nodes (:func:`inline_user_processes`), so validation, planning
and execution see predefined processes only. :func:`openeo_dedl.planning.prepare.prepare` is
its one caller outside tests.

Pure: no I/O; the caller passes the user's processes (``id -> process``).
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Mapping
from typing import Any

from openeo_dedl.errors import (
    OpenEOError,
    ProcessGraphComplexity,
    ProcessGraphInvalid,
)
from openeo_dedl.planning.traits import CALLBACK_PARAMETERS
from openeo_dedl.planning.validate import argument_errors
from openeo_dedl.planning.walk import graphs, rebuild, renamed, replace_references

# Nodes a process graph may have once every call is inlined.
MAX_INLINED_NODES = 20_000
# Deeper nesting is taken for recursion (a process calling itself) and refused.
MAX_NESTING = 16


def _is_call(node: dict, user_processes: Mapping[str, dict]) -> bool:
    return node.get("process_id") in user_processes and node.get("namespace") in (None, "user")


def _renamed(ref: Any, rename: Mapping[str, str]) -> Any:
    # A reference that is not a string is left for FlatGraph to refuse as invalid.
    return rename.get(ref, ref) if isinstance(ref, str) else ref


def _substitute(value: Any, params: Mapping[str, Any], rename: Mapping[str, str], inside: bool):
    """``value`` of an inlined node: parameters of the user process replaced by the call's
    arguments (inside callbacks not those the callback declares itself), references to nodes
    of the user process renamed (outside callbacks, whose nodes are their own)."""

    def reference(ref: dict) -> Any:
        if set(ref) == {"from_parameter"}:
            name = ref["from_parameter"]
            if name in params and not (inside and name in CALLBACK_PARAMETERS):
                return copy.deepcopy(params[name])
        elif set(ref) == {"from_node"} and not inside:
            return {"from_node": _renamed(ref["from_node"], rename)}
        return dict(ref)

    def callback(graph: dict) -> dict:
        return {
            k: {**n, "arguments": _substitute(n.get("arguments", {}), params, rename, True)}
            for k, n in graph.items()
        }

    return rebuild(value, reference, callback)


def inline_user_processes(
    process_graph: dict, user_processes: Mapping[str, dict], _depth: int = 0
) -> dict:
    """``process_graph`` with every call of a user-defined process replaced by its nodes.

    ``user_processes`` maps id → process (``{"parameters": [...], "process_graph": {...}}``).
    Inlined nodes are named ``<call node>__<inner node>``; references to the call node now
    point to the inlined result node. Callbacks are inlined too.
    """
    if _depth > MAX_NESTING:
        raise ProcessGraphInvalid(
            f"User-defined processes are nested deeper than {MAX_NESTING} levels (recursion?)."
        )
    if not any(
        isinstance(n, dict) and _is_call(n, user_processes) for n in process_graph.values()
    ) and not _has_callbacks(process_graph):
        return process_graph
    taken = set(process_graph)
    out: dict[str, dict] = {}
    replaced: dict[str, str] = {}

    def inline_callback(graph: dict) -> dict:
        return inline_user_processes(graph, user_processes, _depth + 1)

    for node_id, node in process_graph.items():
        node = {**node, "arguments": rebuild(node.get("arguments", {}), callback=inline_callback)}
        if not _is_call(node, user_processes):
            out[node_id] = node
            continue
        udp = user_processes[node["process_id"]]
        body = inline_user_processes(udp.get("process_graph") or {}, user_processes, _depth + 1)
        params = {
            p["name"]: p["default"]
            for p in udp.get("parameters") or []
            if isinstance(p, dict) and "default" in p
        }
        params.update(node.get("arguments", {}))
        rename: dict[str, str] = {}
        for inner_id in body:
            new_id, i = f"{node_id}__{inner_id}", 1
            while new_id in taken:
                i += 1
                new_id = f"{node_id}__{inner_id}_{i}"
            taken.add(new_id)
            rename[inner_id] = new_id
        results = [k for k, n in body.items() if n.get("result")]
        if len(results) != 1:
            raise ProcessGraphInvalid(
                f"User-defined process '{node['process_id']}' needs exactly one result node."
            )
        for inner_id, inner in body.items():
            new = {k: v for k, v in inner.items() if k != "result"}
            new["arguments"] = _substitute(inner.get("arguments", {}), params, rename, False)
            out[rename[inner_id]] = new
        replaced[node_id] = rename[results[0]]
        if node.get("result"):
            out[rename[results[0]]]["result"] = True
    if replaced:
        out = {
            k: {**n, "arguments": replace_references(n.get("arguments", {}), renamed(replaced))}
            for k, n in out.items()
        }
    return out


def _has_callbacks(process_graph: dict) -> bool:
    return next(itertools.islice(graphs(process_graph), 1, None), None) is not None


def _calls(process_graph: Mapping[str, Any], user_processes: Mapping[str, dict]):
    """(node id, node) of every call of a user-defined process, callbacks included."""
    for graph in graphs(process_graph):
        for node_id, node in graph.items():
            if isinstance(node, dict) and _is_call(node, user_processes):
                yield node_id, node


def _graph_of(process: Mapping[str, Any]) -> Mapping[str, Any]:
    graph = process.get("process_graph")
    return graph if isinstance(graph, dict) else {}


def _expanded_size(process_graph: Mapping[str, Any], user_processes: Mapping[str, dict]) -> int:
    """Nodes after inlining; ProcessGraphInvalid when a process calls itself (directly or not)."""
    sizes: dict[str, int] = {}
    visiting: list[str] = []

    def size_of_graph(graph: Mapping[str, Any]) -> int:
        total = sum(len(g) for g in graphs(graph))
        for _, node in _calls(graph, user_processes):
            total += size_of(node["process_id"])
        return total

    def size_of(pid: str) -> int:
        if pid in sizes:
            return sizes[pid]
        if pid in visiting:
            cycle = " -> ".join([*visiting[visiting.index(pid) :], pid])
            raise ProcessGraphInvalid(
                f"User-defined processes call themselves ({cycle}): recursion is not supported."
            )
        visiting.append(pid)
        sizes[pid] = size_of_graph(_graph_of(user_processes[pid]))
        visiting.pop()
        if sizes[pid] > MAX_INLINED_NODES:
            raise ProcessGraphComplexity(
                f"User-defined process '{pid}' expands to more than {MAX_INLINED_NODES} nodes."
            )
        return sizes[pid]

    return size_of_graph(process_graph)


def call_errors(
    process_graph: Mapping[str, Any], user_processes: Mapping[str, dict]
) -> list[OpenEOError]:
    """Problems of the calls of user-defined processes in ``process_graph`` (and in the called
    processes): missing or unknown arguments, recursion, too large an expansion."""
    errors: list[OpenEOError] = []
    try:
        if _expanded_size(process_graph, user_processes) > MAX_INLINED_NODES:
            errors.append(
                ProcessGraphComplexity(
                    f"The process graph expands to more than {MAX_INLINED_NODES} nodes."
                )
            )
    except OpenEOError as exc:
        return [exc]
    seen: set[str] = set()
    pending = [process_graph]
    while pending:
        graph = pending.pop()
        for node_id, node in _calls(graph, user_processes):
            errors.extend(argument_errors(node_id, node, user_processes[node["process_id"]]))
            if node["process_id"] not in seen:
                seen.add(node["process_id"])
                pending.append(_graph_of(user_processes[node["process_id"]]))
    return errors


def inline_calls(process: Any, user_processes: Mapping[str, dict] | None) -> Any:
    """``process`` with every call of a user-defined process inlined; raises the first problem.

    Anything that is not a process with a process graph is returned unchanged (validation
    reports it).
    """
    if not user_processes or not isinstance(process, dict):
        return process
    graph = process.get("process_graph")
    if not isinstance(graph, dict) or not any(True for _ in _calls(graph, user_processes)):
        return process
    errors = call_errors(graph, user_processes)
    if errors:
        raise errors[0]
    return {**process, "process_graph": inline_user_processes(graph, user_processes)}
