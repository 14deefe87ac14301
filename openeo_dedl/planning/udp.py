"""Inlining user-defined processes, so that planning sees only predefined processes."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from openeo_dedl.errors import ProcessGraphInvalid

# Deeper nesting is taken for recursion (a process calling itself) and refused.
MAX_NESTING = 16

# Parameter names that callbacks of predefined processes declare themselves: inside a callback
# they name the callback's own parameter, not the user process's (the callback's take precedence).
CALLBACK_PARAMETERS = frozenset(
    {"data", "x", "y", "value", "context", "index", "label", "dimension", "labels"}
)


def _is_call(node: dict, user_processes: Mapping[str, dict]) -> bool:
    return node.get("process_id") in user_processes and node.get("namespace") in (None, "user")


def _renamed(ref: Any, rename: Mapping[str, str]) -> Any:
    # A reference that is not a string is left for FlatGraph to refuse as invalid.
    return rename.get(ref, ref) if isinstance(ref, str) else ref


def _substitute(value: Any, params: Mapping[str, Any], rename: Mapping[str, str], inside: bool):
    if isinstance(value, dict):
        if set(value) == {"from_parameter"}:
            name = value["from_parameter"]
            if name in params and not (inside and name in CALLBACK_PARAMETERS):
                return copy.deepcopy(params[name])
            return value
        if set(value) == {"from_node"} and not inside:
            return {"from_node": _renamed(value["from_node"], rename)}
        if isinstance(value.get("process_graph"), dict):
            graph = {
                k: {**n, "arguments": _substitute(n.get("arguments", {}), params, rename, True)}
                for k, n in value["process_graph"].items()
            }
            return {**value, "process_graph": graph}
        return {k: _substitute(v, params, rename, inside) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, params, rename, inside) for v in value]
    return value


def _map_callbacks(value: Any, fn) -> Any:
    if isinstance(value, dict):
        if isinstance(value.get("process_graph"), dict):
            return {**value, "process_graph": fn(value["process_graph"])}
        return {k: _map_callbacks(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_callbacks(v, fn) for v in value]
    return value


def _rename_refs(value: Any, rename: Mapping[str, str]) -> Any:
    if isinstance(value, dict):
        if set(value) == {"from_node"}:
            return {"from_node": _renamed(value["from_node"], rename)}
        if "process_graph" in value:
            return value
        return {k: _rename_refs(v, rename) for k, v in value.items()}
    if isinstance(value, list):
        return [_rename_refs(v, rename) for v in value]
    return value


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
        node = {**node, "arguments": _map_callbacks(node.get("arguments", {}), inline_callback)}
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
            k: {**n, "arguments": _rename_refs(n.get("arguments", {}), replaced)}
            for k, n in out.items()
        }
    return out


def _has_callbacks(process_graph: dict) -> bool:
    def walk(value: Any) -> bool:
        if isinstance(value, dict):
            if isinstance(value.get("process_graph"), dict):
                return True
            return any(walk(v) for v in value.values())
        if isinstance(value, list):
            return any(walk(v) for v in value)
        return False

    return any(isinstance(n, dict) and walk(n.get("arguments", {})) for n in process_graph.values())
