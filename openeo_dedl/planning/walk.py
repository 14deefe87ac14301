"""The one walk over process-graph JSON: what a reference is, what a callback is (pure).

Values of arguments are JSON. Within them

- a *reference* is an object with a ``from_node`` or a ``from_parameter`` key: the value of a
  node of the same graph, or of a parameter (a whole reference is exactly ``{"from_node": id}``
  or ``{"from_parameter": name}``; :func:`iter_references` refuses other ``from_node`` objects);
- a *callback* is an object with a ``process_graph`` key that is not a reference: a process
  graph of its own, whose nodes and parameters are its own. Its graph should be an object of
  nodes; validation refuses one that is not (``FlatGraph``).

These are the definitions of openeo-pg-parser-networkx (its unflattener looks for ``from_node``,
then ``from_parameter``, then ``process_graph``), so planning, inlining and the run agree with
the parser on which nodes a value depends. Walks never enter references or callbacks; functions
that deal with callbacks say so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from openeo_dedl.errors import ProcessGraphInvalid

_REFERENCE_KEYS = frozenset({"from_node", "from_parameter"})


def is_reference(value: Any) -> bool:
    """Whether ``value`` is a reference (an object with ``from_node`` or ``from_parameter``)."""
    return isinstance(value, dict) and not _REFERENCE_KEYS.isdisjoint(value)


def is_callback(value: Any) -> bool:
    """Whether ``value`` is a callback: an object with ``process_graph``, not a reference."""
    return (
        isinstance(value, dict) and "process_graph" in value and _REFERENCE_KEYS.isdisjoint(value)
    )


def callback_graph(value: Any) -> dict | None:
    """The flat graph of ``value`` when it is a callback whose graph is an object, else None."""
    if is_callback(value) and isinstance(value["process_graph"], dict):
        return value["process_graph"]
    return None


def is_literal(value: Any) -> bool:
    """JSON without references or callbacks anywhere inside."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "process_graph" in item or not _REFERENCE_KEYS.isdisjoint(item):
                return False
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True


def objects(value: Any) -> Iterator[dict]:
    """Every object in ``value`` outside callbacks, references included (not entered)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if is_callback(item):
                continue
            yield item
            if _REFERENCE_KEYS.isdisjoint(item):
                stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))


def iter_references(value: Any) -> Iterator[str]:
    """Node ids referenced by ``from_node`` in an argument value, not entering callbacks.

    Callbacks have their own node namespace, so their references are not dependencies of the
    enclosing graph. A ``from_node`` object must be exactly ``{"from_node": "<node id>"}``:
    anything else (extra keys, an id that is not a string) raises ProcessGraphInvalid rather
    than being taken for a literal, which would drop a dependency.
    """
    for item in objects(value):
        if "from_node" not in item:
            continue
        ref = item["from_node"]
        if len(item) != 1:
            extra = ", ".join(sorted(repr(k) for k in item if k != "from_node"))
            raise ProcessGraphInvalid(
                f"A reference to node {ref!r} has extra keys ({extra}): a 'from_node' "
                "reference must be an object with only 'from_node'."
            )
        if not isinstance(ref, str):
            raise ProcessGraphInvalid(
                f"Invalid reference {{'from_node': {ref!r}}}: a node id must be a string."
            )
        yield ref


def parameter_names(value: Any) -> set[str]:
    """Names in whole ``{"from_parameter": name}`` references outside callbacks."""
    return {
        item["from_parameter"]
        for item in objects(value)
        if set(item) == {"from_parameter"} and isinstance(item["from_parameter"], str)
    }


def _callback_graphs(value: Any) -> Iterator[Any]:
    """The ``process_graph`` of each callback in ``value``, not inside other callbacks."""
    if is_callback(value):
        yield value["process_graph"]
    elif isinstance(value, dict) and not is_reference(value):
        for v in value.values():
            yield from _callback_graphs(v)
    elif isinstance(value, list):
        for v in value:
            yield from _callback_graphs(v)


def iter_callbacks(arguments: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """(argument name, the callback's ``process_graph``) for each callback in ``arguments``,
    not inside other callbacks; the graph is as sent (validation refuses one that is no object).
    """
    for name, value in arguments.items():
        for graph in _callback_graphs(value):
            yield name, graph


def graphs(process_graph: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """``process_graph`` and every callback graph (an object) nested in its nodes' arguments,
    depth first in the order of the nodes."""
    yield process_graph
    for node in process_graph.values():
        if isinstance(node, dict):
            for graph in _callback_graphs(node.get("arguments")):
                if isinstance(graph, dict):
                    yield from graphs(graph)


def rebuild(
    value: Any,
    reference: Callable[[dict], Any] | None = None,
    callback: Callable[[dict], dict] | None = None,
) -> Any:
    """``value`` with each reference outside callbacks replaced by ``reference(ref)`` and the
    graph (an object) of each callback by ``callback(graph)``; None: left as they are."""
    if isinstance(value, dict):
        if is_reference(value):
            return dict(value) if reference is None else reference(value)
        if is_callback(value):
            graph = value["process_graph"]
            if callback is None or not isinstance(graph, dict):
                return value
            return {**value, "process_graph": callback(graph)}
        return {k: rebuild(v, reference, callback) for k, v in value.items()}
    if isinstance(value, list):
        return [rebuild(v, reference, callback) for v in value]
    return value


def replace_references(value: Any, replacements: Mapping[str, Any]) -> Any:
    """``value`` with each ``{"from_node": id}`` outside callbacks whose id is in
    ``replacements`` replaced by ``replacements[id]`` (renamed: ``{"from_node": new id}``).

    Other references, e.g. ones that are not strings (which ``FlatGraph`` refuses), stay."""

    def replaced(ref: dict) -> Any:
        target = ref.get("from_node")
        if set(ref) == {"from_node"} and isinstance(target, str) and target in replacements:
            return replacements[target]
        return dict(ref)

    return rebuild(value, replaced)


def renamed(mapping: Mapping[str, str]) -> dict[str, dict]:
    """Replacements (for :func:`replace_references`) renaming node ids by ``mapping``."""
    return {old: {"from_node": new} for old, new in mapping.items()}
