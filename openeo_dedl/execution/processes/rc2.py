"""The processes whose answers openeo-processes 2.0.0-rc.2 changed, as rc.2 defines them.

They run for processes sent to API 1.3 (``registry.RC2``); API 1.2 keeps the draft's answers,
which the compliance suite checks. On plain values: ``all`` of an empty array (or of solely
no-data values, ignored by default) is ``true`` and ``any`` of one ``false`` (#494), where the
draft gives no-data; ``is_nan`` is ``true`` for ``NaN`` only, ``false`` for values that are no
numbers (#486), where the draft gives ``true``. On arrays and data cubes openeo-processes-dask's
implementations answer so already (``all`` over solely NaN is true) and run unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from openeo_dedl.execution.processes._json import for_json_values, is_number


def _quantifier(decisive: bool, process_id: str) -> Callable:
    """``all`` (decisive value false) and ``any`` (decisive value true) over an array."""

    def json_impl(data, ignore_nodata=True):
        values = [v for v in data if v is not None]
        if any(bool(v) is decisive for v in values):
            return decisive
        if not ignore_nodata and len(values) < len(data):
            return None
        return not decisive  # also for an empty array, or solely ignored no-data values

    json_impl.__name__ = process_id
    return for_json_values(process_id)(json_impl)


@for_json_values("is_nan")
def is_nan(x):
    return is_number(x) and math.isnan(x)


def implementations() -> dict[str, Callable]:
    """Process id → its rc.2 implementation, for the processes rc.2 changed."""
    return {"all": _quantifier(False, "all"), "any": _quantifier(True, "any"), "is_nan": is_nan}
