"""The two use cases computed directly from the demo COGs with rasterio, xarray and dask.

Written from the use cases' definitions (examples/graphs.py's docstrings), not from the process
graphs: no openEO process, no odc-stac, no planner. The tests compare the backend's answers with
these; ``bench/use_cases.py`` runs them as the single-process floor (``chunks`` makes the stacks
lazy dask arrays, computed with whatever dask scheduler is active).
"""

from __future__ import annotations

import datetime as dt
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio
import rasterio.features
import shapely.ops
import xarray as xr
from pyproj import Transformer
from shapely.geometry import shape

# The definitions (the same constants the graphs use, restated so that the check is independent).
FLOOD_WINDOW = ("2022-07-01", "2022-11-01")
DROUGHT_YEAR = 2022
REFERENCE_YEARS = (2020, 2021)
AGRICULTURE_MIN_SHARE = 0.5
S1_RESOLUTION = 500.0


def _items(catalog_dir: Path, collection_id: str) -> list[dict]:
    """The collection's STAC items (plain JSON), in time order."""
    coll_dir = Path(catalog_dir) / collection_id
    items = [json.loads(p.read_text()) for p in coll_dir.glob("*/*.json")]
    return sorted(items, key=lambda item: item["properties"]["datetime"])


def _when(item: dict) -> pd.Timestamp:
    return pd.Timestamp(item["properties"]["datetime"]).tz_convert(None)


def _href(catalog_dir: Path, collection_id: str, item: dict, band: str) -> Path:
    return Path(catalog_dir) / collection_id / item["id"] / Path(item["assets"][band]["href"]).name


def _read(path: Path, chunks) -> xr.DataArray:
    """One band as (y, x) with nodata as NaN for float bands (integer bands stay integers)."""
    import rioxarray

    with rasterio.open(path) as src:
        floating = np.issubdtype(np.dtype(src.dtypes[0]), np.floating)
    da = rioxarray.open_rasterio(path, masked=floating, chunks=chunks, lock=False)
    return da.squeeze("band", drop=True)


def stack(
    catalog_dir: Path,
    collection_id: str,
    band: str,
    start: str,
    end: str,
    region: str | None = None,
    chunks=None,
) -> xr.DataArray:
    """(t, y, x) stack of one band over [start, end), optionally of one ``region`` property."""
    t0, t1 = pd.Timestamp(start), pd.Timestamp(end)
    layers = []
    for item in _items(catalog_dir, collection_id):
        when = _when(item)
        if not (t0 <= when < t1):
            continue
        if region is not None and item["properties"].get("region") != region:
            continue
        layer = _read(_href(catalog_dir, collection_id, item, band), chunks)
        layers.append(layer.expand_dims(t=[when]))
    if not layers:
        raise ValueError(f"no {collection_id} items in [{start}, {end})")
    return xr.concat(layers, dim="t")


def single(catalog_dir: Path, collection_id: str, band: str, chunks=None) -> xr.DataArray:
    """The (y, x) raster of a collection with a single item."""
    (item,) = _items(catalog_dir, collection_id)
    return _read(_href(catalog_dir, collection_id, item, band), chunks)


def region_masks(regions: dict, grid: xr.DataArray) -> list[np.ndarray]:
    """Per feature, the pixels of ``grid`` whose centre lies in it (polygons reprojected to the
    grid's CRS), in the features' order."""
    to_grid = Transformer.from_crs("EPSG:4326", grid.rio.crs, always_xy=True)
    masks = []
    for feature in regions["features"]:
        geom = shapely.ops.transform(to_grid.transform, shape(feature["geometry"]))
        masks.append(
            rasterio.features.geometry_mask(
                [geom], out_shape=grid.shape[-2:], transform=grid.rio.transform(), invert=True
            )
        )
    return masks


def sample_cells(values: np.ndarray, transform, crs_values: str, grid: xr.DataArray) -> np.ndarray:
    """``values`` (a coarse lon/lat raster) at the pixel centres of ``grid``: the value of the
    cell that contains each centre (nearest-neighbour resampling)."""
    x, y = np.meshgrid(grid.x.values, grid.y.values)
    lon, lat = Transformer.from_crs(grid.rio.crs, crs_values, always_xy=True).transform(x, y)
    cols, rows = ~transform * (lon, lat)
    rows, cols = np.floor(rows).astype(int), np.floor(cols).astype(int)
    inside = (rows >= 0) & (rows < values.shape[0]) & (cols >= 0) & (cols < values.shape[1])
    out = np.full(x.shape, np.nan)
    out[inside] = values[rows[inside], cols[inside]]
    return out


def block_mean(values: xr.DataArray, factor: int) -> xr.DataArray:
    """Mean of ``factor`` x ``factor`` blocks (the coarse grid's cells)."""
    return values.coarsen(y=factor, x=factor).mean()


def _aligned_factor(fine: xr.DataArray, coarse: xr.DataArray) -> int:
    """How many fine pixels make one coarse cell; checks that the grids share their corner."""
    ft, ct = fine.rio.transform(), coarse.rio.transform()
    factor = round(ct.a / ft.a)
    assert np.isclose(ft.c, ct.c) and np.isclose(ft.f, ct.f), (ft, ct)
    assert fine.shape[-1] == coarse.shape[-1] * factor, (fine.shape, coarse.shape)
    return factor


# -- flood ---------------------------------------------------------------------------------------


def flood(catalog_dir: Path, regions: dict, window=FLOOD_WINDOW, chunks=None) -> np.ndarray:
    """Per district: flooded built-up area (m²), accumulated precipitation summed over the
    district's 100 m cells (mm) and the number of cells; shape (districts, 3)."""
    start, end = window
    flood_extent = stack(catalog_dir, "GFM_FLOOD", "flood_extent", start, end, chunks=chunks)
    built = single(catalog_dir, "GHSL_BUILT_S", "built_surface")
    # Ever flooded: the highest flood_extent code over the window is 1 (flooded).
    ever = (flood_extent.max("t") == 1).astype("float64")
    share = block_mean(ever, _aligned_factor(flood_extent, built))
    flooded_built = built.values * np.asarray(share)

    precipitation = stack(
        catalog_dir, "ERA5_LAND", "total_precipitation", start, end, region="pakistan"
    )
    total = precipitation.sum("t", skipna=True).values
    precipitation_at = sample_cells(
        total, precipitation.rio.transform(), str(precipitation.rio.crs), built
    )
    out = []
    for mask in region_masks(regions, built):
        out.append([np.nansum(flooded_built[mask]), np.nansum(precipitation_at[mask]), mask.sum()])
    return np.array(out, dtype="float64")


# -- drought -------------------------------------------------------------------------------------


def _monthly_means(cube: xr.DataArray, year: int) -> xr.DataArray:
    """(month 1..12, y, x) means of ``year``'s calendar months, NaN ignored."""
    months = []
    for month in range(1, 13):
        start = dt.datetime(year, month, 1)
        end = dt.datetime(year + (month == 12), month % 12 + 1, 1)
        sel = cube.sel(t=(cube.t >= np.datetime64(start)) & (cube.t < np.datetime64(end)))
        months.append(sel.mean("t", skipna=True))
    return xr.concat(months, dim="month")


def relative_anomaly(cube: xr.DataArray, year=DROUGHT_YEAR, reference=REFERENCE_YEARS):
    """(month, y, x): 100 * (monthly mean of ``year`` - normal) / normal, where the normal is
    the mean over ``reference`` years of the same month's mean."""
    normal = sum(_monthly_means(cube, ref) for ref in reference) / len(reference)
    return 100 * (_monthly_means(cube, year) - normal) / normal


def drought(
    catalog_dir: Path,
    regions: dict,
    year=DROUGHT_YEAR,
    reference=REFERENCE_YEARS,
    chunks=None,
) -> np.ndarray:
    """Per province, month of ``year`` and product (S1, ERA5): the mean relative soil-moisture
    anomaly (%) over agricultural 500 m cells; shape (provinces, 12, 2)."""
    start, end = f"{min(reference)}-01-01", f"{year + 1}-01-01"
    s1 = stack(catalog_dir, "S1_SSM", "ssm", start, end, chunks=chunks)
    s1_anomaly = np.asarray(relative_anomaly(s1, year, reference))
    grid = s1.isel(t=0)

    era5 = stack(catalog_dir, "ERA5_LAND", "soil_moisture", start, end, region="po_valley")
    era5_anomaly = relative_anomaly(era5, year, reference).values
    era5_at = np.stack(
        [
            sample_cells(month, era5.rio.transform(), str(era5.rio.crs), grid)
            for month in era5_anomaly
        ]
    )

    land_cover = single(catalog_dir, "CORINE_LAND_COVER", "land_cover")
    codes = land_cover.values.astype("int64")
    agricultural = xr.DataArray(((codes >= 200) & (codes < 300)).astype("float64"), dims=("y", "x"))
    factor = round(S1_RESOLUTION / abs(land_cover.rio.transform().a))
    share = np.asarray(block_mean(agricultural, factor))
    assert share.shape == grid.shape, (share.shape, grid.shape)
    keep = share >= AGRICULTURE_MIN_SHARE

    out = np.full((len(regions["features"]), 12, 2), np.nan)
    for i, mask in enumerate(region_masks(regions, grid)):
        cells = mask & keep
        for j, values in enumerate((s1_anomaly, era5_at)):
            picked = values[:, cells]
            with warnings.catch_warnings():
                # "Mean of empty slice": no valid cell in this province and month gives NaN.
                warnings.simplefilter("ignore", RuntimeWarning)
                out[i, :, j] = np.nanmean(picked, axis=1)
    return out
