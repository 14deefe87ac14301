"""Text processes on plain values (openeo-processes-dask converts numbers with numpy's rules)."""

from __future__ import annotations

import json
from collections.abc import Callable

from openeo_dedl.execution.processes._json import for_json_values


def _text(value) -> str:
    # JSON's spelling of null, true and false; numbers as JSON writes them.
    return value if isinstance(value, str) else json.dumps(value)


@for_json_values("text_concat")
def text_concat(data, separator=""):
    return _text(separator).join(_text(v) for v in data)


def implementations() -> dict[str, Callable]:
    return {"text_concat": text_concat}
