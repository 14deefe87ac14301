"""Logical processes on plain values with the spec's three-valued logic (``null`` is unknown).

On arrays and data cubes openeo-processes-dask's implementations run unchanged (see ``_json``).
"""

from __future__ import annotations

from collections.abc import Callable

from openeo_dedl.execution.processes._json import for_json_values


@for_json_values("and")
def and_(x, y):
    if x is False or y is False:
        return False
    if x is None or y is None:
        return None
    return bool(x and y)


@for_json_values("or")
def or_(x, y):
    if x is True or y is True:
        return True
    if x is None or y is None:
        return None
    return bool(x or y)


@for_json_values("xor")
def xor(x, y):
    if x is None or y is None:
        return None
    return bool(x) != bool(y)


@for_json_values("not")
def not_(x):
    return None if x is None else not x


@for_json_values("if")
def if_(value, accept, reject=None):
    return accept if value is True else reject


def _quantifier(decisive: bool, process_id: str) -> Callable:
    """``all`` (decisive value false) and ``any`` (decisive value true) over an array."""

    def json_impl(data, ignore_nodata=True):
        values = [v for v in data if v is not None]
        if any(bool(v) is decisive for v in values):
            return decisive
        if not values or (not ignore_nodata and len(values) < len(data)):
            return None
        return not decisive

    json_impl.__name__ = process_id
    return for_json_values(process_id)(json_impl)


def implementations() -> dict[str, Callable]:
    return {
        "and": and_,
        "or": or_,
        "xor": xor,
        "not": not_,
        "if": if_,
        "all": _quantifier(False, "all"),
        "any": _quantifier(True, "any"),
    }
