"""Plain facts about collections for the planner, gathered elsewhere (the planner does no I/O).

:class:`CollectionFacts` is built by the execution layer from the catalog (see
``openeo_dedl/execution/facts.py``); tests and benchmarks build it by hand.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np

from openeo_dedl.errors import SiteUnavailable

BBox = tuple[float, float, float, float]  # west, south, east, north

# openEO dimension kinds → the names a cube uses unless its collection says otherwise.
DEFAULT_DIMENSIONS: Mapping[str, str] = {"x": "x", "y": "y", "t": "t", "bands": "bands"}


@dataclass(frozen=True)
class BandFacts:
    name: str
    dtype: str = "float32"
    nodata: float | int | None = None

    @property
    def itemsize(self) -> int:
        try:
            return int(np.dtype(self.dtype).itemsize)
        except TypeError:
            return 4


@dataclass(frozen=True)
class ItemFacts:
    """Where one item lives and what it covers."""

    # Sites holding the item; the first is where it is read (the runner uses the same rule).
    sites: tuple[str, ...]
    bbox: BBox | None = None  # WGS84
    time: datetime | None = None  # the item's time label (``datetime``, else its start)
    native_bbox: BBox | None = None  # in the collection's CRS (``proj:bbox``), when known
    # The STAC item's id and ``updated`` (RFC 3339, as the catalog has it): its version, which
    # keys re-usable results (``planning/reuse.py``).
    id: str | None = None
    updated: str | None = None

    @property
    def site(self) -> str:
        return self.sites[0]


@dataclass(frozen=True)
class CollectionFacts:
    """What the planner knows about one collection. Every size field is optional."""

    id: str
    # Sites holding the whole collection (replicas when several), first preferred.
    sites: tuple[str, ...]
    bbox: BBox | None = None  # WGS84 footprint
    crs: str | None = None  # native CRS, e.g. "EPSG:32642"
    native_bbox: BBox | None = None  # footprint in ``crs`` units
    resolution: tuple[float, float] | None = None  # native pixel size (x, y) in ``crs`` units
    # Time labels, sorted; None when unknown (then ``time_count`` may say how many there are).
    times: tuple[datetime, ...] | None = None
    time_count: int | None = None
    bands: tuple[BandFacts, ...] = ()
    # Per-item sites and footprints; None when the catalog cannot list the items cheaply.
    items: tuple[ItemFacts, ...] | None = None
    # openEO dimension kind ("x", "y", "t", "bands") → the dimension's name in this collection.
    dimensions: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_DIMENSIONS))
    # Provider id of ``federation:backends`` -> the site it gave (ids that are site names are
    # not listed), for the plan's explanation.
    providers: Mapping[str, str] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int] | None:
        """Native (width, height) in pixels of the whole footprint, when known."""
        if self.native_bbox is None or self.resolution is None:
            return None
        w, s, e, n = self.native_bbox
        rx, ry = self.resolution
        if rx <= 0 or ry <= 0:
            return None
        return max(1, round((e - w) / rx)), max(1, round((n - s) / ry))

    def band(self, name: str) -> BandFacts | None:
        return next((b for b in self.bands if b.name == name), None)

    @staticmethod
    def at(collection_id: str, *sites: str) -> CollectionFacts:
        """Facts with nothing but the sites (sizes fall back to defaults)."""
        return CollectionFacts(id=collection_id, sites=tuple(sites))


@dataclass(frozen=True)
class SearchBounds:
    """What a graph's loads of a collection read at most: a WGS84 box, a time interval
    [start, end) and a CQL2-JSON filter of item properties (``planning/properties.py``); None
    where a load is unbounded (or its extent is known only at run time). ``properties``: the
    loads' ``properties`` arguments, which the items are checked against (any of them; None
    when a load has none)."""

    bbox: BBox | None = None
    interval: tuple[datetime | None, datetime | None] | None = None
    filter: Mapping[str, Any] | None = None
    properties: tuple[Mapping[str, Any], ...] | None = None


def without_sites(facts: CollectionFacts, unavailable: Collection[str]) -> CollectionFacts:
    """``facts`` while the ``unavailable`` sites are down: only replicas elsewhere remain.

    Raises SiteUnavailable naming the down site when the collection, or one of its items, is
    held nowhere else.
    """
    if not unavailable:
        return facts

    def remaining(sites: tuple[str, ...], what: str) -> tuple[str, ...]:
        left = tuple(s for s in sites if s not in unavailable)
        if sites and not left:
            down = ", ".join(f"'{s}'" for s in sites)
            raise SiteUnavailable(
                f"Site {down} is unavailable and {what} has no replica at another site."
            )
        return left

    items = facts.items
    if items is not None:
        items = tuple(
            replace(i, sites=remaining(i.sites, f"an item of collection '{facts.id}'"))
            for i in items
        )
    return replace(facts, sites=remaining(facts.sites, f"collection '{facts.id}'"), items=items)
