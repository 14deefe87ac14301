"""Text processes on plain values (openeo-processes-dask converts numbers with numpy's rules)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from openeo_dedl.errors import ProcessParameterInvalid
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


def text_find(data, pattern, case_sensitive=True, **_):
    """First position (in characters) of ``pattern`` in ``data``, None if it is not there or
    ``data`` is no-data. The pattern is plain text, never a regular expression."""
    if data is None:
        return None
    for name, value in (("data", data), ("pattern", pattern)):
        if not isinstance(value, str):
            raise ProcessParameterInvalid(
                f"The value passed for parameter '{name}' in process 'text_find' is invalid: "
                f"expected a string, got {type(value).__name__}."
            )
    if case_sensitive is not False:
        position = data.find(pattern)
        return None if position < 0 else position
    # re's case-insensitive match compares characters one by one, so the position is the one
    # in ``data`` itself (lower() or casefold() may change lengths: "ß" -> "ss").
    match = re.search(re.escape(pattern), data, re.IGNORECASE)
    return None if match is None else match.start()


def implementations() -> dict[str, Callable]:
    return {"text_concat": text_concat, "text_find": text_find}
