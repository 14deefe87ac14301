"""Text processes on plain values (openeo-processes-dask converts numbers with numpy's rules)."""

from __future__ import annotations

import json
from collections.abc import Callable

from openeo_dedl.execution.processes._json import for_json_values
from openeo_dedl.planning.limits import check_array_length, check_string_length


def _text(value) -> str:
    # JSON's spelling of null, true and false; numbers as JSON writes them.
    return value if isinstance(value, str) else json.dumps(value)


def _concat_array(data, separator="", **_):
    """An array (array_create's numpy array, say) is concatenated as its list of values, so
    that the same size check applies."""
    import numpy as np

    return _concat(np.asarray(data).tolist(), separator)


@for_json_values("text_concat", cube=_concat_array)
def text_concat(data, separator=""):
    return _concat(data, separator)


def _concat(data, separator):
    # Sized before joining: chained concatenations double the length with every node.
    check_array_length(len(data), "the text_concat data")
    parts = [_text(v) for v in data]
    sep = _text(separator)
    check_string_length(
        sum(map(len, parts)) + len(sep) * max(len(parts) - 1, 0), "the text_concat result"
    )
    return sep.join(parts)


def implementations() -> dict[str, Callable]:
    return {"text_concat": text_concat}
