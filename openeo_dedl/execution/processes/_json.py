"""Dispatch between our implementations for JSON values and openeo-processes-dask's for arrays.

openeo-processes-dask implements each process for numpy/dask arrays and data cubes: ``null`` has
no place there (``mean([1, 2, null])``, ``multiply(null, 2)`` raise TypeError), comparisons
return floats, and empty arrays or mixed types fail. The spec's semantics for plain values (the
``null`` no-data value, booleans, strings) are ours: a process whose data arguments are all plain
JSON values runs our implementation, anything else runs the standard one unchanged.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable
from typing import Any

import numpy as np

# Arguments parents pass to callbacks; implementations receive them only if they name them.
SPECIAL_ARGS = ("axis", "keepdims", "source_transposed_axis", "context", "dim_labels")


def is_plain(value: Any) -> bool:
    """True for JSON-like values: None, booleans, numbers, strings, and lists/dicts of them."""
    if value is None or isinstance(value, bool | int | float | str | np.bool_ | np.number):
        return True
    if isinstance(value, list | tuple):
        return all(is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(is_plain(v) for v in value.values())
    return False


def is_number(value: Any) -> bool:
    """Numbers, excluding booleans (JSON keeps them apart, Python does not)."""
    return isinstance(value, int | float | np.number) and not isinstance(value, bool | np.bool_)


def python_value(value: Any) -> Any:
    """numpy scalars and 0-d arrays as Python values (so that JSON shows true, not 1.0)."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, np.generic):
        return value.item()
    return value


@functools.lru_cache(maxsize=1024)
def _parameter_names(f: Callable) -> frozenset[str]:
    # inspect.signature is slow (~40 µs) and every call of a process on plain values asks.
    return frozenset(inspect.signature(f).parameters)


def call_accepting(f: Callable, *args, **kwargs) -> Any:
    """Call ``f`` with the special callback arguments only if its signature names them."""
    accepted = _parameter_names(f)
    for name in SPECIAL_ARGS:
        if name not in accepted:
            kwargs.pop(name, None)
    return f(*args, **kwargs)


def for_json_values(
    process_id: str, cube: Callable | None = None
) -> Callable[[Callable], Callable]:
    """Decorator: the decorated function runs on plain JSON values, ``cube`` (by default
    openeo-processes-dask's ``process_id``) on anything else (arrays, data cubes)."""

    def decorate(json_impl: Callable) -> Callable:
        @functools.wraps(json_impl)
        def dispatch(*args, **kwargs):
            data = [
                v for k, v in kwargs.items() if k not in SPECIAL_ARGS and not callable(v)
            ] + list(args)
            if all(is_plain(v) for v in data):
                return call_accepting(json_impl, *args, **kwargs)
            from openeo_dedl.execution.registry import standard_implementation

            standard = cube or standard_implementation(process_id)
            if standard is None:
                raise TypeError(f"{process_id} supports plain values only")
            return call_accepting(standard, *args, **kwargs)

        # The parameter wrapper must leave the special arguments to the dispatch above.
        dispatch.__signature__ = inspect.Signature(
            [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY) for n in SPECIAL_ARGS]
            + [inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD)]
        )
        return dispatch

    return decorate


def _as_float(value: Any) -> Any:
    dtype = getattr(value, "dtype", None)
    if dtype is not None and (np.issubdtype(dtype, np.integer) or np.issubdtype(dtype, np.bool_)):
        return value.astype(np.float64)
    return value


def promoting(process_id: str) -> Callable:
    """openeo-processes-dask's ``process_id`` on arrays, with integer arrays as float64 first:
    numpy computes ``uint16 - uint16`` modulo 2**16, the spec computes numbers."""

    def cube_impl(*args, **kwargs):
        from openeo_dedl.execution.registry import standard_implementation

        args = tuple(_as_float(a) for a in args)
        kwargs = {k: v if k in SPECIAL_ARGS else _as_float(v) for k, v in kwargs.items()}
        return call_accepting(standard_implementation(process_id), *args, **kwargs)

    cube_impl.__name__ = process_id
    cube_impl.__signature__ = inspect.signature(_standard(process_id))
    return cube_impl


def _standard(process_id: str) -> Callable:
    from openeo_dedl.execution.registry import standard_implementation

    return standard_implementation(process_id)


# Arithmetic that overflows in integer arrays (numpy wraps around).
PROMOTED = {"add", "subtract", "multiply", "divide", "power", "normalized_difference", "ndvi"}


def null_propagating(process_id: str, *names: str) -> Callable:
    """openeo-processes-dask's ``process_id`` on plain numbers, with ``null`` in any of ``names``
    giving ``null`` (the spec: "the no-data value null is passed through")."""

    def json_impl(**kwargs):
        if any(kwargs.get(n) is None for n in names if n in kwargs):
            return None
        from openeo_dedl.execution.registry import standard_implementation

        with np.errstate(all="ignore"):
            return python_value(call_accepting(standard_implementation(process_id), **kwargs))

    json_impl.__name__ = process_id
    cube = promoting(process_id) if process_id in PROMOTED else None
    return for_json_values(process_id, cube=cube)(json_impl)


def nan_to_none(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value
