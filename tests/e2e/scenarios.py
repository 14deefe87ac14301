"""Process graphs shared by several end-to-end tests, with their direct-xarray checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rioxarray

from tests.e2e import direct


def inner_bbox(bbox, fraction=0.5) -> dict:
    """The central ``fraction`` of a WGS84 bbox."""
    w, s, e, n = bbox
    dx, dy = (e - w) * (1 - fraction) / 2, (n - s) * (1 - fraction) / 2
    return {"west": w + dx, "south": s + dy, "east": e - dx, "north": n - dy}


def flood_window(connection) -> tuple[dict, str, str]:
    """A bbox inside the flood AOI and the flood's time window, read from the catalog."""
    flood = connection.describe_collection("GFM_FLOOD")
    bbox = inner_bbox(flood["extent"]["spatial"]["bbox"][0], 0.6)
    start, end = flood["extent"]["temporal"]["interval"][0]
    return bbox, start[:10], end[:10]


def era5_precipitation(demo_catalog_dir: Path, bbox: dict, start: str, end: str):
    """ERA5 daily precipitation over ``bbox`` and [start, end), read directly from the COGs."""
    box = (bbox["west"], bbox["south"], bbox["east"], bbox["north"])
    return direct.band_stack(demo_catalog_dir, "ERA5_LAND", "total_precipitation", start, end, box)


def grown(bbox: dict, margin: float) -> dict:
    """``bbox`` grown by ``margin`` degrees on every side."""
    return {
        "west": bbox["west"] - margin,
        "south": bbox["south"] - margin,
        "east": bbox["east"] + margin,
        "north": bbox["north"] + margin,
    }


# Half an ERA5 cell: a box grown by it holds the centre of every 0.1° cell the box touches (a
# load selects the pixels whose centre is in its extent).
ERA5_HALF_CELL = 0.05


def two_site_graph(connection, bbox, start, end):
    """Flooded areas' accumulated precipitation: ERA5 summed at lumi, masked at central."""
    flood = connection.load_collection(
        "GFM_FLOOD", spatial_extent=bbox, temporal_extent=[start, end], bands=["flood_extent"]
    ).reduce_dimension(dimension="t", reducer="max")
    precip = connection.load_collection(
        "ERA5_LAND",
        spatial_extent=grown(bbox, ERA5_HALF_CELL),
        temporal_extent=[start, end],
        bands=["total_precipitation"],
    ).reduce_dimension(dimension="t", reducer="sum")
    on_flood_grid = precip.resample_cube_spatial(target=flood, method="near")
    not_flooded = flood.apply(lambda x: x == 0)
    return on_flood_grid.mask(not_flooded)


def check_two_site_result(out: Path, demo_catalog_dir: Path, bbox: dict, start: str, end: str):
    """The downloaded GTiff equals ERA5's precipitation sum on flooded pixels, NaN elsewhere."""
    got = rioxarray.open_rasterio(out, masked=True).isel(band=0)

    precip_sum = era5_precipitation(demo_catalog_dir, bbox, start, end).sum("t")
    precip_sum = precip_sum.rio.write_crs("EPSG:4326")
    flood_max = direct.band_stack(demo_catalog_dir, "GFM_FLOOD", "flood_extent", start, end).max(
        "t"
    )
    crs = str(got.rio.crs)
    # 20 m pixels in ~10 km ERA5 cells: skip the ones straddling a cell border.
    expected = direct.values_at(precip_sum, got.x.values, got.y.values, crs, edge=0.003)
    flood_at = flood_max.sel(x=got.x, y=got.y, method="nearest").values
    expected = np.where(flood_at == 1, expected, np.nan)
    checked = np.isfinite(expected) | (flood_at != 1)
    assert checked.mean() > 0.95
    assert np.isfinite(got.values).any(), "some pixels must be flooded"
    np.testing.assert_allclose(got.values[checked], expected[checked], rtol=1e-5, equal_nan=True)
    # Pixels that are not flooded are masked, flooded ones are not.
    assert np.isnan(got.values[flood_at != 1]).all()
    assert np.isfinite(got.values[flood_at == 1]).all()
