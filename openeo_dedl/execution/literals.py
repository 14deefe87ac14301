"""Literal arguments handed to implementations as the JSON the user sent.

openeo-pg-parser-networkx converts every argument through a union of types, first match wins:
``[]`` becomes an empty list of temporal intervals, ``[null, "2020-01-01"]`` a temporal interval,
``"2020-01-01"`` a date object. Processes on data cubes rely on some of these (bounding boxes,
temporal extents); processes on plain values must see the values as sent. So the literal
arguments of processes that take no data cube reach the implementation as parameters, which the
parser passes through untouched.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openeo_dedl.planning.walk import is_literal

LITERAL_PARAMETER_PREFIX = "dedl_literal_"
_CUBE_SUBTYPES = {"datacube", "raster-cube", "vector-cube"}
_COMBINATORS = {"anyOf", "oneOf", "allOf"}


def _schemas(schema: Any) -> list[dict]:
    if isinstance(schema, list):
        return [s for item in schema for s in _schemas(item)]
    if isinstance(schema, dict):
        nested = [s for key in sorted(_COMBINATORS) for s in _schemas(schema.get(key))]
        return [schema, *nested]
    return []


def takes_cube(spec: Mapping) -> bool:
    """Whether any parameter of the process accepts a data cube."""
    return any(
        s.get("subtype") in _CUBE_SUBTYPES
        for p in spec.get("parameters", [])
        for s in _schemas(p.get("schema"))
    )


def cube_parameters(spec: Mapping) -> frozenset[str]:
    """The parameters of the process that accept nothing but data cubes."""
    names = set()
    for p in spec.get("parameters", []):
        alternatives = [s for s in _schemas(p.get("schema")) if not _COMBINATORS & s.keys()]
        if alternatives and all(s.get("subtype") in _CUBE_SUBTYPES for s in alternatives):
            names.add(p["name"])
    return frozenset(names)


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
