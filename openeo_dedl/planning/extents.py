"""Spatial and temporal extents, parsed once into typed values (pure).

The planner (size estimates, splits) and the loader (``execution/load.py``) both read
``spatial_extent``/``temporal_extent`` through :func:`bounding_box` and :func:`time_interval`,
so one argument means the same area and the same instants before and during a run. Dates are
read by the one RFC 3339 rule of ``planning/dates.py``, for literal values and for values
computed at run time (strings, ``datetime``, numpy/pandas timestamps) alike.

Arguments that are not literal values (``from_parameter``, ``from_node``) narrow nothing: the
planner then assumes the whole collection, which over-estimates sizes but never under-estimates.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from openeo_dedl.errors import ProcessParameterInvalid
from openeo_dedl.planning.dates import parse_date
from openeo_dedl.planning.facts import BBox

GEOGRAPHIC_CRS = frozenset({"EPSG:4326", "OGC:CRS84", "WGS84", "CRS84"})
WGS84 = "EPSG:4326"


# -- CRS names -------------------------------------------------------------------------------


def normalise_crs(crs: Any) -> str | None:
    """ "EPSG:<code>" for EPSG codes given as int or string (and for WKT/PROJ text that names an
    EPSG CRS); other strings as they are."""
    if crs is None or isinstance(crs, bool):
        return None
    if isinstance(crs, int) or (isinstance(crs, str) and crs.isdigit()):
        return f"EPSG:{int(crs)}"
    if isinstance(crs, str):
        if crs.upper().startswith(("EPSG:", "OGC:")):
            return crs.upper()
        return _epsg_of_text(crs)
    return None


@functools.lru_cache(maxsize=256)
def _epsg_of_text(text: str) -> str:
    # openeo-pg-parser-networkx hands bounding boxes of cube processes over with their CRS as
    # WKT: the same CRS must compare equal to the collection's "EPSG:<code>".
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        code = CRS.from_user_input(text).to_epsg()
    except CRSError:
        return text
    return text if code is None else f"EPSG:{code}"


def is_geographic(crs: str | None) -> bool:
    """Whether ``crs`` (normalised) is WGS84 longitude/latitude."""
    return crs is not None and crs in GEOGRAPHIC_CRS


def same_crs(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and (a == b or (is_geographic(a) and is_geographic(b)))


# -- typed extents ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BoundingBox:
    """An openEO bounding box: west < east, south < north, in ``crs`` (normalised)."""

    west: float
    south: float
    east: float
    north: float
    crs: str = WGS84

    @property
    def bounds(self) -> BBox:
        return (self.west, self.south, self.east, self.north)

    @property
    def is_geographic(self) -> bool:
        return is_geographic(self.crs)


@dataclass(frozen=True)
class TimeInterval:
    """A left-closed interval [start, end) of aware UTC instants; None is unbounded."""

    start: dt.datetime | None
    end: dt.datetime | None

    @property
    def seconds(self) -> tuple[float | None, float | None]:
        """(start, end) in POSIX seconds."""
        return (
            None if self.start is None else self.start.timestamp(),
            None if self.end is None else self.end.timestamp(),
        )

    def contains(self, moment: dt.datetime | float) -> bool:
        t = moment if isinstance(moment, int | float) else timestamp(moment)
        return in_interval(t, self.seconds)


def _is_finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_reference(value: Any) -> bool:
    return isinstance(value, dict) and bool({"from_node", "from_parameter"} & set(value))


def _plain(value: Any) -> Any:
    """Values of openeo-pg-parser-networkx's models (BoundingBox, TemporalInterval, Date...)
    as plain values: they reach implementations where an argument was not a literal."""
    if hasattr(value, "model_dump") and not hasattr(value, "root"):
        return value.model_dump()
    return getattr(value, "root", value)


def _invalid(process: str, parameter: str, why: str) -> ProcessParameterInvalid:
    return ProcessParameterInvalid(
        f"The value passed for parameter '{parameter}' in process '{process}' is invalid: {why}."
    )


def bounding_box(
    value: Any, process: str = "load_collection", parameter: str = "spatial_extent"
) -> BoundingBox | None:
    """The bounding box an extent argument gives; None when it gives none (null, GeoJSON,
    values not known before the run). Raises ProcessParameterInvalid for a box that is not
    finite or whose west/south are not below east/north."""
    extent = _plain(value)
    if not isinstance(extent, dict) or not {"west", "south", "east", "north"} <= set(extent):
        return None
    values = [_plain(extent[k]) for k in ("west", "south", "east", "north")]
    if any(_is_reference(v) for v in values) or _is_reference(extent.get("crs")):
        return None  # not known before the run
    for key, v in zip(("west", "south", "east", "north"), values, strict=True):
        if not _is_finite_number(v):
            raise ProcessParameterInvalid(
                f"Bounding box '{key}' must be a finite number, got {v!r}."
            )
    w, s, e, n = (float(v) for v in values)
    if w >= e or s >= n:
        raise _invalid(process, parameter, "west must be less than east and south less than north")
    return BoundingBox(w, s, e, n, normalise_crs(extent.get("crs")) or WGS84)


def instant(value: Any, process: str = "load_collection", parameter: str = "temporal_extent"):
    """An aware UTC ``datetime`` of a date or date-time (RFC 3339 string, ``datetime``/``date``,
    numpy or pandas timestamp); None for null. Raises ProcessParameterInvalid otherwise."""
    value = _plain(value)
    if value is None:
        return None
    if isinstance(value, str):
        parsed = parse_date(value)
        if parsed is None:
            raise _invalid(process, parameter, f"'{value}' is not an RFC 3339 date or date-time")
        return parsed[0].astimezone(dt.UTC)
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            raise _invalid(process, parameter, "NaT is not a date")
        value = value.astype("datetime64[us]").item()
    elif hasattr(value, "to_pydatetime"):  # pandas Timestamp
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    raise _invalid(process, parameter, f"{value!r} is not a date or date-time")


def time_interval(
    value: Any, process: str = "load_collection", parameter: str = "temporal_extent"
) -> TimeInterval | None:
    """The interval a temporal extent argument gives; None for null or values not known before
    the run. Raises ProcessParameterInvalid for anything else that is not an interval whose end
    is after its start."""
    extent = _plain(value)
    if extent is None or _is_reference(extent):
        return None
    if not isinstance(extent, Sequence) or isinstance(extent, str) or len(extent) != 2:
        raise _invalid(process, parameter, "expected an interval [start, end]")
    if any(_is_reference(v) for v in extent):
        return None
    start, end = (instant(v, process, parameter) for v in extent)
    if start is not None and end is not None and end <= start:
        raise _invalid(process, parameter, "the end must be after the start")
    return TimeInterval(start, end)


# -- the planner's views: WGS84 boxes and POSIX seconds ----------------------------------------


def bbox_of_extent(extent: Any) -> BBox | None:
    """WGS84 box of a ``filter_bbox`` extent; None when unknown or not convertible."""
    box = bounding_box(extent, "filter_bbox", "extent")
    if box is None:
        return None
    if box.is_geographic:
        return box.bounds
    from openeo_dedl.planning.pixels import to_wgs84

    return to_wgs84(box)


def interval_of_extent(extent: Any) -> tuple[float | None, float | None] | None:
    """[start, end) in POSIX seconds of a temporal interval argument; None when unknown."""
    interval = time_interval(extent, "filter_temporal", "extent")
    return None if interval is None else interval.seconds


def in_interval(t: float, interval: tuple[float | None, float | None] | None) -> bool:
    if interval is None:
        return True
    start, end = interval
    # openEO temporal intervals include their start and exclude their end.
    return (start is None or t >= start) and (end is None or t < end)


def timestamp(moment: dt.datetime) -> float:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


# -- box arithmetic ---------------------------------------------------------------------------


def intersect(a: BBox | None, b: BBox | None) -> BBox | None:
    """Intersection of two boxes; None means unbounded. An empty result is a zero-area box."""
    if a is None:
        return b
    if b is None:
        return a
    w, s = max(a[0], b[0]), max(a[1], b[1])
    e, n = min(a[2], b[2]), min(a[3], b[3])
    return (w, s, max(w, e), max(s, n))


def is_empty(box: BBox) -> bool:
    return not (box[0] < box[2] and box[1] < box[3])


def union(boxes: Sequence[BBox]) -> BBox | None:
    if not boxes:
        return None
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def overlaps(a: BBox, b: BBox) -> bool:
    return not (a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1])


def fraction(part: BBox | None, whole: BBox | None) -> tuple[float, float]:
    """Width and height of ``part`` relative to ``whole`` (1 when either is unknown)."""
    if part is None or whole is None:
        return 1.0, 1.0
    ww, wh = whole[2] - whole[0], whole[3] - whole[1]
    fx = (part[2] - part[0]) / ww if ww > 0 else 1.0
    fy = (part[3] - part[1]) / wh if wh > 0 else 1.0
    return _unit(fx), _unit(fy)


def _unit(value: float) -> float:
    """``value`` clipped to [0, 1]; 1 (the whole, never an under-estimate) when not finite."""
    if not math.isfinite(value):
        return 1.0
    return min(max(value, 0.0), 1.0)


# -- GeoJSON -----------------------------------------------------------------------------------


def bbox_of_geojson(value: Any) -> BBox | None:
    """Bounding box of the coordinates of an inline GeoJSON object."""
    xs: list[float] = []
    ys: list[float] = []

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            if _is_reference(v):
                raise ValueError
            for key in ("coordinates", "geometry", "geometries", "features"):
                if key in v:
                    walk(v[key])
        elif isinstance(v, list | tuple):
            if v and not any(isinstance(c, list | tuple | dict) for c in v):
                # A position: two or more finite numbers.
                if len(v) < 2 or not all(_is_finite_number(c) for c in v):
                    raise ProcessParameterInvalid(
                        f"A GeoJSON position must be two or more finite numbers, got {list(v)!r}."
                    )
                xs.append(float(v[0]))
                ys.append(float(v[1]))
            else:
                for c in v:
                    walk(c)

    try:
        walk(value)
    except ValueError:
        return None
    if not xs:
        return None
    return (min(xs), min(ys), max(xs), max(ys))


def count_geometries(value: Any) -> int | None:
    """Number of geometries of an inline GeoJSON object (None when not inline)."""
    if not isinstance(value, dict) or "from_node" in value or "from_parameter" in value:
        return None
    kind = value.get("type")
    if kind == "FeatureCollection":
        return len(value.get("features") or [])
    if kind == "GeometryCollection":
        return len(value.get("geometries") or [])
    return 1 if kind else None
