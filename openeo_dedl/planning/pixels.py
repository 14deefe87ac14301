"""Which pixels of a grid an extent selects (pure): the one rule of the planner and the loader.

openEO selects a pixel when its centre lies in the extent (``load_collection``,
``filter_bbox``). Here the box is half-open: a centre on the west or south edge is in, one on
the east or north edge is out, so boxes that tile an area select every pixel exactly once
(the planner's splits by area rely on that). A box in another CRS than the grid's is projected
as the envelope of its densified edges; only a box reaching beyond the grid CRS's area of use
(with a margin) is clipped to it first: a whole-world box projected into a UTM zone is
meaningless (pyproj answers a box millions of metres wide or infinite).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from openeo_dedl.planning.extents import (
    WGS84,
    BoundingBox,
    intersect,
    is_empty,
    is_geographic,
    same_crs,
)
from openeo_dedl.planning.facts import BBox

# Points per edge when a box is projected: a projected rectangle's edges are curves.
DENSIFY_POINTS = 21
# Degrees around a CRS's area of use within which a box is projected as it is (transverse
# Mercator & co. stay exact well beyond their zone); a box reaching further is clipped first.
AREA_OF_USE_MARGIN = 10.0
# Unknown: every pixel of the grid (never an under-estimate).
_EVERYWHERE = (-math.inf, -math.inf, math.inf, math.inf)
# Within this fraction of a pixel, an edge counts as exactly on a pixel centre: real
# coordinates are not exact (0.1 * 3 is 0.30000000000000004).
SNAP = 1e-6


@dataclass(frozen=True)
class Grid:
    """A regular grid: pixel (row, col) has its centre at (x0 + (col + 0.5) dx,
    y0 + (row + 0.5) dy); dy < 0 for north-up grids."""

    crs: str
    x0: float
    y0: float
    dx: float
    dy: float
    width: int
    height: int

    @classmethod
    def from_bounds(cls, crs: str, bounds: BBox, resolution: tuple[float, float]) -> Grid:
        """The north-up grid of pixels of ``resolution`` covering ``bounds`` (edges on it)."""
        w, s, e, n = bounds
        rx, ry = abs(resolution[0]), abs(resolution[1])
        return cls(crs, w, n, rx, -ry, max(0, round((e - w) / rx)), max(0, round((n - s) / ry)))

    @property
    def bounds(self) -> BBox:
        xs = (self.x0, self.x0 + self.width * self.dx)
        ys = (self.y0, self.y0 + self.height * self.dy)
        return (min(xs), min(ys), max(xs), max(ys))


@dataclass(frozen=True)
class Window:
    """Rows [row_start, row_stop) and columns [col_start, col_stop) of a grid."""

    row_start: int
    row_stop: int
    col_start: int
    col_stop: int

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns)."""
        return (max(0, self.row_stop - self.row_start), max(0, self.col_stop - self.col_start))

    @property
    def empty(self) -> bool:
        return 0 in self.shape


def _snapped(value: float) -> float:
    nearest = round(value)
    return float(nearest) if abs(value - nearest) < SNAP else value


def centres_in(low: float, high: float, origin: float, step: float, count: int) -> range:
    """Indices i in [0, count) whose centre ``origin + (i + 0.5) step`` is in [low, high)."""
    if step == 0 or count <= 0 or math.isnan(low) or math.isnan(high) or high <= low:
        return range(0)
    # Clipped to just beyond the grid first: far edges (1e308) would overflow in pixel units.
    end = origin + count * step
    lo_edge, hi_edge = min(origin, end) - abs(step), max(origin, end) + abs(step)
    low, high = min(max(low, lo_edge), hi_edge), min(max(high, lo_edge), hi_edge)
    a = _snapped((low - origin) / step - 0.5)
    b = _snapped((high - origin) / step - 0.5)
    if step > 0:  # a <= i < b
        first, stop = math.ceil(a), math.ceil(b)
    else:  # dividing by a negative step turns the order: b < i <= a
        first, stop = math.floor(b) + 1, math.floor(a) + 1
    return range(max(first, 0), min(stop, count))


def window(box: BBox, grid: Grid) -> Window:
    """The pixels of ``grid`` whose centre lies in ``box`` (in the grid's CRS)."""
    cols = centres_in(box[0], box[2], grid.x0, grid.dx, grid.width)
    rows = centres_in(box[1], box[3], grid.y0, grid.dy, grid.height)
    return Window(rows.start, max(rows.start, rows.stop), cols.start, max(cols.start, cols.stop))


@functools.lru_cache(maxsize=64)
def _transformer(source: str, target: str):
    from pyproj import Transformer

    return Transformer.from_crs(source, target, always_xy=True)


def _transform(box: BBox, source: str, target: str) -> BBox | None:
    """``box`` projected from ``source`` to ``target`` (its envelope); None when not finite."""
    from pyproj.exceptions import ProjError

    try:
        out = _transformer(source, target).transform_bounds(*box, densify_pts=DENSIFY_POINTS)
    except ProjError:
        return None
    if not all(math.isfinite(v) for v in out) or out[0] > out[2] or out[1] > out[3]:
        return None  # across the antimeridian or outside the projection's domain
    return tuple(float(v) for v in out)  # type: ignore[return-value]


@functools.lru_cache(maxsize=64)
def area_of_use(crs: str) -> BBox | None:
    """The WGS84 box where ``crs`` is valid, as the EPSG registry says; None when unknown."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        area = CRS.from_user_input(crs).area_of_use
    except CRSError:
        return None
    return None if area is None else (area.west, area.south, area.east, area.north)


def to_wgs84(box: BoundingBox) -> BBox | None:
    """The WGS84 envelope of ``box``; None when it cannot be projected."""
    if box.is_geographic:
        return box.bounds
    return _transform(box.bounds, box.crs, WGS84)


def _grown(box: BBox, margin: float) -> BBox:
    w, s, e, n = box
    return (max(-180.0, w - margin), max(-90.0, s - margin), min(180.0, e + margin),
            min(90.0, n + margin))  # fmt: skip


def in_grid_crs(box: BoundingBox, grid_crs: str, footprint: BBox | None) -> BBox | None:
    """``box`` in ``grid_crs`` (the envelope of its projected, densified edges, as the spec's
    rule implies). Only a box reaching beyond the grid CRS's area of use (grown by
    ``AREA_OF_USE_MARGIN`` degrees, where projections are still exact) is clipped to it first,
    in WGS84: a whole-world box projected into a UTM zone is meaningless. Clipping a smaller
    box would move its projected edges and drop pixels the spec selects. None: nothing of the
    data (``footprint``, WGS84) can be in the box."""
    if same_crs(box.crs, grid_crs):
        return box.bounds
    wgs = to_wgs84(box)
    if wgs is not None and footprint is not None and is_empty_or_none(intersect(wgs, footprint)):
        return None
    if is_geographic(grid_crs):
        return wgs if wgs is not None else footprint or _EVERYWHERE
    area = area_of_use(grid_crs)
    valid = None if area is None else _grown(area, AREA_OF_USE_MARGIN)
    source, bounds = box.crs, box.bounds
    if wgs is None or (valid is not None and intersect(wgs, valid) != wgs):
        clip = valid if valid is not None else footprint
        if clip is None:
            return _EVERYWHERE
        inside = clip if wgs is None else intersect(wgs, clip)
        if is_empty_or_none(inside):
            return None
        source, bounds = WGS84, inside  # type: ignore[assignment]
    native = _transform(bounds, source, grid_crs)
    return native if native is not None else _EVERYWHERE


def is_empty_or_none(box: BBox | None) -> bool:
    return box is None or is_empty(box)


def select(box: BoundingBox | None, grid: Grid, footprint: BBox | None = None) -> Window:
    """The window of ``grid`` that ``box`` selects (pixel centres, see the module); the whole
    grid for no box."""
    if box is None:
        return Window(0, grid.height, 0, grid.width)
    native = in_grid_crs(box, grid.crs, footprint)
    if native is None:
        return Window(0, 0, 0, 0)
    return window(native, grid)
