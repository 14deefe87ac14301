"""Estimated output size of every node: metadata narrowed by filters, shrunk by reductions.

A cube is sized as x pixels × y pixels × time steps × bands × bytes per value; a vector cube
(``aggregate_spatial``) as geometries × time steps × bands × 8. Loads start from collection facts
(extent × resolution × bands × time steps × dtype) narrowed by their own extents; filters narrow,
reductions drop dimensions, resampling rescales. Everything unknown falls back to the input's
size or to conservative defaults, so estimates err on the large side. The figures only rank
placements: they need to be right in order of magnitude, not exact.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from openeo_dedl.planning import extents as ext
from openeo_dedl.planning import pixels
from openeo_dedl.planning.facts import BBox, CollectionFacts
from openeo_dedl.planning.internal import ITEM_SITE_ARGUMENT
from openeo_dedl.planning.sizes import (
    DEFAULT_ITEMSIZE,
    DEFAULT_SHAPE,
    DEFAULT_TIME_STEPS,
    SCALAR,
    SCALAR_BYTES,
    Estimate,
)
from openeo_dedl.planning.sizes import float_itemsize as _float_itemsize
from openeo_dedl.planning.sizes import steps as _steps
from openeo_dedl.planning.traits import traits_of

__all__ = ["SCALAR", "Estimate", "Estimator"]


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
        rule = traits_of(process_id).size
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
