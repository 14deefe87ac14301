"""Output-size rules, one per process that changes sizes: (data estimate, argument getter) ->
output estimate. Which process has which rule is a trait of the process (planning/traits.py).

``data`` is the estimate of the node's ``data`` argument (or of its largest cube input); ``arg``
gives an argument's value, a referenced node's estimate in place of ``{"from_node": ...}``.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from openeo_dedl.planning import extents as ext
from openeo_dedl.planning.facts import BBox
from openeo_dedl.planning.internal import COMBINE_CONCAT, COMBINE_MEAN
from openeo_dedl.planning.sizes import (
    DEFAULT_GEOMETRIES,
    METRES_PER_DEGREE,
    Estimate,
    float_itemsize,
    steps,
)


def _period_key(seconds: float, period: str) -> tuple | None:
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    y, m, d = moment.year, moment.month, moment.day
    if period == "hour":
        return (y, m, d, moment.hour)
    if period == "day":
        return (y, m, d)
    if period == "week":
        iso = moment.isocalendar()
        return (iso[0], iso[1])
    if period == "dekad":
        return (y, m, min(2, (d - 1) // 10))
    if period == "month":
        return (y, m)
    if period == "season":
        # DJF belongs to the year of its January.
        return (y + (m == 12), (m % 12) // 3)
    if period == "tropical-season":
        return (y + (m >= 11), 0 if m >= 11 or m <= 4 else 1)
    if period == "year":
        return (y,)
    if period in ("decade", "decade-ad"):
        return ((y - (period == "decade-ad")) // 10,)
    return None


def same(data: Estimate, arg) -> Estimate:
    """The same size as the data."""
    return data


def as_float(data: Estimate, arg) -> Estimate:
    """The data as floating point (integer cubes become float64)."""
    return replace(data, itemsize=float_itemsize(data.itemsize))


def filter_bbox(data: Estimate, arg) -> Estimate:
    """Narrowed to the bounding box."""
    box = ext.bbox_of_extent(arg("extent"))
    return _narrow(data, box)


def filter_spatial(data: Estimate, arg) -> Estimate:
    """Narrowed to the bounding box of the geometries."""
    return _narrow(data, ext.bbox_of_geojson(arg("geometries")))


def _narrow(data: Estimate, box: BBox | None) -> Estimate:
    if box is None or data.bbox is None or data.x is None or data.y is None:
        return data
    new = ext.intersect(data.bbox, box)
    fx, fy = ext.fraction(new, data.bbox)
    return replace(
        data,
        x=max(1.0, math.ceil(data.x * fx)),
        y=max(1.0, math.ceil(data.y * fy)),
        bbox=new,
    )


def filter_temporal(data: Estimate, arg) -> Estimate:
    """The time steps within the interval (when the labels are known)."""
    interval = ext.interval_of_extent(arg("extent"))
    if interval is None or data.t is None:
        return data
    if data.times is None:
        return data
    times = tuple(t for t in data.times if ext.in_interval(t, interval))
    return replace(data, t=steps(times), times=times)


def filter_bands(data: Estimate, arg) -> Estimate:
    """The bands named (those the data has, when its band names are known)."""
    bands = arg("bands")
    if data.bands is None or not isinstance(bands, list | tuple):
        return data
    names = tuple(b for b in bands if isinstance(b, str))
    if data.band_names is not None:
        names = tuple(b for b in names if b in data.band_names)
    return replace(data, bands=float(max(1, len(names))), band_names=names or None)


def reduce_dimension(data: Estimate, arg) -> Estimate:
    """Without the reduced dimension, as floating point."""
    kind = data.kind_of(arg("dimension"))
    if kind is None:
        return data
    return as_float(data.without(kind), arg)


def reduce_spatial(data: Estimate, arg) -> Estimate:
    """Without x and y, as floating point."""
    return as_float(data.without("x").without("y"), arg)


def aggregate_temporal(data: Estimate, arg) -> Estimate:
    """One time step per interval (at most as many as the data has)."""
    intervals = arg("intervals")
    if data.t is None or not isinstance(intervals, list):
        return as_float(data, arg)
    return replace(
        data,
        t=float(min(data.t, len(intervals))),
        times=None,
        itemsize=float_itemsize(data.itemsize),
    )


def aggregate_temporal_period(data: Estimate, arg) -> Estimate:
    """One time step per period that holds a known time label."""
    period = arg("period")
    if data.t is None or data.times is None or not isinstance(period, str):
        return as_float(data, arg)
    keys = {_period_key(t, period) for t in data.times}
    if None in keys:
        return as_float(data, arg)
    return replace(data, t=float(len(keys)), times=None, itemsize=float_itemsize(data.itemsize))


def aggregate_spatial(data: Estimate, arg) -> Estimate:
    """A vector cube: geometries × time steps × bands of float64."""
    geometries = arg("geometries")
    if isinstance(geometries, Estimate):
        count = geometries.geometries or DEFAULT_GEOMETRIES
    else:
        count = ext.count_geometries(geometries) or DEFAULT_GEOMETRIES
    return Estimate(
        geometries=float(count),
        t=data.t,
        times=data.times,
        bands=data.bands,
        band_names=data.band_names,
        itemsize=8,
        dims=data.dims,
    )


def _resolution(value: Any) -> tuple[float, float] | None:
    if isinstance(value, int | float) and value > 0:
        return float(value), float(value)
    if (
        isinstance(value, list | tuple)
        and len(value) == 2
        and all(isinstance(v, int | float) and v > 0 for v in value)
    ):
        return float(value[0]), float(value[1])
    return None


def resample_spatial(data: Estimate, arg) -> Estimate:
    """Rescaled to the resolution (in the projection, when given)."""
    if data.x is None or data.y is None:
        return data
    res = _resolution(arg("resolution"))
    crs = ext.normalise_crs(arg("projection")) or data.crs
    if res is None:
        # Reprojection at the same pixel count (approximately).
        return replace(data, crs=crs, itemsize=data.itemsize)
    if crs == data.crs and data.res is not None:
        x = data.x * data.res[0] / res[0]
        y = data.y * data.res[1] / res[1]
    elif data.bbox is not None:
        w, s, e, n = data.bbox
        if ext.is_geographic(crs):
            x, y = (e - w) / res[0], (n - s) / res[1]
        else:
            lat = math.radians((s + n) / 2)
            x = (e - w) * METRES_PER_DEGREE * max(math.cos(lat), 0.01) / res[0]
            y = (n - s) * METRES_PER_DEGREE / res[1]
    else:
        return replace(data, crs=crs)
    return replace(data, x=max(1.0, math.ceil(x)), y=max(1.0, math.ceil(y)), crs=crs, res=res)


def resample_cube_spatial(data: Estimate, arg) -> Estimate:
    """On the target's spatial grid."""
    target = arg("target")
    if not isinstance(target, Estimate) or target.x is None or target.y is None:
        return data
    return replace(data, x=target.x, y=target.y, bbox=target.bbox, crs=target.crs, res=target.res)


def resample_cube_temporal(data: Estimate, arg) -> Estimate:
    """With the target's time steps."""
    target = arg("target")
    if not isinstance(target, Estimate) or target.t is None or data.t is None:
        return data
    return replace(data, t=target.t, times=target.times)


def merge_cubes(data: Estimate, arg) -> Estimate:
    """The union of both cubes: their footprints, bands and time steps."""
    a, b = arg("cube1"), arg("cube2")
    if not (isinstance(a, Estimate) and a.is_cube and isinstance(b, Estimate) and b.is_cube):
        return data
    bands, names = a.bands, a.band_names
    if a.bands is not None and b.bands is not None:
        if a.band_names is not None and b.band_names is not None:
            names = a.band_names + tuple(n for n in b.band_names if n not in a.band_names)
            bands = float(len(names))
        else:
            bands, names = a.bands + b.bands, None
    t, times = a.t, a.times
    if a.t is not None and b.t is not None:
        if a.times is not None and b.times is not None:
            times = tuple(sorted(set(a.times) | set(b.times)))
            t = steps(times)
        else:
            t, times = max(a.t, b.t), None
    box = ext.union([x for x in (a.bbox, b.bbox) if x is not None])
    return replace(
        a,
        x=_max(a.x, b.x),
        y=_max(a.y, b.y),
        t=t,
        times=times,
        bands=bands,
        band_names=names,
        geometries=_max(a.geometries, b.geometries),
        itemsize=max(a.itemsize, b.itemsize),
        bbox=box,
    )


def _max(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def merge_sites(data: Estimate, arg) -> Estimate:
    """The combined parts of a split load (planning/split.py)."""
    combine = arg("combine")
    if combine == COMBINE_CONCAT:
        return merge_cubes(data, arg)
    if combine == COMBINE_MEAN:  # sums and counts in, their quotient out
        return replace(data, itemsize=8)
    return data


def partial_mean(data: Estimate, arg) -> Estimate:
    """A sum and a count (float64) per element of the reduced cube."""
    kind = data.kind_of(arg("dimension"))
    reduced = data.without(kind) if kind is not None else data
    return replace(reduced, itemsize=16)


def ndvi(data: Estimate, arg) -> Estimate:
    """One band (or one more, with ``target_band``), as float64."""
    target = arg("target_band")
    if data.bands is None:
        return as_float(data, arg)
    if isinstance(target, str):
        names = None if data.band_names is None else data.band_names + (target,)
        return replace(data, bands=data.bands + 1, band_names=names, itemsize=8)
    return replace(data.without("bands"), itemsize=8)
