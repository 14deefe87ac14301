"""Array processes on plain arrays, as the spec defines them (``null`` elements, errors).

On numpy/dask arrays openeo-processes-dask's implementations run unchanged (see ``_json``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from openeo_dedl.errors import ProcessException
from openeo_dedl.execution.processes._json import for_json_values
from openeo_dedl.execution.processes.comparison import equal
from openeo_dedl.planning.limits import check_array_length, check_string_length, longest_string


@for_json_values("array_element")
def array_element(data, index=None, label=None, return_nodata=False):
    if index is None and label is None:
        raise ProcessException(
            "ArrayElementParameterMissing",
            "The process `array_element` requires either the `index` or `labels` parameter to "
            "be set.",
        )
    if index is not None and label is not None:
        raise ProcessException(
            "ArrayElementParameterConflict",
            "The process `array_element` only allows that either the `index` or the `labels` "
            "parameter is set.",
        )
    if label is not None:
        raise ProcessException("ArrayNotLabeled", "The array is not a labeled array.")
    if 0 <= index < len(data):
        return data[index]
    if return_nodata:
        return None
    raise ProcessException(
        "ArrayElementNotAvailable", "The array has no element with the specified index."
    )


def _find(data, value, reverse=False):
    if value is None:
        return None
    indices = range(len(data) - 1, -1, -1) if reverse else range(len(data))
    for i in indices:
        element = data[i]
        if element is not None and not isinstance(element, list | dict) and equal(element, value):
            return i
    return None


@for_json_values("array_find")
def array_find(data, value, reverse=False):
    return _find(data, value, reverse)


@for_json_values("array_contains")
def array_contains(data, value):
    return _find(data, value) is not None


@for_json_values("array_append")
def array_append(data, value, label=None):
    if label is not None:
        raise ProcessException("ArrayNotLabeled", "The array is not a labeled array.")
    check_array_length(len(data) + 1, "the array array_append makes")
    return [*data, value]


@for_json_values("array_modify")
def array_modify(data, values, index, length=0):
    if index > len(data):
        raise ProcessException(
            "ArrayElementNotAvailable", "The array has no element with the index."
        )
    check_array_length(len(data) + len(values), "the array array_modify makes")
    return [*data[:index], *values, *data[index + length :]]


def _flat_values(data) -> list:
    if data is None:
        return []
    if hasattr(data, "tolist"):
        data = data.tolist()
    return list(data) if isinstance(data, list | tuple) else [data]


def array_create(data=None, repeat=1, **kwargs):
    """openeo-processes-dask's ``array_create`` (``numpy.tile``), sized first: a small
    ``repeat`` of 10^8 took 6 GB, one of 10^12 asked numpy for 7 TiB."""
    from openeo_dedl.execution.processes._json import call_accepting
    from openeo_dedl.execution.registry import standard_implementation

    if isinstance(repeat, int) and not isinstance(repeat, bool):
        length = 0 if data is None else (len(data) if hasattr(data, "__len__") else 1)
        check_array_length(length * max(repeat, 0), "the array array_create makes")
        characters = length * max(repeat, 0) * longest_string(_flat_values(data))
        check_string_length(characters, "the strings array_create makes (characters)")
    return call_accepting(
        standard_implementation("array_create"), data=data, repeat=repeat, **kwargs
    )


def _each(process: Callable, data: list, context: Any):
    """Call a callback per element with the parameters the spec gives it."""
    for i, x in enumerate(data):
        yield x, process(named_parameters={"x": x, "index": i, "label": None, "context": context})


@for_json_values("array_apply")
def array_apply(data, process, context=None):
    return [result for _, result in _each(process, data, context)]


@for_json_values("array_filter")
def array_filter(data, condition, context=None):
    return [x for x, keep in _each(condition, data, context) if keep is True]


def _interpolate(a: float, b: float, f: float) -> float:
    # (1 - f)·a + f·b keeps infinite end points infinite (a + f·(b - a) would give NaN).
    return (1 - f) * a + f * b


@for_json_values("array_interpolate_linear")
def array_interpolate_linear(data):
    out = list(data)
    valid = [i for i, v in enumerate(data) if v is not None and not math.isnan(v)]
    for left, right in zip(valid, valid[1:], strict=False):
        for i in range(left + 1, right):
            out[i] = _interpolate(data[left], data[right], (i - left) / (right - left))
    return out


def _order_array(data, asc=True, nodata=None, axis=None):
    """openeo-processes-dask's ``order`` on arrays, which refuses ``nodata=null`` (dropping
    no-data would make the array ragged); without NaN there is nothing to drop."""
    import numpy as np

    from openeo_dedl.execution.processes._json import call_accepting
    from openeo_dedl.execution.registry import standard_implementation

    if nodata is None and not np.isnan(np.asarray(data, dtype=float)).any():
        nodata = True
    return call_accepting(standard_implementation("order"), data, asc=asc, nodata=nodata, axis=axis)


@for_json_values("order", cube=_order_array)
def order(data, asc=True, nodata=None):
    # sorted() is stable in both directions: equal elements keep their original order.
    present = sorted(
        (i for i, v in enumerate(data) if v is not None), key=lambda i: data[i], reverse=not asc
    )
    nulls = [i for i, v in enumerate(data) if v is None] if nodata is not None else []
    return present + nulls if nodata else nulls + present


@for_json_values("array_concat")
def array_concat(array1, array2):
    # Sized first: concatenating an array with itself, node after node, doubles it each time.
    check_array_length(len(array1) + len(array2), "the array array_concat makes")
    return list(array1) + list(array2)


@for_json_values("sort")
def sort(data, asc=True, nodata=None):
    values = sorted((v for v in data if v is not None), reverse=not asc)
    nulls = [None] * (len(data) - len(values)) if nodata is not None else []
    return values + nulls if nodata else nulls + values


def implementations() -> dict[str, Callable]:
    return {
        "array_element": array_element,
        "array_find": array_find,
        "array_contains": array_contains,
        "array_concat": array_concat,
        "array_create": array_create,
        "array_append": array_append,
        "array_modify": array_modify,
        "array_apply": array_apply,
        "array_filter": array_filter,
        "array_interpolate_linear": array_interpolate_linear,
        "order": order,
        "sort": sort,
    }
