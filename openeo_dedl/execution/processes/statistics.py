"""Reducers over plain arrays with the spec's no-data rules: ``null`` elements are skipped
(``ignore_nodata``, the default) or make the result ``null``; an empty array gives ``null``.

On arrays and data cubes (e.g. inside ``reduce_dimension``) openeo-processes-dask's
implementations run unchanged (see ``_json``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from openeo_dedl.execution.processes._json import for_json_values, python_value


def _values(data: Sequence, ignore_nodata: bool) -> list | None:
    """The non-null elements, or None when a null counts and makes the result null."""
    values = [v for v in data if v is not None]
    if not ignore_nodata and len(values) < len(data):
        return None
    return values


def _reducer(
    process_id: str, reduce: Callable[[list], Any], minimum: int = 1, cube: Callable | None = None
) -> Callable:
    def json_impl(data, ignore_nodata=True):
        values = _values(data, ignore_nodata)
        if values is None or len(values) < minimum:
            return None
        return python_value(reduce(values))

    json_impl.__name__ = process_id
    return for_json_values(process_id, cube=cube)(json_impl)


def _missing_where_all_missing(process_id: str) -> Callable:
    """openeo-processes-dask's ``sum``/``product`` on arrays, with no-data (NaN) where every
    value is no-data: ``np.nansum`` gives 0 there and ``np.nanprod`` 1, the spec no-data ("An
    array with solely no-data values returns the no-data value")."""

    def cube_impl(data, ignore_nodata=True, axis=None, keepdims=False):
        from openeo_dedl.execution.registry import standard_implementation

        result = standard_implementation(process_id)(
            data, ignore_nodata=ignore_nodata, axis=axis, keepdims=keepdims
        )
        if not ignore_nodata:
            return result  # np.sum/np.prod: any NaN already makes the result NaN
        dtype = getattr(data, "dtype", None)
        if dtype is None:
            data = np.asarray(data)  # a list of arrays (e.g. sum(data=[x, y]))
            dtype = data.dtype
        if not np.issubdtype(dtype, np.floating):
            return result  # integers hold no NaN: no element is no-data
        empty = np.all(np.isnan(data), axis=axis, keepdims=keepdims)
        return np.where(empty, np.asarray(np.nan, dtype=np.result_type(result)), result)

    cube_impl.__name__ = process_id
    return cube_impl


def _product(values: list) -> float:
    return math.prod(values)


def _variance(values: list) -> float:
    return float(np.var(values, ddof=1))  # the sample variance, as the spec's examples


def _extrema_array(data, ignore_nodata=True, axis=None, keepdims=False):
    """Minimum and maximum of arrays: along ``axis`` (a new axis of length 2 there, as
    ``apply_dimension`` needs), or of all values. openeo-processes-dask's gives a (2,) array
    whatever the axis."""
    low, high = (np.nanmin, np.nanmax) if ignore_nodata else (np.min, np.max)
    if axis is None:
        return np.stack([low(data), high(data)])
    axis = axis % np.ndim(data)
    return np.stack([low(data, axis=axis), high(data, axis=axis)], axis=axis)


@for_json_values("extrema", cube=_extrema_array)
def extrema(data, ignore_nodata=True):
    values = _values(data, ignore_nodata)
    if not values:
        return [None, None]
    return [min(values), max(values)]


@for_json_values("quantiles")
def quantiles(data, probabilities=None, q=None, ignore_nodata=True):
    if probabilities is None and q is not None:  # openeo-processes 1.x
        probabilities = q
    if isinstance(probabilities, int) and not isinstance(probabilities, bool):
        probabilities = [i / probabilities for i in range(1, probabilities)]
    values = _values(data, ignore_nodata)
    if not values:
        return [None] * len(probabilities)
    if any(isinstance(v, float) and math.isnan(v) for v in values):
        return [math.nan] * len(probabilities)  # NaN is a value (not no-data) and propagates
    return [_quantile(sorted(values), p) for p in probabilities]


def _quantile(ordered: list, p: float) -> float:
    """The spec's method (linear interpolation, "type 7" of Hyndman and Fan, numpy's default),
    written so that infinite values stay infinite where numpy would give NaN."""
    h = (len(ordered) - 1) * p
    low = math.floor(h)
    f = h - low
    if f == 0:
        return ordered[low]
    return (1 - f) * ordered[low] + f * ordered[low + 1]


def _first_or_last(process_id: str, pick: Callable[[list], Any]) -> Callable:
    def json_impl(data, ignore_nodata=True):
        values = [v for v in data if v is not None] if ignore_nodata else list(data)
        return pick(values) if values else None

    json_impl.__name__ = process_id
    return for_json_values(process_id)(json_impl)


@for_json_values("count")
def count(data, condition=None, context=None):
    if condition is None:
        return sum(1 for v in data if v is not None)
    if condition is True:
        return len(data)
    if callable(condition):
        return sum(
            1
            for v in data
            if condition(named_parameters={"element": v, "x": v, "context": context}) is True
        )
    return 0


def _cumulative(process_id: str, step: Callable[[Any, Any], Any]) -> Callable:
    """``cumsum`` & co.: null elements stay null and are skipped, or (``ignore_nodata`` false)
    make every later element null."""

    def json_impl(data, ignore_nodata=True):
        out, total, poisoned = [], None, False
        for v in data:
            if v is None or poisoned:
                poisoned = poisoned or not ignore_nodata
                out.append(None)
                continue
            total = v if total is None else step(total, v)
            out.append(total)
        return out

    json_impl.__name__ = process_id
    return for_json_values(process_id)(json_impl)


def implementations() -> dict[str, Callable]:
    return {
        "mean": _reducer("mean", lambda v: sum(v) / len(v)),
        "median": _reducer("median", lambda v: np.median(np.asarray(v, float))),
        "sum": _reducer("sum", sum, cube=_missing_where_all_missing("sum")),
        "product": _reducer("product", _product, cube=_missing_where_all_missing("product")),
        "min": _reducer("min", min),
        "max": _reducer("max", max),
        "variance": _reducer("variance", _variance, minimum=1),
        "sd": _reducer("sd", lambda v: math.sqrt(_variance(v)), minimum=1),
        "extrema": extrema,
        "quantiles": quantiles,
        "first": _first_or_last("first", lambda v: v[0]),
        "last": _first_or_last("last", lambda v: v[-1]),
        "count": count,
        "cumsum": _cumulative("cumsum", lambda a, b: a + b),
        "cumproduct": _cumulative("cumproduct", lambda a, b: a * b),
        "cummin": _cumulative("cummin", min),
        "cummax": _cumulative("cummax", max),
    }
