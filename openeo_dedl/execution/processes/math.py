"""Mathematical processes on plain values: ``null`` passes through, division by zero follows IEEE.

On arrays and data cubes openeo-processes-dask's implementations run unchanged (see ``_json``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from openeo_dedl.errors import ProcessException
from openeo_dedl.execution.processes._json import for_json_values, null_propagating, promoting
from openeo_dedl.planning.limits import check_integer_power, check_integer_product

UNARY = (
    "absolute", "sgn", "sqrt", "ln", "ceil", "floor",
    "sin", "cos", "tan", "arcsin", "arccos", "arctan",
    "sinh", "cosh", "tanh", "arsinh", "arcosh", "artanh",
)  # fmt: skip


def _ieee_divide(x: float, y: float) -> float:
    if y != 0:
        return x / y
    return math.nan if x == 0 or math.isnan(x) else math.copysign(math.inf, x)


@for_json_values("mod")
def mod(x, y):
    if x is None or y is None:
        return None
    if y == 0:
        return _ieee_divide(x, y)
    if math.isinf(y) and not math.isinf(x):
        return x  # x % ±inf in Python takes the divisor's infinity; the spec keeps x
    return x % y  # the result takes the sign of the divisor, as in the spec's examples


@for_json_values("divide", cube=promoting("divide"))
def divide(x, y):
    if x is None or y is None:
        return None
    return _ieee_divide(x, y)


@for_json_values("clip")
def clip(x, min, max):  # noqa: A002 - the spec's parameter names
    if min > max:
        raise ProcessException(
            "MinMaxSwapped", "The minimum value must be lower than or equal to the maximum value."
        )
    if x is None:
        return None
    if math.isnan(min) or math.isnan(max):
        return math.nan
    return min if x < min else max if x > max else x


@for_json_values("int")
def int_(x):
    if x is None or math.isnan(x):
        return None  # the spec: NaN has no integer part, so no data
    if math.isinf(x):
        return x
    return int(x)


def _bounded(process_id: str, check: Callable, x: str, y: str) -> Callable:
    """``null_propagating(process_id)`` that first refuses exact integer results too large to
    compute: Python's big integers hold the interpreter lock for as long as they take
    (``power(10, 1000000000)`` froze the server for an hour)."""
    impl = null_propagating(process_id, x, y)

    def bounded(*args, **kwargs):
        check(kwargs.get(x), kwargs.get(y))
        return impl(*args, **kwargs)

    bounded.__name__ = process_id
    bounded.__signature__ = impl.__signature__
    return bounded


def e() -> float:
    """Euler's number (openeo-processes-dask has no ``e``)."""
    return math.e


def implementations() -> dict[str, Callable]:
    impls: dict[str, Callable] = {pid: null_propagating(pid, "x") for pid in UNARY}
    impls.update(
        {
            "exp": null_propagating("exp", "p"),
            "int": int_,
            "round": null_propagating("round", "x"),
            "log": null_propagating("log", "x", "base"),
            "power": _bounded("power", check_integer_power, "base", "p"),
            "add": null_propagating("add", "x", "y"),
            "subtract": null_propagating("subtract", "x", "y"),
            "multiply": _bounded("multiply", check_integer_product, "x", "y"),
            "arctan2": null_propagating("arctan2", "y", "x"),
            "normalized_difference": null_propagating("normalized_difference", "x", "y"),
            "linear_scale_range": null_propagating("linear_scale_range", "x"),
            "divide": divide,
            "mod": mod,
            "clip": clip,
            "e": e,
            "ndvi": promoting("ndvi"),
        }
    )
    return impls
