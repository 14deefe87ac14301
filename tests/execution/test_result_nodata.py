"""Result files declare their no-data: NaN for floats, an integer cube's own nodata (and its
dtype kept) only when it has one; written by the real writers and read back with rasterio and
xarray."""

from __future__ import annotations

import math

import numpy as np
import pytest
import rasterio
import rioxarray  # noqa: F401 - the .rio accessor
import xarray as xr

from openeo_dedl.execution.save import write_result


def _cube(values: np.ndarray, **attrs) -> xr.DataArray:
    ny, nx = values.shape
    cube = xr.DataArray(
        values[np.newaxis],
        dims=("bands", "y", "x"),
        coords={"bands": ["b"], "y": 45.0 - 0.01 * np.arange(ny), "x": 10.0 + 0.01 * np.arange(nx)},
        attrs=attrs,
    )
    return cube.rio.write_crs("EPSG:4326")


@pytest.mark.parametrize(
    ("values", "attrs", "nodata"),
    [
        (np.array([[1.5, np.nan], [2.0, 3.0]], dtype=np.float32), {}, math.nan),
        (np.array([[1, 255], [0, 1]], dtype=np.uint8), {"nodata": 255}, 255),
        # An integer cube without a declared nodata holds no missing values: no tag.
        (np.array([[1, 7], [0, 1]], dtype=np.int64), {}, None),
    ],
)
def test_gtiff_and_netcdf_declare_the_results_nodata(tmp_path, values, attrs, nodata):
    cube = _cube(values, **attrs)
    tif = write_result(cube, "GTiff", tmp_path, "r")
    with rasterio.open(tif) as src:
        assert src.dtypes[0] == str(values.dtype)
        if nodata is None:
            assert src.nodata is None
        elif math.isnan(nodata):
            assert math.isnan(src.nodata)
        else:
            assert src.nodata == nodata
        valid = (
            values[np.isfinite(values)]
            if nodata is None or math.isnan(nodata)
            else values[values != nodata]
        )
        tags = src.tags(1)
        assert float(tags["STATISTICS_MINIMUM"]) == valid.min()
        assert float(tags["STATISTICS_MAXIMUM"]) == valid.max()
    nc = write_result(cube, "netCDF", tmp_path, "r")
    with xr.open_dataset(nc, mask_and_scale=False) as ds:
        var = ds["b"]
        assert var.dtype == values.dtype
        fill = var.attrs.get("_FillValue")
        if nodata is None:
            assert fill is None
        elif math.isnan(nodata):
            assert math.isnan(fill)
        else:
            assert fill == nodata
