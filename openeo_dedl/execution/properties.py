"""Evaluating ``load_collection``'s ``properties`` conditions against STAC item properties.

Every condition is evaluated with the standard process implementations on the property's
value, except one on ``federation:backends`` of the simple forms of ``planning/properties.py``:
the providers are read as a set there (``eq(value, "dedt_lumi")``: held by that provider), as
the STAC API search it is pushed into reads them. A value the condition cannot compare (a
string with ``lt``) does not match.
"""

from __future__ import annotations

from typing import Any

import pystac

from openeo_dedl.errors import ProcessParameterInvalid
from openeo_dedl.planning.properties import (
    SITE_FIELD,
    holds_for_providers,
    parse_condition,
    properties_filter,
    provider_values,
)
from openeo_dedl.planning.walk import callback_graph


def _plain(value: Any) -> Any:
    """Parser objects (ParameterReference, ResultReference, dates) back to JSON-like values."""
    if hasattr(value, "from_parameter") and not isinstance(value, dict):
        return {"from_parameter": value.from_parameter}
    if hasattr(value, "from_node") and not isinstance(value, dict):
        return {"from_node": value.from_node}
    if hasattr(value, "root"):
        return _plain(value.root)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def evaluate_condition(process_graph: dict, value: Any) -> bool:
    """Evaluate a small callback graph on one property value with the standard implementations."""
    from openeo_dedl.execution.pg_adapter import standard_implementations

    impls = standard_implementations()
    results: dict[str, Any] = {}

    def resolve(arg: Any) -> Any:
        if isinstance(arg, dict):
            if set(arg) == {"from_parameter"}:
                if arg["from_parameter"] != "value":
                    raise ProcessParameterInvalid(
                        f"Property filters can only use the parameter 'value', not "
                        f"'{arg['from_parameter']}'."
                    )
                return value
            if set(arg) == {"from_node"}:
                return run(arg["from_node"])
            return {k: resolve(v) for k, v in arg.items()}
        if isinstance(arg, list):
            return [resolve(v) for v in arg]
        return arg

    def run(node_id: str) -> Any:
        if node_id not in results:
            node = process_graph[node_id]
            impl = impls.get(node["process_id"])
            if impl is None:
                raise ProcessParameterInvalid(
                    f"Process '{node['process_id']}' cannot be used in load_collection properties."
                )
            kwargs = {k: resolve(v) for k, v in node.get("arguments", {}).items()}
            try:
                results[node_id] = impl(**kwargs)
            except (TypeError, ValueError):  # e.g. lt on a string: null in openEO
                results[node_id] = None
        return results[node_id]

    result_nodes = [n for n, node in process_graph.items() if node.get("result")]
    if len(result_nodes) != 1:
        raise ProcessParameterInvalid("A property filter needs exactly one result node.")
    return bool(run(result_nodes[0]))


def item_matches(item: pystac.Item, properties: dict) -> bool:
    """Whether ``item`` satisfies every condition of ``load_collection``'s ``properties``."""
    for name, condition in _plain(properties).items():
        graph = callback_graph(condition)
        if graph is None:
            raise ProcessParameterInvalid(
                "The value passed for parameter 'properties' in process 'load_collection' is "
                f"invalid: property '{name}' needs a process graph."
            )
        if name not in item.properties:
            return False
        value = item.properties[name]
        if name == SITE_FIELD:
            parsed, providers = parse_condition(condition), provider_values(value)
            if parsed is not None and providers is not None:
                if not holds_for_providers(parsed, providers):
                    return False
                continue
        if not evaluate_condition(graph, value):
            return False
    return True


def search_filter(properties: dict | None) -> dict | None:
    """The CQL2-JSON filter a search for a load with ``properties`` is sent (the plan's)."""
    return properties_filter(_plain(properties)) if properties else None


def providers_selected(properties: dict, providers: list[str]) -> bool:
    """Whether an item held by ``providers`` can satisfy the ``federation:backends`` condition
    of ``properties`` (True when it has none, or none of the simple forms)."""
    condition = _plain(properties).get(SITE_FIELD)
    parsed = None if condition is None else parse_condition(condition)
    return parsed is None or holds_for_providers(parsed, providers)
