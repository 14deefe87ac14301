"""Direct xarray computations over the demo files, to check the backend's answers against."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pystac
import rioxarray
import xarray as xr
from pyproj import Transformer


def items(catalog_dir: Path, collection_id: str) -> list[pystac.Item]:
    root = pystac.Catalog.from_file(str(catalog_dir / "catalog.json"))
    coll = root.get_child(collection_id)
    assert coll is not None, collection_id
    return list(coll.get_items(recursive=True))


def band_stack(
    catalog_dir: Path,
    collection_id: str,
    band: str,
    start: str,
    end: str,
    bbox_wgs84: tuple[float, float, float, float] | None = None,
) -> xr.DataArray:
    """(t, y, x) stack of one band over [start, end), read with rioxarray, nodata as NaN."""
    t0, t1 = pd.Timestamp(start, tz="UTC"), pd.Timestamp(end, tz="UTC")
    layers = []
    for item in items(catalog_dir, collection_id):
        when = pd.Timestamp(item.datetime)
        if not (t0 <= when < t1):
            continue
        if bbox_wgs84 is not None:
            w, s, e, n = item.bbox
            if e < bbox_wgs84[0] or w > bbox_wgs84[2] or n < bbox_wgs84[1] or s > bbox_wgs84[3]:
                continue
        da = rioxarray.open_rasterio(item.assets[band].get_absolute_href(), masked=True)
        layers.append(da.squeeze("band", drop=True).expand_dims(t=[when.tz_localize(None)]))
    assert layers, f"no {collection_id} items in [{start}, {end})"
    return xr.concat(layers, dim="t").sortby("t")


def values_at(
    grid: xr.DataArray, x: np.ndarray, y: np.ndarray, crs_xy: str, edge: float = 0.0
) -> np.ndarray:
    """Values of a (y, x) raster at points given in ``crs_xy``, by the cell containing each.

    Points within ``edge`` (in cell units) of a cell border are NaN: which cell a resampler picks
    there depends on rounding, not on the computation being checked.
    """
    transformer = Transformer.from_crs(crs_xy, grid.rio.crs, always_xy=True)
    X, Y = np.meshgrid(x, y)
    gx, gy = transformer.transform(X, Y)
    inverse = ~grid.rio.transform()
    cols, rows = inverse * (gx, gy)
    rows, cols = np.floor(rows).astype(int), np.floor(cols).astype(int)
    inside = (rows >= 0) & (rows < grid.sizes["y"]) & (cols >= 0) & (cols < grid.sizes["x"])
    out = np.full(X.shape, np.nan)
    out[inside] = grid.values[rows[inside], cols[inside]]
    if edge:
        fr, fc = (np.asarray(v) % 1.0 for v in (inverse * (gx, gy))[::-1])
        near_border = (np.minimum(fr, 1 - fr) < edge) | (np.minimum(fc, 1 - fc) < edge)
        out[near_border] = np.nan
    return out
