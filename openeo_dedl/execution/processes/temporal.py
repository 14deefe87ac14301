"""``aggregate_temporal`` and ``aggregate_temporal_period`` as the spec defines them.

openeo-processes-dask's versions label periods with dates (the end of a month, the start of a
week) where the spec gives strings (``2024-03`` for a month, ``2023-djf`` for a season); they
skip empty periods instead of giving labels that are complete over the extent, find temporal
dimensions by name only, bin intervals as (start, end] instead of [start, end), and fail on open
(``null``) bounds and on time-of-day intervals.

Each interval or period is reduced on its own (``isel`` + the reducer along the dimension), so
dask-backed cubes stay lazy and intervals may overlap; an interval without data gives no-data.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import numpy as np
import pandas as pd
import rioxarray  # noqa: F401 - the .rio accessor
import xarray as xr

from openeo_dedl.errors import ProcessException, ProcessParameterInvalid
from openeo_dedl.execution.processes.climate import _SEASONS, _tropical


def temporal_dims(data: xr.DataArray) -> list[str]:
    """Dimensions with date-time labels, and those named like temporal ones (``t``, ``time``)."""
    named = set(getattr(data.openeo, "temporal_dims", ()) or ())
    return [
        d
        for d in data.dims
        if d in named or (d in data.coords and np.issubdtype(data[d].dtype, np.datetime64))
    ]


def temporal_dimension(data: xr.DataArray, dimension: str | None) -> str:
    """The dimension to aggregate over (the spec's rules and errors)."""
    if dimension is not None:
        if dimension not in data.dims:
            raise ProcessException(
                "DimensionNotAvailable", f"The data cube has no dimension '{dimension}'."
            )
        return dimension
    dims = temporal_dims(data)
    if not dims:
        raise ProcessException("DimensionNotAvailable", "The data cube has no temporal dimension.")
    if len(dims) > 1:
        raise ProcessException(
            "TooManyDimensions",
            f"The data cube has several temporal dimensions {dims}; specify `dimension`.",
        )
    return dims[0]


def _times(data: xr.DataArray, dimension: str) -> pd.DatetimeIndex:
    values = data[dimension].values
    try:
        return pd.DatetimeIndex(values)
    except (TypeError, ValueError) as exc:
        raise ProcessParameterInvalid(
            f"The labels of dimension '{dimension}' are not dates and times."
        ) from exc


def reduce_groups(data, dimension, groups, reducer, context=None) -> xr.DataArray:
    """``groups``: (label, indices along ``dimension``); each group reduced to one label,
    an empty one to no-data."""
    template = None
    parts = []
    for _, indices in groups:
        if len(indices) == 0:
            parts.append(None)
            continue
        sub = data.isel({dimension: np.asarray(indices)})
        reduced = xr.apply_ufunc(
            reducer,
            sub,
            input_core_dims=[[dimension]],
            dask="allowed",
            kwargs={
                "positional_parameters": {"data": 0},
                "named_parameters": {"context": context},
                "axis": -1,
                "keepdims": False,
                "context": context,
            },
        )
        reduced = reduced.drop_vars(dimension, errors="ignore")
        template = reduced if template is None else template
        parts.append(reduced)
    if template is None:
        template = data.isel({dimension: 0}, drop=True)
    parts = [
        xr.full_like(template, np.nan, dtype=float) if part is None else part for part in parts
    ]
    labels = [label for label, _ in groups]
    if not parts:
        out = data.isel({dimension: slice(0, 0)}).astype(float)
    else:
        out = xr.concat(parts, dim=dimension, coords="minimal", compat="override")
    out = out.assign_coords({dimension: _label_values(labels)})
    out = out.transpose(*[d for d in data.dims if d in out.dims])
    out.attrs = data.attrs
    if data.rio.crs is not None:
        out = out.rio.write_crs(data.rio.crs)
    return out


def _label_values(labels: list) -> np.ndarray:
    if labels and all(isinstance(label, pd.Timestamp) for label in labels):
        return pd.DatetimeIndex(labels).values
    return np.array([str(label) for label in labels], dtype=object).astype(str)


# aggregate_temporal -------------------------------------------------------------------------

_TIME = re.compile(r"^\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")


def _bound(value):
    """None, a time of day (``datetime.time``) or a UTC time stamp without time zone."""
    if hasattr(value, "root"):
        return _bound(value.root)
    if value is None or isinstance(value, dt.time):
        return value
    if isinstance(value, str) and _TIME.match(value):
        return dt.time.fromisoformat(value.rstrip("Z"))
    stamp = pd.Timestamp(value)
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo else stamp


def _interval_bounds(intervals) -> list[tuple]:
    if hasattr(intervals, "root"):
        intervals = intervals.root
    out = []
    for interval in intervals:
        if hasattr(interval, "root"):
            interval = interval.root
        if len(interval) != 2:
            raise ProcessParameterInvalid("Each interval has exactly two elements.")
        start, end = (_bound(v) for v in interval)
        kinds = {type(v) is dt.time for v in (start, end) if v is not None}
        if len(kinds) > 1:
            raise ProcessParameterInvalid("An interval mixes times of day and date-times.")
        if not kinds and start is None and end is None:
            raise ProcessParameterInvalid("An interval needs at least one bound.")
        if kinds == {False} and start is not None and end is not None and end <= start:
            raise ProcessException(
                "TemporalExtentEmpty",
                f"The interval [{interval[0]}, {interval[1]}] is empty: its end is not later "
                "than its start.",
            )
        out.append((start, end))
    return out


def _time_of_day(value: dt.time) -> pd.Timedelta:
    return pd.Timedelta(
        hours=value.hour, minutes=value.minute, seconds=value.second, microseconds=value.microsecond
    )


def _inside(times: pd.DatetimeIndex, start, end) -> np.ndarray:
    if isinstance(start, dt.time) or isinstance(end, dt.time):
        of_day = times - times.normalize()
        low = _time_of_day(start) if start is not None else pd.Timedelta(0)
        high = _time_of_day(end) if end is not None else pd.Timedelta(days=1)
        if low < high:
            return np.asarray((of_day >= low) & (of_day < high))
        return np.asarray((of_day >= low) | (of_day < high))  # across midnight
    inside = np.ones(len(times), dtype=bool)
    if start is not None:
        inside &= np.asarray(times >= start)
    if end is not None:
        inside &= np.asarray(times < end)
    return inside


def _default_label(start):
    if start is None:
        raise ProcessException(
            "DistinctDimensionLabelsRequired",
            "An interval without start needs a label: specify `labels`.",
        )
    return start.isoformat() if isinstance(start, dt.time) else start


def _user_label(label):
    if hasattr(label, "root"):
        label = label.root
    if isinstance(label, str) and re.match(r"^\d{4}-\d{2}-\d{2}", label):
        stamp = pd.Timestamp(label)
        return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo else stamp
    if isinstance(label, dt.datetime | dt.date | np.datetime64):
        return _bound(label)
    return label


def aggregate_temporal(data, intervals, reducer, labels=None, dimension=None, context=None):
    dim = temporal_dimension(data, dimension)
    bounds = _interval_bounds(intervals)
    if labels:
        labels = [_user_label(v) for v in labels]
        if len(labels) != len(bounds):
            raise ProcessParameterInvalid(
                f"{len(labels)} labels for {len(bounds)} intervals: the numbers must be equal."
            )
    else:
        labels = [_default_label(start) for start, _ in bounds]
    if len({str(v) for v in labels}) != len(labels):
        raise ProcessException(
            "DistinctDimensionLabelsRequired",
            "The dimension labels have duplicate values. Distinct labels must be specified.",
        )
    times = _times(data, dim)
    groups = [
        (label, np.flatnonzero(_inside(times, start, end)))
        for label, (start, end) in zip(labels, bounds, strict=True)
    ]
    return reduce_groups(data, dim, groups, reducer, context)


# aggregate_temporal_period ------------------------------------------------------------------


def period_label(t: pd.Timestamp, period: str) -> str:
    """The spec's label of the period containing ``t``."""
    if period == "hour":
        return f"{t:%Y-%m-%d-%H}"
    if period == "day":
        return f"{t.year:04d}-{t.dayofyear:03d}"
    if period == "week":  # ISO 8601 weeks, in the ISO week-numbering year
        year, week, _ = t.isocalendar()
        return f"{year:04d}-{week:02d}"
    if period == "dekad":  # 01-36: three per month, the third up to the end of the month
        return f"{t.year:04d}-{(t.month - 1) * 3 + min((t.day - 1) // 10, 2) + 1:02d}"
    if period == "month":
        return f"{t:%Y-%m}"
    if period == "season":  # named by the year of its first month (December's for djf)
        return f"{t.year - (t.month <= 2):04d}-{_SEASONS[t.month]}"
    if period == "tropical-season":  # ndjfma named by the year of its November
        return f"{t.year - (t.month <= 4):04d}-{_tropical(t.month)}"
    if period == "year":
        return f"{t.year:04d}"
    if period == "decade":
        return f"{t.year - t.year % 10:04d}"
    if period == "decade-ad":
        return f"{t.year - (t.year - 1) % 10:04d}"
    raise ProcessParameterInvalid(f"Period '{period}' is not supported.")


def period_labels(first: pd.Timestamp, last: pd.Timestamp, period: str) -> list[str]:
    """All labels from the period of ``first`` to that of ``last``, in order."""
    step = "h" if period == "hour" else "D"
    stamps = pd.date_range(first.floor(step), last, freq=step)
    labels = dict.fromkeys(period_label(t, period) for t in [*stamps, last])
    return list(labels)


def aggregate_temporal_period(data, reducer, period, dimension=None, context=None):
    dim = temporal_dimension(data, dimension)
    period_label(pd.Timestamp("2000-01-01"), period)  # an unknown period fails early
    times = _times(data, dim)
    if len(times) == 0:
        return reduce_groups(data, dim, [], reducer, context)
    members: dict[str, list[int]] = {}
    for i, t in enumerate(times):
        members.setdefault(period_label(t, period), []).append(i)
    labels = period_labels(times.min(), times.max(), period)
    groups = [(label, members.get(label, [])) for label in labels]
    return reduce_groups(data, dim, groups, reducer, context)


def _naive_utc(bound):
    """A bound of a temporal interval as an ISO date-time in UTC without a zone (a string or
    ``None`` stays as it is)."""
    value = getattr(bound, "root", bound)
    if not isinstance(value, dt.datetime):
        return bound
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.isoformat()


def filter_temporal(data, extent, dimension=None):
    """openeo-processes-dask's ``filter_temporal`` given the bounds as naive UTC date-times.

    The parser's dates are time-zone aware; the implementation turns them into
    ``np.datetime64``, which has no zones and warned "no explicit representation of timezones"
    for each bound of each call. The same instants in UTC select the same labels.
    """
    from openeo_dedl.execution.registry import standard_implementation

    bounds = getattr(extent, "root", extent)
    if isinstance(bounds, list | tuple):
        extent = [_naive_utc(bound) for bound in bounds]
    return standard_implementation("filter_temporal")(data, extent, dimension=dimension)


def implementations() -> dict[str, Callable]:
    return {
        "filter_temporal": filter_temporal,
        "aggregate_temporal": aggregate_temporal,
        "aggregate_temporal_period": aggregate_temporal_period,
    }
