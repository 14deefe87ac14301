"""``load_collection``'s ``properties`` as a STAC API search filter (CQL2-JSON; pure).

openEO gives each item property a condition, a callback on ``value``. The simple ones are
pushed down into the STAC API search: ``eq``, ``neq``, ``lt``, ``lte``, ``gt``, ``gte``,
``between`` and ``array_contains`` comparing ``value`` with a literal, and ``and``/``or`` of
them. A pushed filter only narrows what is listed: the items the API answers are checked again
with the openEO semantics (``execution/properties.py``), so a filter is pushed only where the
API keeps every item the check keeps (numbers compared as numbers, strings for equality only).
A condition that cannot be pushed (other processes, ``case_sensitive: false``, ``neq`` on a
plain property, whose type the search does not know) leaves its property to that check alone.

``federation:backends`` (the providers holding an item, a list or a single id) is read as a
set: ``eq(value, "dedt_lumi")`` and ``array_contains(value, "dedt_lumi")`` hold for an item
held by that provider, ``neq`` for one that is not (CQL2 ``a_overlaps``, negated for ``neq``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from openeo_dedl.planning.walk import callback_graph

SITE_FIELD = "federation:backends"
# openEO comparison -> CQL2 operator (value on the left).
_ORDER = {"eq": "=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}
# The same comparison with its arguments swapped (literal on the left, value on the right).
_SWAPPED = {"eq": "eq", "neq": "neq", "lt": "gt", "lte": "gte", "gt": "lt", "gte": "lte"}
# A condition as a tree of tuples: ("and"|"or", parts), (op, literal), ("between", lo, hi).
Condition = tuple

_VALUE = {"from_parameter": "value"}


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _is_literal(v: Any) -> bool:
    return isinstance(v, str) or _is_number(v)


def parse_condition(callback: Any) -> Condition | None:
    """The condition of a ``properties`` callback as a tree, None when it is none of the
    simple forms (module docstring)."""
    graph = callback_graph(callback)
    if graph is None:
        return None
    results = [n for n, node in graph.items() if isinstance(node, dict) and node.get("result")]
    if len(results) != 1:
        return None
    return _parse_node(graph, results[0], depth=0)


def _parse_node(graph: Mapping, node_id: Any, depth: int) -> Condition | None:
    node = graph.get(node_id) if isinstance(node_id, str) else None
    if not isinstance(node, dict) or depth > 20:
        return None
    pid, args = node.get("process_id"), node.get("arguments") or {}
    if pid in ("and", "or"):
        if set(args) != {"x", "y"}:
            return None
        parts = [_reference(graph, args[k], depth) for k in ("x", "y")]
        return None if None in parts else (pid, tuple(parts))
    if pid in _SWAPPED:
        extra = {k: v for k, v in args.items() if k not in ("x", "y")}
        if extra and not (
            pid in ("eq", "neq")
            and extra.get("delta") is None
            and extra.get("case_sensitive", True) is True
        ):
            return None  # fmt: skip
        x, y = args.get("x"), args.get("y")
        if x == _VALUE and _is_literal(y):
            return (pid, y)
        if y == _VALUE and _is_literal(x):
            return (_SWAPPED[pid], x)
        return None
    if pid == "between":
        lo, hi = args.get("min"), args.get("max")
        if args.get("x") == _VALUE and _is_number(lo) and _is_number(hi):
            return ("between", lo, hi)
        return None
    if pid == "array_contains" and args.get("data") == _VALUE:
        value = args.get("value")
        return ("array_contains", value) if isinstance(value, str) else None
    return None


def _reference(graph: Mapping, ref: Any, depth: int) -> Condition | None:
    if isinstance(ref, dict) and set(ref) == {"from_node"}:
        return _parse_node(graph, ref["from_node"], depth + 1)
    return None


def to_cql2(name: str, condition: Condition) -> dict | None:
    """The CQL2-JSON of ``condition`` on property ``name``; None when it cannot be pushed."""
    kind = condition[0]
    prop = {"property": name}
    if kind in ("and", "or"):
        parts = [to_cql2(name, c) for c in condition[1]]
        return None if None in parts else {"op": kind, "args": parts}
    value = condition[1]
    if name == SITE_FIELD:
        if kind in ("eq", "array_contains") and isinstance(value, str):
            return {"op": "a_overlaps", "args": [prop, [value]]}
        if kind == "neq" and isinstance(value, str):
            return {"op": "not", "args": [{"op": "a_overlaps", "args": [prop, [value]]}]}
        return None
    if kind == "between":
        return {"op": "between", "args": [prop, condition[1], condition[2]]}
    if kind == "array_contains":
        return {"op": "a_contains", "args": [prop, [value]]}
    if kind == "eq" and isinstance(value, str):
        return {"op": "=", "args": [prop, value]}
    if kind in _ORDER and _is_number(value):
        return {"op": _ORDER[kind], "args": [prop, value]}
    return None


def property_conditions(properties: Any) -> dict | None:
    """A load's ``properties`` when it is an object of callbacks (what the facts are checked
    against while planning), else None (none, or a reference known only when it runs)."""
    if not isinstance(properties, Mapping) or not properties:
        return None
    if any(callback_graph(c) is None for c in properties.values()):
        return None
    return dict(properties)


def properties_filter(properties: Any) -> dict | None:
    """The CQL2-JSON filter of a load's ``properties`` (the ``and`` of every property's
    condition that can be pushed); None when none can."""
    if not isinstance(properties, Mapping):
        return None
    parts = []
    for name in sorted(properties, key=str):
        condition = parse_condition(properties[name])
        cql2 = None if condition is None else to_cql2(str(name), condition)
        if cql2 is not None:
            parts.append(cql2)
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"op": "and", "args": parts}


def any_filter(filters: Sequence[dict | None]) -> dict | None:
    """The filter of several loads of one collection: what any of them reads (None when one
    of them reads everything)."""
    if not filters or None in filters:
        return None
    unique: list[dict] = []
    for f in filters:
        if f not in unique:
            unique.append(f)  # type: ignore[arg-type]
    return unique[0] if len(unique) == 1 else {"op": "or", "args": unique}


def holds_for_providers(condition: Condition, providers: Iterable[str]) -> bool:
    """Whether a ``federation:backends`` condition holds for an item held by ``providers``
    (read as a set, module docstring); comparisons other than (in)equality never hold."""
    held = set(providers)
    kind = condition[0]
    if kind == "and":
        return all(holds_for_providers(c, held) for c in condition[1])
    if kind == "or":
        return any(holds_for_providers(c, held) for c in condition[1])
    if kind in ("eq", "array_contains"):
        return condition[1] in held
    if kind == "neq":
        return condition[1] not in held
    return False


def provider_values(value: Any) -> list[str] | None:
    """A ``federation:backends`` value as a list of provider ids (None: not such a value)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return None
