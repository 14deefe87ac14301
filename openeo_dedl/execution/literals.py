"""Which parameters of a process spec take data cubes (read from the parameters' schemas).

``pg_adapter.protect_literals`` keeps the literal arguments of processes that take no data cube
from the parser's type guessing; ``processes/_wrap.requiring_cubes`` refuses values that are no
data cubes where a spec takes only cubes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
