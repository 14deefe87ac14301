"""Seeded random cases: a WGS84 box, a date interval and a band of one demo collection.

Each collection gets ``CASES_PER_COLLECTION`` cases, one of each kind in ``KINDS`` in turn, drawn
from a generator seeded by the collection's name and the case's index, so a case is the same on
every run and machine (and adding a collection does not change the others' cases).
"""

from __future__ import annotations

import datetime as dt
import random
import zlib
from dataclasses import dataclass

import numpy as np
from pyproj import CRS, Transformer

from tests.values.oracle import (
    EDGE_MARGIN,
    Collection,
    Selection,
    edge_margin,
    native_bbox,
    select,
    touches,
)

CASES_PER_COLLECTION = 7
# small: a few pixels inside an area; inside: a larger part of an area; edge/corner: across an
# area's edge or corner (partly outside the data); sliver: a box a few pixels wide across an
# edge; around: an area and a margin of no-data around it; span: across the gap between two
# areas of the collection (one area's dates are the other's no-data), where it has two.
KINDS = ("small", "edge", "inside", "corner", "sliver", "around", "span")
# Pixels per time step a case may load at most (keeps the module fast).
MAX_PIXELS = 400_000
# Time steps a case may load at most (the server reads each item on its own).
MAX_DATES = 12


@dataclass(frozen=True)
class Case:
    collection: str
    index: int
    kind: str
    band: str
    bbox: tuple[float, float, float, float]  # west, south, east, north in WGS84
    interval: tuple[str, str]  # [start, end) as ISO dates
    dates_kind: str

    @property
    def id(self) -> str:
        return f"{self.collection}-{self.index}-{self.kind}-{self.dates_kind}"

    def spatial_extent(self) -> dict:
        w, s, e, n = self.bbox
        return {"west": w, "south": s, "east": e, "north": n}

    def describe(self) -> str:
        return f"{self.id} band {self.band} bbox {list(self.bbox)} dates {list(self.interval)}"


def _seed(collection_id: str, index: int) -> int:
    return zlib.crc32(f"{collection_id}/{index}".encode())


def _to_wgs84(collection: Collection, box: tuple[float, float, float, float]):
    """A native-CRS rectangle as a WGS84 box (rounded to 1e-6 degrees, about 0.1 m)."""
    if collection.crs == CRS.from_epsg(4326):
        w, s, e, n = box
    else:
        transformer = Transformer.from_crs(collection.crs, "EPSG:4326", always_xy=True)
        w, s, e, n = transformer.transform_bounds(*box, densify_pts=21)
    return tuple(round(v, 6) for v in (w, s, e, n))


def _native_box(collection: Collection, kind: str, rng: random.Random):
    """A rectangle in the native CRS of the given kind, and the footprint it was drawn on."""
    r = collection.res
    areas = collection.footprints()
    area = rng.choice(areas)
    c0, r0, width, height = area
    # Area edges in native coordinates.
    west, east = collection.x0 + c0 * r, collection.x0 + (c0 + width) * r
    north, south = collection.y0 - r0 * r, collection.y0 - (r0 + height) * r

    def span(lo: float, hi: float, frac: tuple[float, float]) -> tuple[float, float]:
        size = (hi - lo) * rng.uniform(*frac)
        start = rng.uniform(lo, hi - size)
        return start, start + size

    def across(edge: float, side: float) -> tuple[float, float]:
        """An interval of ``side`` across ``edge`` (between 20 and 80 % outside)."""
        below = rng.uniform(0.2, 0.8) * side
        return edge - below, edge - below + side

    if kind == "small":
        x = span(west, east, (2 / width, min(1.0, 12 / width)))
        y = span(south, north, (2 / height, min(1.0, 12 / height)))
    elif kind == "inside":
        x = span(west, east, (0.1, 0.5))
        y = span(south, north, (0.1, 0.5))
    elif kind in ("edge", "sliver"):
        thin = (3 * r, 8 * r) if kind == "sliver" else (0.1 * (east - west), 0.4 * (east - west))
        side = rng.choice("wesn")
        if side in "we":
            x = across(west if side == "w" else east, rng.uniform(*thin))
            y = span(south, north, (0.2, 0.6))
        else:
            y = across(south if side == "s" else north, rng.uniform(*thin))
            x = span(west, east, (0.2, 0.6))
    elif kind == "corner":
        x = across(rng.choice((west, east)), rng.uniform(0.1, 0.4) * (east - west))
        y = across(rng.choice((south, north)), rng.uniform(0.1, 0.4) * (north - south))
    elif kind == "around":
        pad_x, pad_y = (rng.uniform(1.5, 6) * r for _ in range(2))
        x, y = (west - pad_x, east + pad_x), (south - pad_y, north + pad_y)
    elif kind == "span":
        if len(areas) < 2:
            return _native_box(collection, "edge", rng)
        # Parts of two areas and the gap between them.
        xs = [collection.x0 + a[0] * r for a in areas] + [
            collection.x0 + (a[0] + a[2]) * r for a in areas
        ]
        ys = [collection.y0 - a[1] * r for a in areas] + [
            collection.y0 - (a[1] + a[3]) * r for a in areas
        ]
        lo_x, hi_x, lo_y, hi_y = min(xs), max(xs), min(ys), max(ys)
        if (hi_x - lo_x) / r > 600 or (hi_y - lo_y) / r > 600:  # far apart (ERA5's two boxes)
            return _native_box(collection, "edge", rng)
        x = (
            lo_x + rng.uniform(0.2, 0.5) * (hi_x - lo_x),
            hi_x - rng.uniform(0.05, 0.2) * (hi_x - lo_x),
        )
        y = (
            lo_y + rng.uniform(0.2, 0.5) * (hi_y - lo_y),
            hi_y - rng.uniform(0.05, 0.2) * (hi_y - lo_y),
        )
    else:
        raise ValueError(kind)
    return (x[0], y[0], x[1], y[1]), area


def _day(d: np.datetime64) -> dt.date:
    return d.astype("datetime64[D]").astype(dt.date)


def _interval(collection: Collection, area, rng: random.Random) -> tuple[tuple[str, str], str]:
    """A date interval of at most ``MAX_DATES`` of the area's dates: all dates, a window
    reaching before the first or after the last date, a part of the series, or a single day."""
    dates = [_day(d) for d in collection.area_dates(area)]
    n, one = len(dates), dt.timedelta(days=1)
    kinds = ["before", "after", "day"]
    kinds += ["all"] if n <= MAX_DATES else []
    kinds += ["part"] if n > 2 else []
    # A single day is a weak test of a reducer: less often.
    choice = rng.choices(kinds, weights=[1 if k == "day" else 3 for k in kinds])[0]
    if choice == "all":
        start, end = dates[0], dates[-1] + one
    elif choice == "before":
        start = dates[0] - dt.timedelta(days=rng.randint(1, 40))
        end = dates[rng.randrange(min(n, MAX_DATES))] + one
    elif choice == "after":
        start = dates[rng.randrange(max(0, n - MAX_DATES), n)]
        end = dates[-1] + dt.timedelta(days=rng.randint(2, 40))
    elif choice == "part":
        i = rng.randrange(n - 1)
        j = rng.randrange(i + 1, min(n, i + MAX_DATES))
        # Starts before a date and ends on one (excluded): the interval's edges matter.
        start = dates[i] - dt.timedelta(days=rng.randint(0, 1))
        end = dates[j]
    else:
        start = dates[rng.randrange(n)]
        end = start + one
    return (start.isoformat(), end.isoformat()), choice


def _acceptable(collection: Collection, case: Case) -> bool:
    """A case whose answer does not hang on rounding, loads some data and stays small."""
    boxes = [native_bbox(collection, case.bbox, densify) for densify in (21, 201)]
    if any(edge_margin(collection, b) < EDGE_MARGIN for b in boxes):
        return False
    sel: Selection = select(collection, boxes[0])
    if sel != select(collection, boxes[1]):
        return False
    rows, cols = sel.shape
    if rows == 0 or cols == 0 or rows * cols > MAX_PIXELS:
        return False
    start, end = (np.datetime64(v, "ns") for v in case.interval)
    # Some layer in the interval must have pixels in the selection (else NoDataAvailable).
    dates = {
        layer.date
        for layer in collection.layers[case.band]
        if start <= layer.date < end and touches(layer, sel)
    }
    return 0 < len(dates) <= MAX_DATES


def make_case(collection: Collection, index: int) -> Case:
    """The ``index``-th case of a collection (deterministic)."""
    rng = random.Random(_seed(collection.id, index))
    kind = KINDS[index % len(KINDS)]
    for _ in range(200):
        box, area = _native_box(collection, kind, rng)
        interval, dates_kind = _interval(collection, area, rng)
        band = rng.choice(collection.bands)
        case = Case(
            collection.id, index, kind, band, _to_wgs84(collection, box), interval, dates_kind
        )
        if _acceptable(collection, case):
            return case
    raise AssertionError(f"no acceptable {kind} case for {collection.id} #{index}")
