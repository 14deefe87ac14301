"""The STAC resource ``save_result`` returns (openeo-processes 2.0.0-rc.2).

A process consuming ``save_result``'s value (``export_workspace``, say) gets a STAC Item of the
result it saves: one asset, the result file in its format, and the time range of the data when
it has a temporal dimension. Built before the data is computed: only labels are read.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pystac
import xarray as xr

STAC_VERSION = "1.0.0"
TEMPORAL_DIMS = ("t", "time")


def _time_range(data: Any) -> tuple[dt.datetime, dt.datetime] | None:
    if not isinstance(data, xr.DataArray):
        return None
    dim = next((d for d in data.dims if d in TEMPORAL_DIMS and d in data.coords), None)
    if dim is None or data.sizes[dim] == 0:
        return None
    labels = data[dim].values
    if not np.issubdtype(labels.dtype, np.datetime64):
        return None
    start, end = (
        pystac.utils.str_to_datetime(np.datetime_as_string(v, unit="s") + "Z")
        for v in (labels.min(), labels.max())
    )
    return start, end


def result_item(data: Any, fmt: str, file_name: str, media_type: str) -> dict[str, Any]:
    """The STAC Item (as a dict) of ``data`` saved as ``file_name`` in format ``fmt``."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    times = _time_range(data)
    item = pystac.Item(
        id="result",
        geometry=None,
        bbox=None,
        # The data's time range when it has one; else when the result was made.
        datetime=None if times else now,
        start_datetime=times[0] if times else None,
        end_datetime=times[1] if times else None,
        properties={"created": now.isoformat().replace("+00:00", "Z")},
    )
    item.add_asset(
        file_name,
        pystac.Asset(href=f"./{file_name}", media_type=media_type, roles=["data"], title=fmt),
    )
    doc = item.to_dict(include_self_link=False, transform_hrefs=False)
    doc["stac_version"] = STAC_VERSION
    return doc
