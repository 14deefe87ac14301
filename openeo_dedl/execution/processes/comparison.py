"""Comparisons on plain values, as the spec defines them: ``null`` gives ``null``, booleans are
not numbers, only numbers are ordered, values of different types are never equal.

On arrays and data cubes openeo-processes-dask's implementations run unchanged (see ``_json``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from openeo_dedl.execution.processes._json import for_json_values, is_number


def equal(x: Any, y: Any, delta: float | None = None, case_sensitive: bool = True) -> bool:
    """``eq`` for two values that are not null."""
    if is_number(x) and is_number(y):
        if math.isnan(x) or math.isnan(y):
            return False
        if delta is not None and not (math.isinf(x) or math.isinf(y)):
            return abs(x - y) <= delta
        return x == y
    if isinstance(x, str) and isinstance(y, str):
        return x == y if case_sensitive else x.casefold() == y.casefold()
    if isinstance(x, bool) and isinstance(y, bool):
        return x == y
    return False


@for_json_values("eq")
def eq(x, y, delta=None, case_sensitive=True):
    if x is None or y is None:
        return None
    return equal(x, y, delta, case_sensitive)


@for_json_values("neq")
def neq(x, y, delta=None, case_sensitive=True):
    if x is None or y is None:
        return None
    if is_number(x) and is_number(y) and (math.isnan(x) or math.isnan(y)):
        return True
    return not equal(x, y, delta, case_sensitive)


def _ordered(compare: Callable[[float, float], bool], process_id: str) -> Callable:
    def json_impl(x, y):
        if x is None or y is None:
            return None
        if not (is_number(x) and is_number(y)):
            return False
        return compare(x, y)  # NaN compares false, as the spec wants

    json_impl.__name__ = process_id
    return for_json_values(process_id)(json_impl)


@for_json_values("between")
def between(x, min, max, exclude_max=False):  # noqa: A002 - the spec's parameter names
    if x is None:
        return None
    if not (is_number(x) and is_number(min) and is_number(max)):
        return False
    return min <= x < max if exclude_max else min <= x <= max


@for_json_values("is_nan")
def is_nan(x):
    return not is_number(x) or math.isnan(x)


def _is_nodata_array(x):
    """``is_nodata`` on arrays: NaN is the no-data value of every cube from the load on
    (execution/nodata.py); openeo-processes-dask's answers one ``False`` for a whole array."""
    if isinstance(x, list | tuple):
        x = np.asarray(x)
    dtype = getattr(x, "dtype", None)
    if dtype is not None and np.issubdtype(dtype, np.floating):
        return np.isnan(x)
    return np.zeros_like(x, dtype=bool)


@for_json_values("is_nodata", cube=_is_nodata_array)
def is_nodata(x):
    return x is None


@for_json_values("is_valid")
def is_valid(x):
    if x is None:
        return False
    return not (is_number(x) and (math.isnan(x) or math.isinf(x)))


def implementations() -> dict[str, Callable]:
    return {
        "eq": eq,
        "neq": neq,
        "gt": _ordered(lambda x, y: x > y, "gt"),
        "gte": _ordered(lambda x, y: x >= y, "gte"),
        "lt": _ordered(lambda x, y: x < y, "lt"),
        "lte": _ordered(lambda x, y: x <= y, "lte"),
        "between": between,
        "is_nan": is_nan,
        "is_nodata": is_nodata,
        "is_valid": is_valid,
    }
