"""Process implementations of this backend, one module per family.

They fix what openeo-processes-dask gets wrong for plain values (``null``, booleans, empty
arrays; see ``_json``) and add processes it lacks or does not register. ``implementations()``
maps process ids to them; the registry prefers them to openeo-processes-dask's.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

FAMILIES = (
    "arrays",
    "climate",
    "cubes",
    "comparison",
    "dates",
    "export",
    "labels",
    "logic",
    "math",
    "neighborhood",
    "polygons",
    "resample",
    "spatial",
    "temporal",
    "statistics",
    "text",
    "vector",
)


@functools.cache
def implementations() -> dict[str, Callable]:
    """Process id → our implementation, over all families."""
    import importlib

    impls: dict[str, Callable] = {}
    for family in FAMILIES:
        module = importlib.import_module(f"{__name__}.{family}")
        impls.update(module.implementations())
    return impls
