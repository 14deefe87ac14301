"""Estimated output size of every node: metadata narrowed by filters, shrunk by reductions.

A cube is sized as x pixels × y pixels × time steps × bands × bytes per value; a vector cube
(``aggregate_spatial``) as geometries × time steps × bands × 8. Loads start from collection facts
(extent × resolution × bands × time steps × dtype) narrowed by their own extents; filters narrow,
reductions drop dimensions, resampling rescales. Everything unknown falls back to the input's
size or to conservative defaults, so estimates err on the large side. The figures only rank
placements: they need to be right in order of magnitude, not exact.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from openeo_dedl.planning import extents as ext
from openeo_dedl.planning import pixels
from openeo_dedl.planning.facts import DEFAULT_DIMENSIONS, BBox, CollectionFacts
from openeo_dedl.planning.internal import (
    COMBINE_CONCAT,
    COMBINE_MEAN,
    ITEM_SITE_ARGUMENT,
    MERGE_PROCESS,
    PARTIAL_MEAN_PROCESS,
)

# Used where facts say nothing: a 1000 × 1000 pixel scene, 10 time steps, one float32 band.
DEFAULT_SHAPE = (1000, 1000)
DEFAULT_TIME_STEPS = 10
DEFAULT_ITEMSIZE = 4
DEFAULT_GEOMETRIES = 100
SCALAR_BYTES = 8

METRES_PER_DEGREE = 111_320.0


@dataclass(frozen=True)
class Estimate:
    """Size of a node's value. A dimension that is None does not exist."""

    x: float | None = None
    y: float | None = None
    t: float | None = None
    bands: float | None = None
    geometries: float | None = None
    itemsize: int = SCALAR_BYTES
    # Known labels, kept when cheap: time labels (POSIX seconds, sorted) and band names.
    times: tuple[float, ...] | None = None
    band_names: tuple[str, ...] | None = None
    bbox: BBox | None = None  # WGS84 footprint
    crs: str | None = None
    res: tuple[float, float] | None = None  # pixel size in ``crs`` units
    dims: Mapping[str, str] = field(default_factory=lambda: DEFAULT_DIMENSIONS)
    # Bytes of a value that is not a cube (number, string, array, geometry).
    other_bytes: float = SCALAR_BYTES

    @cached_property
    def is_cube(self) -> bool:
        return any(d is not None for d in (self.x, self.y, self.t, self.bands, self.geometries))

    @cached_property
    def nbytes(self) -> float:
        if not self.is_cube:
            return self.other_bytes
        size = float(self.itemsize)
        for d in (self.x, self.y, self.t, self.bands, self.geometries):
            if d is not None:
                size *= max(d, 0.0)
        return size

    def kind_of(self, dimension: Any) -> str | None:
        """The kind ("x", "y", "t", "bands") of a dimension name of this cube."""
        if not isinstance(dimension, str):
            return None
        for kind, name in self.dims.items():
            if name == dimension:
                return kind
        return dimension if dimension in DEFAULT_DIMENSIONS else None

    def without(self, kind: str) -> Estimate:
        if kind == "t":
            return replace(self, t=None, times=None)
        if kind == "bands":
            return replace(self, bands=None, band_names=None)
        if kind in ("x", "y"):
            return replace(self, **{kind: None})
        return self


SCALAR = Estimate()


def _float_itemsize(itemsize: int) -> int:
    # Arithmetic on integer cubes yields float64 in numpy; float32 stays float32.
    return itemsize if itemsize >= 4 else 8


def _steps(times: tuple[float, ...]) -> float:
    return float(len(times))


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


class Estimator:
    """Estimates node outputs from collection facts. Pure; caches per-collection conversions."""

    def __init__(self, facts: Mapping[str, CollectionFacts]):
        self.facts = facts
        self._times: dict[str, tuple[float, ...] | None] = {}
        self._item_times: dict[str, tuple[float | None, ...]] = {}

    # -- loads ---------------------------------------------------------------------------------
    def collection_times(self, facts: CollectionFacts) -> tuple[float, ...] | None:
        if facts.id not in self._times:
            self._times[facts.id] = (
                None if facts.times is None else tuple(ext.timestamp(t) for t in facts.times)
            )
        return self._times[facts.id]

    def item_times(self, facts: CollectionFacts) -> tuple[float | None, ...]:
        if facts.id not in self._item_times:
            self._item_times[facts.id] = tuple(
                None if it.time is None else ext.timestamp(it.time) for it in facts.items or ()
            )
        return self._item_times[facts.id]

    def matching_items(self, facts: CollectionFacts, arguments: Mapping) -> list[int]:
        """Indices of the items a ``load_collection`` with these arguments reads."""
        box = ext.bounding_box(arguments.get("spatial_extent"))
        bbox = None if box is None else pixels.to_wgs84(box)
        interval = ext.time_interval(arguments.get("temporal_extent"))
        seconds = None if interval is None else interval.seconds
        site = arguments.get(ITEM_SITE_ARGUMENT)
        times = self.item_times(facts)
        selected = []
        for i, item in enumerate(facts.items or ()):
            if site is not None and item.site != site:
                continue
            if bbox is not None and item.bbox is not None and not ext.overlaps(item.bbox, bbox):
                continue
            if times[i] is not None and not ext.in_interval(times[i], seconds):
                continue
            selected.append(i)
        return selected

    def load(self, arguments: Mapping) -> Estimate:
        cid = arguments.get("id")
        facts = self.facts.get(cid) if isinstance(cid, str) else None
        if facts is None:
            facts = CollectionFacts(id=str(cid), sites=())
        box = ext.bounding_box(arguments.get("spatial_extent"))
        interval = ext.time_interval(arguments.get("temporal_extent"))
        seconds = None if interval is None else interval.seconds

        footprint = facts.bbox
        native: BBox | None = facts.native_bbox
        times = self.collection_times(facts)
        count: float | None = None
        if facts.items is not None:
            chosen = self.matching_items(facts, arguments)
            item_times = self.item_times(facts)
            # odc-stac loads the union of the items' footprints (clipped to the request). A
            # site's part of a split load lies on the grid of the whole load (all sites' items),
            # NaN where the site has none: its footprint is the whole load's.
            on_grid = chosen
            if arguments.get(ITEM_SITE_ARGUMENT) is not None:
                whole = {k: v for k, v in arguments.items() if k != ITEM_SITE_ARGUMENT}
                on_grid = self.matching_items(facts, whole)
            boxes = [facts.items[i].bbox for i in on_grid if facts.items[i].bbox is not None]
            footprint = ext.union(boxes) if boxes else facts.bbox  # type: ignore[arg-type]
            natives = [facts.items[i].native_bbox for i in on_grid]
            if natives and all(b is not None for b in natives):
                native = ext.union(natives)  # type: ignore[arg-type]
            labels = sorted({item_times[i] for i in chosen if item_times[i] is not None})
            times = tuple(labels) if labels else None
            count = float(len(labels)) if labels else float(len(chosen) > 0)
        elif times is not None:
            times = tuple(t for t in times if ext.in_interval(t, seconds))
        x, y, footprint = _load_pixels(facts, box, footprint, native)
        if times is not None:
            t = _steps(times)
        elif count is not None:
            t = count
        else:
            t = float(facts.time_count or DEFAULT_TIME_STEPS)

        names = tuple(b.name for b in facts.bands) or None
        requested_bands = arguments.get("bands")
        if isinstance(requested_bands, list | tuple) and all(
            isinstance(b, str) for b in requested_bands
        ):
            names = tuple(requested_bands)
        itemsizes = [
            (facts.band(n).itemsize if facts.band(n) else DEFAULT_ITEMSIZE) for n in names or ()
        ]
        # One array for all bands: their common dtype is the widest one.
        itemsize = max(itemsizes) if itemsizes else DEFAULT_ITEMSIZE
        return Estimate(
            x=x,
            y=y,
            t=t,
            bands=float(len(names)) if names else 1.0,
            itemsize=itemsize,
            times=times,
            band_names=names,
            bbox=footprint,
            crs=ext.normalise_crs(facts.crs),
            res=facts.resolution,
            dims=facts.dimensions,
        )

    # -- everything else -----------------------------------------------------------------------
    def estimate(
        self, process_id: str, arguments: Mapping, inputs: Mapping[str, Estimate]
    ) -> Estimate:
        """The output estimate of one node; ``inputs`` maps producer node id → its estimate."""

        def arg(name: str) -> Any:
            value = arguments.get(name)
            if isinstance(value, dict) and set(value) == {"from_node"}:
                return inputs.get(value["from_node"], SCALAR)
            return value

        if process_id == "load_collection":
            return self.load(arguments)
        cubes = [e for e in inputs.values() if e.is_cube]
        largest = max(cubes, key=lambda e: e.nbytes) if cubes else None
        data = arg("data")
        data = data if isinstance(data, Estimate) and data.is_cube else largest
        rule = _RULES.get(process_id)
        if rule is not None and data is not None:
            return rule(data, arg)
        if largest is not None:
            # A process we do not model: as large as its largest cube input (e.g. band math).
            return replace(largest, itemsize=_float_itemsize(largest.itemsize))
        return _value_size(arguments, inputs)


def _load_pixels(
    facts: CollectionFacts, box: ext.BoundingBox | None, footprint: BBox | None, native: BBox | None
) -> tuple[float, float, BBox | None]:
    """Columns, rows and WGS84 footprint of a load: the pixels of the collection's grid (over
    ``native``, the matching items' area) whose centre ``box`` holds, as the loader selects
    them (planning/pixels.py). An empty selection counts one pixel: the load then finds no
    data, and sizes stay positive."""
    requested = None if box is None else pixels.to_wgs84(box)
    selected = ext.intersect(footprint, requested)
    crs = ext.normalise_crs(facts.crs)
    if native is None or facts.resolution is None or crs is None or min(facts.resolution) <= 0:
        width, height = facts.shape or DEFAULT_SHAPE
        return float(width), float(height), selected
    grid = pixels.Grid.from_bounds(crs, native, facts.resolution)
    rows, cols = pixels.select(box, grid, footprint).shape
    return float(max(1, cols)), float(max(1, rows)), selected


def _value_size(arguments: Mapping, inputs: Mapping[str, Estimate]) -> Estimate:
    """Non-cube values: a number, or an array as long as its longest list argument."""
    longest = max(
        (len(v) for v in arguments.values() if isinstance(v, list)),
        default=1,
    )
    carried = max((e.nbytes for e in inputs.values()), default=0.0)
    return Estimate(other_bytes=max(SCALAR_BYTES * longest, carried))


# -- rules, one per process: (data estimate, argument getter) -> output estimate ----------------


def _same(data: Estimate, arg) -> Estimate:
    return data


def _as_float(data: Estimate, arg) -> Estimate:
    return replace(data, itemsize=_float_itemsize(data.itemsize))


def _filter_bbox(data: Estimate, arg) -> Estimate:
    box = ext.bbox_of_extent(arg("extent"))
    return _narrow(data, box)


def _filter_spatial(data: Estimate, arg) -> Estimate:
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


def _filter_temporal(data: Estimate, arg) -> Estimate:
    interval = ext.interval_of_extent(arg("extent"))
    if interval is None or data.t is None:
        return data
    if data.times is None:
        return data
    times = tuple(t for t in data.times if ext.in_interval(t, interval))
    return replace(data, t=_steps(times), times=times)


def _filter_bands(data: Estimate, arg) -> Estimate:
    bands = arg("bands")
    if data.bands is None or not isinstance(bands, list | tuple):
        return data
    names = tuple(b for b in bands if isinstance(b, str))
    if data.band_names is not None:
        names = tuple(b for b in names if b in data.band_names)
    return replace(data, bands=float(max(1, len(names))), band_names=names or None)


def _reduce_dimension(data: Estimate, arg) -> Estimate:
    kind = data.kind_of(arg("dimension"))
    if kind is None:
        return data
    return _as_float(data.without(kind), arg)


def _reduce_spatial(data: Estimate, arg) -> Estimate:
    return _as_float(data.without("x").without("y"), arg)


def _aggregate_temporal(data: Estimate, arg) -> Estimate:
    intervals = arg("intervals")
    if data.t is None or not isinstance(intervals, list):
        return _as_float(data, arg)
    return replace(
        data,
        t=float(min(data.t, len(intervals))),
        times=None,
        itemsize=_float_itemsize(data.itemsize),
    )


def _aggregate_temporal_period(data: Estimate, arg) -> Estimate:
    period = arg("period")
    if data.t is None or data.times is None or not isinstance(period, str):
        return _as_float(data, arg)
    keys = {_period_key(t, period) for t in data.times}
    if None in keys:
        return _as_float(data, arg)
    return replace(data, t=float(len(keys)), times=None, itemsize=_float_itemsize(data.itemsize))


def _aggregate_spatial(data: Estimate, arg) -> Estimate:
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


def _resample_spatial(data: Estimate, arg) -> Estimate:
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


def _resample_cube_spatial(data: Estimate, arg) -> Estimate:
    target = arg("target")
    if not isinstance(target, Estimate) or target.x is None or target.y is None:
        return data
    return replace(data, x=target.x, y=target.y, bbox=target.bbox, crs=target.crs, res=target.res)


def _resample_cube_temporal(data: Estimate, arg) -> Estimate:
    target = arg("target")
    if not isinstance(target, Estimate) or target.t is None or data.t is None:
        return data
    return replace(data, t=target.t, times=target.times)


def _merge_cubes(data: Estimate, arg) -> Estimate:
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
            t = _steps(times)
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


def _merge_sites(data: Estimate, arg) -> Estimate:
    combine = arg("combine")
    if combine == COMBINE_CONCAT:
        return _merge_cubes(data, arg)
    if combine == COMBINE_MEAN:  # sums and counts in, their quotient out
        return replace(data, itemsize=8)
    return data


def _partial_mean(data: Estimate, arg) -> Estimate:
    # A sum and a count (float64) per element of the reduced cube.
    kind = data.kind_of(arg("dimension"))
    reduced = data.without(kind) if kind is not None else data
    return replace(reduced, itemsize=16)


def _ndvi(data: Estimate, arg) -> Estimate:
    target = arg("target_band")
    if data.bands is None:
        return _as_float(data, arg)
    if isinstance(target, str):
        names = None if data.band_names is None else data.band_names + (target,)
        return replace(data, bands=data.bands + 1, band_names=names, itemsize=8)
    return replace(data.without("bands"), itemsize=8)


_RULES = {
    "save_result": _same,
    "filter_bbox": _filter_bbox,
    "filter_spatial": _filter_spatial,
    "filter_temporal": _filter_temporal,
    "filter_bands": _filter_bands,
    "filter_labels": _same,
    "mask": _same,
    "mask_polygon": _same,
    "rename_labels": _same,
    "rename_dimension": _same,
    "add_dimension": _same,
    "drop_dimension": _same,
    "apply": _as_float,
    "apply_dimension": _as_float,
    "reduce_dimension": _reduce_dimension,
    "reduce_spatial": _reduce_spatial,
    "aggregate_temporal": _aggregate_temporal,
    "aggregate_temporal_period": _aggregate_temporal_period,
    "aggregate_spatial": _aggregate_spatial,
    "resample_spatial": _resample_spatial,
    "resample_cube_spatial": _resample_cube_spatial,
    "resample_cube_temporal": _resample_cube_temporal,
    "merge_cubes": _merge_cubes,
    "ndvi": _ndvi,
    MERGE_PROCESS: _merge_sites,
    PARTIAL_MEAN_PROCESS: _partial_mean,
}
