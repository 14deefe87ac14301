"""User-defined processes in process graphs: checking calls and inlining them.

A node calls a user-defined process when its ``process_id`` is one of the user's processes and
its ``namespace`` is ``"user"`` or absent (the spec: without namespace, user-defined processes
are preferred; storing one with a predefined process's id is refused, so this only matters for
processes added to the backend later). :func:`resolve` checks the calls (required and unknown
arguments, recursion, size after expansion) and returns the process with every call replaced by
the called process's nodes (:func:`openeo_dedl.planning.inline_user_processes`), so validation,
planning and execution see predefined processes only.

Pure: no I/O; the caller passes the user's processes (``id -> process``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from openeo_dedl.errors import (
    OpenEOError,
    ProcessGraphComplexity,
    ProcessGraphInvalid,
    ProcessParameterRequired,
    ProcessParameterUnsupported,
)
from openeo_dedl.planning import inline_user_processes

# Nodes a process graph may have once every call is inlined.
MAX_INLINED_NODES = 20_000
_PARAMETER_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def _graphs(process_graph: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """``process_graph`` and every callback graph nested in its arguments."""
    yield process_graph

    def walk(value: Any) -> Iterator[Mapping[str, Any]]:
        if isinstance(value, dict):
            if isinstance(value.get("process_graph"), dict):
                yield from _graphs(value["process_graph"])
            else:
                for v in value.values():
                    yield from walk(v)
        elif isinstance(value, list):
            for v in value:
                yield from walk(v)

    for node in process_graph.values():
        if isinstance(node, dict):
            yield from walk(node.get("arguments"))


def _calls(process_graph: Mapping[str, Any], user_processes: Mapping[str, dict]):
    """(node id, node) of every call of a user-defined process, callbacks included."""
    for graph in _graphs(process_graph):
        for node_id, node in graph.items():
            if (
                isinstance(node, dict)
                and node.get("process_id") in user_processes
                and node.get("namespace") in (None, "user")
            ):
                yield node_id, node


def _graph_of(process: Mapping[str, Any]) -> Mapping[str, Any]:
    graph = process.get("process_graph")
    return graph if isinstance(graph, dict) else {}


def _check_arguments(node_id: str, node: dict, process: Mapping[str, Any]) -> list[OpenEOError]:
    pid = node["process_id"]
    params = {p.get("name"): p for p in process.get("parameters") or [] if isinstance(p, dict)}
    args = node.get("arguments") or {}
    errors: list[OpenEOError] = []
    for name, param in params.items():
        required = not param.get("optional", False) and "default" not in param
        if required and name not in args:
            errors.append(
                ProcessParameterRequired(
                    f"Process '{pid}' parameter '{name}' is required (node '{node_id}')."
                )
            )
    for name in args:
        if name not in params:
            errors.append(
                ProcessParameterUnsupported(
                    f"Process '{pid}' does not support parameter '{name}' (node '{node_id}')."
                )
            )
    return errors


def _expanded_size(process_graph: Mapping[str, Any], user_processes: Mapping[str, dict]) -> int:
    """Nodes after inlining; ProcessGraphInvalid when a process calls itself (directly or not)."""
    sizes: dict[str, int] = {}
    visiting: list[str] = []

    def size_of_graph(graph: Mapping[str, Any]) -> int:
        total = sum(len(g) for g in _graphs(graph))
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
            errors.extend(_check_arguments(node_id, node, user_processes[node["process_id"]]))
            if node["process_id"] not in seen:
                seen.add(node["process_id"])
                pending.append(_graph_of(user_processes[node["process_id"]]))
    return errors


def resolve(process: Any, user_processes: Mapping[str, dict] | None) -> Any:
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


class Validator(Protocol):
    def validate(self, process: dict) -> list[OpenEOError]: ...

    def process_specs(self) -> list[dict]: ...


def _invalid(message: str) -> OpenEOError:
    return OpenEOError(message, code="ProcessInvalid", status=400)


def _check_schema(schema: Any, where: str) -> None:
    """A process schema: one JSON Schema (an object) or a non-empty list of them."""
    if isinstance(schema, dict):
        return
    if isinstance(schema, list) and schema and all(isinstance(s, dict) for s in schema):
        return
    raise _invalid(f"{where} 'schema' must be a JSON Schema object or a non-empty list of them.")


_KIND_NAMES = {bool: "a boolean", str: "a string", list: "a list", dict: "an object"}


def _check_types(doc: Mapping[str, Any], where: str, **expected: type) -> None:
    """Each of ``expected`` in ``doc``, unless absent or null, has its type."""
    for key, kind in expected.items():
        value = doc.get(key)
        if value is not None and not isinstance(value, kind):
            raise _invalid(f"{where} '{key}' must be {_KIND_NAMES[kind]}.")


def check_metadata(process: Mapping[str, Any]) -> None:
    """The metadata of a process to store: parameters and return value as the spec shapes them
    (the openEO API's ``process_parameter`` and ``process_return_value``)."""
    params = process.get("parameters")
    if params is not None:
        if not isinstance(params, list):
            raise _invalid("'parameters' must be a list of parameter objects.")
        names = []
        for param in params:
            name = param.get("name") if isinstance(param, dict) else None
            if not isinstance(name, str) or not name or not set(name) <= _PARAMETER_NAME_CHARS:
                raise _invalid("Every parameter needs a 'name' of letters, digits and underscores.")
            where = f"Parameter '{name}':"
            _check_types(
                param, where, description=str, optional=bool, deprecated=bool, experimental=bool
            )
            if "schema" in param:  # required by the spec; clients that omit it are tolerated
                _check_schema(param["schema"], where)
            names.append(name)
        if len(set(names)) != len(names):
            raise _invalid(f"Parameter names must be unique: {names}.")
    returns = process.get("returns")
    if returns is not None:
        if not isinstance(returns, dict):
            raise _invalid("'returns' must be an object.")
        _check_types(returns, "The return value:", description=str)
        if "schema" in returns:
            _check_schema(returns["schema"], "The return value:")
    for key in ("summary", "description"):
        if process.get(key) is not None and not isinstance(process[key], str):
            raise _invalid(f"'{key}' must be a string.")
    _check_types(
        process, "The process:", deprecated=bool, experimental=bool, categories=list,
        exceptions=dict, examples=list, links=list,
    )  # fmt: skip
    categories = process.get("categories") or []
    if not all(isinstance(c, str) for c in categories):
        raise _invalid("The process: 'categories' must be a list of strings.")


def check_user_process(
    process: dict[str, Any], others: Mapping[str, dict], backend: Validator
) -> None:
    """Raise the first problem of ``process`` (with ``process["id"]``) as a stored process.

    ``others`` are the user's stored processes (the one being replaced among them); the graph
    is validated with calls of them, and of ``process`` itself, inlined.
    """
    pid = process["id"]
    check_metadata(process)
    if pid in {spec["id"] for spec in backend.process_specs()}:
        raise OpenEOError(
            f"A predefined process with the identifier '{pid}' exists: choose another id.",
            code="PredefinedProcessExists",
            status=400,
        )
    user_processes = {**others, pid: process}
    graph = _graph_of(process)
    declared = {p["name"] for p in process.get("parameters") or []}
    undeclared = sorted(_top_level_parameters(graph) - declared)
    if undeclared:
        raise ProcessGraphInvalid(
            f"The process graph refers to parameters that are not declared: {undeclared}."
        )
    errors = backend.validate(resolve({"process_graph": graph}, user_processes))
    if errors:
        raise errors[0]


def _top_level_parameters(process_graph: Mapping[str, Any]) -> set[str]:
    """Names in ``from_parameter`` outside callbacks (inside, callbacks bring their own)."""
    names: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if set(value) == {"from_parameter"} and isinstance(value["from_parameter"], str):
                names.add(value["from_parameter"])
            elif "process_graph" not in value:
                for v in value.values():
                    walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    for node in process_graph.values():
        if isinstance(node, dict):
            walk(node.get("arguments"))
    return names
