"""The independent oracle: what the openEO specs say a load and a temporal reduction return,
computed straight from the demo catalog's STAC JSON and COG files with json, rasterio and numpy.

Nothing here imports openeo_dedl or odc: the point is a second, plain computation to hold the
server's results against. The rules (see tests/values/test_values.py for why these):

- The result grid is the collection's native grid (the COGs' CRS, pixel size and pixel lattice),
  extended beyond the data where a box reaches outside it (those pixels are no-data; the
  comparison lets a result leave them out, see tests/values/compare.py).
- A box given in WGS84 is reprojected to the native CRS as the bounding box of its densified edges
  (``pyproj.Transformer.transform_bounds``), and a pixel is selected when its centre lies in that
  box: west/south edges included, east/north edges excluded.
- A value equal to the band's nodata (``raster:bands`` nodata, which must equal the COG's nodata
  tag) or NaN is no-data. Reducers ignore no-data (``ignore_nodata: true``); a pixel without any
  valid value is no-data for mean/min/max/sum and 0 for count.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from pyproj import CRS, Transformer
from rasterio.windows import Window

# Relative to the pixel size: a box edge this close to a row or column of pixel centres is
# ambiguous (densification, rounding) and the case generator draws another box.
EDGE_MARGIN = 0.02


@dataclass(frozen=True)
class Layer:
    """One item's asset of one band: a COG on the collection's lattice."""

    date: np.datetime64
    path: Path
    col0: int  # lattice column of the COG's first column
    row0: int  # lattice row of the COG's first row
    width: int
    height: int


@dataclass
class Collection:
    """A demo collection as the oracle sees it: its lattice, bands and layers."""

    id: str
    crs: CRS
    res: float
    x0: float  # lattice origin: west edge of lattice column 0
    y0: float  # north edge of lattice row 0
    dtypes: dict[str, str] = field(default_factory=dict)
    nodata: dict[str, float | None] = field(default_factory=dict)
    layers: dict[str, list[Layer]] = field(default_factory=lambda: defaultdict(list))

    @property
    def bands(self) -> list[str]:
        return list(self.dtypes)

    def dates(self) -> list[np.datetime64]:
        return sorted({layer.date for layer in self.layers[self.bands[0]]})

    def footprints(self) -> list[tuple[int, int, int, int]]:
        """Distinct (col0, row0, width, height) of the layers: the collection's areas."""
        return sorted(
            {(ly.col0, ly.row0, ly.width, ly.height) for ly in self.layers[self.bands[0]]}
        )

    def area_dates(self, footprint: tuple[int, int, int, int]) -> list[np.datetime64]:
        return sorted(
            {
                ly.date
                for ly in self.layers[self.bands[0]]
                if (ly.col0, ly.row0, ly.width, ly.height) == footprint
            }
        )


def _nodata(value) -> float | None:
    if value is None:
        return None
    return math.nan if value == "nan" else float(value)


def _same_nodata(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return (math.isnan(a) and math.isnan(b)) or a == b


def read_catalog(catalog_dir: Path) -> dict[str, Collection]:
    """Every collection of the STAC catalog at ``catalog_dir/catalog.json``."""
    root = json.loads((catalog_dir / "catalog.json").read_text())
    out: dict[str, Collection] = {}
    for link in root["links"]:
        if link["rel"] != "child":
            continue
        coll_path = (catalog_dir / link["href"]).resolve()
        coll = json.loads(coll_path.read_text())
        collection: Collection | None = None
        for item_link in coll["links"]:
            if item_link["rel"] != "item":
                continue
            item_path = (coll_path.parent / item_link["href"]).resolve()
            item = json.loads(item_path.read_text())
            date = np.datetime64(item["properties"]["datetime"].rstrip("Z"), "ns")
            for band, asset in item["assets"].items():
                path = (item_path.parent / asset["href"]).resolve()
                with rasterio.open(path) as src:
                    transform, crs = src.transform, CRS.from_user_input(src.crs.to_wkt())
                    tag, dtype, shape = src.nodata, src.dtypes[0], (src.height, src.width)
                stac_nodata = _nodata(asset["raster:bands"][0].get("nodata"))
                assert _same_nodata(stac_nodata, tag), (path, stac_nodata, tag)
                assert transform.b == 0 and transform.d == 0 and transform.a == -transform.e
                if collection is None:
                    collection = Collection(coll["id"], crs, transform.a, transform.c, transform.f)
                assert crs == collection.crs and math.isclose(transform.a, collection.res)
                col0 = (transform.c - collection.x0) / collection.res
                row0 = (collection.y0 - transform.f) / collection.res
                assert abs(col0 - round(col0)) < 1e-6 and abs(row0 - round(row0)) < 1e-6, path
                collection.dtypes.setdefault(band, dtype)
                collection.nodata.setdefault(band, tag)
                collection.layers[band].append(
                    Layer(date, path, round(col0), round(row0), shape[1], shape[0])
                )
        assert collection is not None, coll["id"]
        out[collection.id] = collection
    return out


# -- pixel selection ---------------------------------------------------------------------------


def native_bbox(
    collection: Collection,
    bbox: Sequence[float],
    densify: int = 21,
    crs: int | str | None = None,
) -> tuple[float, float, float, float]:
    """A box (in ``crs``, default WGS84) in the collection's CRS: the bounding box of its
    densified edges; unchanged if it is in the collection's CRS already."""
    source = CRS.from_user_input(crs if crs is not None else 4326)
    if source == collection.crs:
        return tuple(float(v) for v in bbox)  # type: ignore[return-value]
    transformer = Transformer.from_crs(source, collection.crs, always_xy=True)
    return transformer.transform_bounds(*bbox, densify_pts=densify)


@dataclass(frozen=True)
class Selection:
    """Lattice columns [col0, col1) and rows [row0, row1) whose pixel centres are in a box."""

    col0: int
    col1: int
    row0: int
    row1: int

    @property
    def shape(self) -> tuple[int, int]:
        return (self.row1 - self.row0, self.col1 - self.col0)


def select(collection: Collection, bbox_native: Sequence[float]) -> Selection:
    """Pixels whose centre x is in [west, east) and centre y in [south, north)."""
    w, s, e, n = bbox_native
    r, x0, y0 = collection.res, collection.x0, collection.y0
    # Column i's centre is x0 + (i + 0.5) r: west <= centre < east.
    col0 = math.ceil((w - x0) / r - 0.5)
    col1 = math.ceil((e - x0) / r - 0.5)
    # Row j's centre is y0 - (j + 0.5) r: south <= centre < north.
    row0 = math.floor((y0 - n) / r - 0.5) + 1
    row1 = math.floor((y0 - s) / r - 0.5) + 1
    return Selection(col0, max(col0, col1), row0, max(row0, row1))


def edge_margin(collection: Collection, bbox_native: Sequence[float]) -> float:
    """Distance (in pixels) from the box's edges to the nearest line of pixel centres."""
    w, s, e, n = bbox_native
    r = collection.res
    offsets = [(w - collection.x0) / r, (e - collection.x0) / r]
    offsets += [(collection.y0 - n) / r, (collection.y0 - s) / r]
    return min(abs((v - 0.5) - round(v - 0.5)) for v in offsets)


def centres(collection: Collection, sel: Selection) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) pixel-centre coordinates of a selection, x ascending, y descending."""
    r = collection.res
    xs = collection.x0 + (np.arange(sel.col0, sel.col1) + 0.5) * r
    ys = collection.y0 - (np.arange(sel.row0, sel.row1) + 0.5) * r
    return xs, ys


def transform_of(collection: Collection, sel: Selection) -> Affine:
    r = collection.res
    return Affine(r, 0.0, collection.x0 + sel.col0 * r, 0.0, -r, collection.y0 - sel.row0 * r)


def _overlap(layer: Layer, sel: Selection) -> tuple[slice, slice, Window] | None:
    c0, c1 = max(sel.col0, layer.col0), min(sel.col1, layer.col0 + layer.width)
    r0, r1 = max(sel.row0, layer.row0), min(sel.row1, layer.row0 + layer.height)
    if c0 >= c1 or r0 >= r1:
        return None
    window = Window(c0 - layer.col0, r0 - layer.row0, c1 - c0, r1 - r0)
    return slice(r0 - sel.row0, r1 - sel.row0), slice(c0 - sel.col0, c1 - sel.col0), window


def touches(layer: Layer, sel: Selection) -> bool:
    """Whether a layer has at least one pixel in the selection."""
    return _overlap(layer, sel) is not None


# -- values ------------------------------------------------------------------------------------


@dataclass
class Stack:
    """One band over a selection: a (t, y, x) float64 array, NaN where no-data.

    ``raw`` holds the stored numbers (the nodata value where there is none, also outside the
    data), as a loader that does not mask would see them; ``covered`` (y, x) tells the pixels
    inside some layer's footprint.
    """

    dates: list[np.datetime64]
    values: np.ndarray
    raw: np.ndarray
    covered: np.ndarray


def stack(
    collection: Collection,
    band: str,
    sel: Selection,
    start: np.datetime64,
    end: np.datetime64,
) -> Stack:
    """The band's layers with a date in [start, end) that have pixels in the selection."""
    nodata = collection.nodata[band]
    by_date: dict[np.datetime64, list[Layer]] = defaultdict(list)
    for layer in collection.layers[band]:
        if start <= layer.date < end and touches(layer, sel):
            by_date[layer.date].append(layer)
    dates = sorted(by_date)
    fill = math.nan if nodata is None else nodata
    raw = np.full((len(dates), *sel.shape), fill, dtype="float64")
    covered = np.zeros(sel.shape, dtype=bool)
    for i, date in enumerate(dates):
        for layer in by_date[date]:
            rows, cols, window = _overlap(layer, sel)  # type: ignore[misc]
            with rasterio.open(layer.path) as src:
                block = src.read(1, window=window).astype("float64")
            target = raw[i, rows, cols]
            # Areas of one date do not overlap in the demo data; if they did, the first valid
            # value would win.
            empty = _invalid(target, nodata)
            target[empty] = block[empty]
            covered[rows, cols] = True
    values = np.where(_invalid(raw, nodata), np.nan, raw)
    return Stack(dates, values, raw, covered)


def _invalid(a: np.ndarray, nodata: float | None) -> np.ndarray:
    bad = np.isnan(a)
    if nodata is not None and not math.isnan(nodata):
        bad |= a == nodata
    return bad


REDUCERS = ("mean", "min", "max", "sum", "count")


def reduce(values: np.ndarray, reducer: str) -> np.ndarray:
    """A reducer over axis 0 ignoring NaN; no valid value gives NaN (count: 0)."""
    valid = ~np.isnan(values)
    n = valid.sum(axis=0)
    if reducer == "count":
        return n.astype("float64")
    filled = {
        "mean": np.where(valid, values, 0.0),
        "sum": np.where(valid, values, 0.0),
        "min": np.where(valid, values, np.inf),
        "max": np.where(valid, values, -np.inf),
    }[reducer]
    if reducer == "mean":
        out = filled.sum(axis=0) / np.maximum(n, 1)
    else:
        out = getattr(np, reducer)(filled, axis=0)
    return np.where(n > 0, out, np.nan)


def reduce_counting_nodata(raw: np.ndarray, reducer: str) -> np.ndarray:
    """The same reducers over the stored numbers, nodata values included (a diagnostic: what a
    reducer that takes an integer band's nodata for a measurement returns)."""
    if reducer == "count":
        return np.full(raw.shape[1:], float(raw.shape[0]))
    return reduce(raw, reducer)
