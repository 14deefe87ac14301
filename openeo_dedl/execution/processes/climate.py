"""``climatological_normal`` and ``anomaly`` on data cubes (absent from openeo-processes-dask).

Periods are keyed by the labels the spec gives (``01``-``12`` for months, ``djf`` ... for
seasons, ``001``-``365`` for days of the year). Time labels of the input may be date-times or, for
``anomaly``, the period labels of ``aggregate_temporal_period`` (``YYYY-MM``, ``YYYY-djf``, ...).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import xarray as xr

from openeo_dedl.errors import ProcessException, ProcessParameterInvalid

_SEASONS = {12: "djf", 1: "djf", 2: "djf", 3: "mam", 4: "mam", 5: "mam",
            6: "jja", 7: "jja", 8: "jja", 9: "son", 10: "son", 11: "son"}  # fmt: skip


def _tropical(month: int) -> str:
    return "ndjfma" if month in (11, 12, 1, 2, 3, 4) else "mjjaso"


def temporal_dim(cube: xr.DataArray) -> str:
    """The cube's one temporal dimension."""
    dims = (
        list(getattr(cube.openeo, "temporal_dims", None) or []) if hasattr(cube, "openeo") else []
    )
    dims = dims or [d for d in cube.dims if d in ("t", "time")]
    if len(dims) != 1:
        raise ProcessException(
            "DimensionMismatch", "The data cube must have exactly one temporal dimension."
        )
    return dims[0]


def period_keys(times: pd.DatetimeIndex, period: str) -> np.ndarray:
    """The period label of each time (the normals' labels in the spec)."""
    keys = {
        "hour": lambda t: f"{t.hour:02d}",
        "day": lambda t: f"{min(t.dayofyear, 365):03d}",
        "week": lambda t: f"{min(t.isocalendar()[1], 52):02d}",
        # 01-36, as aggregate_temporal_period labels dekads ("the fourth dekad is Feb 1-10").
        "dekad": lambda t: f"{(t.month - 1) * 3 + min((t.day - 1) // 10, 2) + 1:02d}",
        "month": lambda t: f"{t.month:02d}",
        "season": lambda t: _SEASONS[t.month],
        "tropical-season": lambda t: _tropical(t.month),
        "year": lambda t: f"{t.year:04d}",
        "decade": lambda t: f"{t.year - t.year % 10:04d}",
        "decade-ad": lambda t: f"{t.year - (t.year - 1) % 10:04d}",
        "climatology-period": lambda t: "climatology-period",
        "single-period": lambda t: "single-period",
    }
    if period not in keys:
        raise ProcessParameterInvalid(f"Period '{period}' is not supported.")
    return np.array([keys[period](t) for t in times])


def _season_year(times: pd.DatetimeIndex, period: str) -> np.ndarray:
    """The climatology year a time's season counts for: December opens the next year's winter
    (and November/December the next year's tropical season).

    climatological_normal's spec: "If the required months before the actual climate period are
    available, the season is taken into account [...] The incomplete season at the end of the
    last year is never taken into account", so the period 2000-2000 holds the winter from
    December 1999. (aggregate_temporal_period *names* that winter 1999-djf, by the year of its
    first month; anomaly compares only the season part of such labels.)"""
    years = np.asarray(times.year)
    if period == "season":
        return years + (np.asarray(times.month) == 12)
    if period == "tropical-season":
        return years + (np.asarray(times.month) >= 11)
    return years


def _year(value) -> int:
    if hasattr(value, "root"):
        value = value.root
    return value.year if hasattr(value, "year") else int(value)


def climatological_normal(data, period, climatology_period=(1981, 2010)):
    """The mean per period (e.g. each month of the year) over the climatology years."""
    t = temporal_dim(data)
    first, last = (_year(v) for v in climatology_period)
    times = pd.DatetimeIndex(data[t].values)
    years = _season_year(times, period)
    inside = (years >= first) & (years <= last)
    if not inside.any():
        raise ProcessParameterInvalid(
            f"The data holds no time steps in the climatology period {first}-{last}."
        )
    selected = data.isel({t: np.flatnonzero(inside)})
    keys = period_keys(times[inside], period)
    normals = selected.assign_coords({t: keys}).groupby(t).mean(dim=t, skipna=True)
    return normals.sortby(t)


def _anomaly_keys(labels: np.ndarray, period: str) -> np.ndarray:
    if np.issubdtype(labels.dtype, np.datetime64):
        return period_keys(pd.DatetimeIndex(labels), period)
    # Period labels of aggregate_temporal_period: "YYYY-<key>" (or just "YYYY" for years).
    text = labels.astype(str)
    if period in ("year", "decade", "decade-ad", "climatology-period", "single-period"):
        return text
    return np.array([label.split("-", 1)[1] if "-" in label else label for label in text])


def anomaly(data, normals, period):
    """``data`` minus the normal of each time step's period."""
    t = temporal_dim(data)
    tn = temporal_dim(normals)
    keys = _anomaly_keys(np.asarray(data[t].values), period)
    missing = sorted(set(keys) - {str(v) for v in normals[tn].values})
    if missing:
        raise ProcessParameterInvalid(f"The normals have no values for the periods {missing}.")
    matched = normals.assign_coords({tn: normals[tn].astype(str)}).sel(
        {tn: xr.DataArray(keys, dims=t)}
    )
    matched = matched.drop_vars(tn, errors="ignore").assign_coords({t: data[t]})
    result = data - matched.transpose(*data.dims)
    result.attrs = data.attrs
    return result


def implementations() -> dict[str, Callable]:
    return {"climatological_normal": climatological_normal, "anomaly": anomaly}
