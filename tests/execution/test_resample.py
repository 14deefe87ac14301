"""``resample_cube_spatial``'s block shortcut gives what odc-geo's reprojection gives."""

from __future__ import annotations

import dask.array as da
import numpy as np
import odc.geo.xr  # noqa: F401 - the .odc accessor
import openeo_processes_dask.process_implementations.cubes  # noqa: F401 - the .openeo accessor
import pytest
import xarray as xr
from affine import Affine
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_coords

from openeo_dedl.execution.processes.resample import aligned_blocks, resample_cube_spatial
from openeo_dedl.execution.registry import standard_implementation

CRS = "EPSG:32642"


def cube(values, geobox: GeoBox, times=None) -> xr.DataArray:
    dims = ("y", "x")
    coords = dict(xr_coords(geobox))
    if times is not None:
        dims = ("t", *dims)
        coords["t"] = times
    return xr.DataArray(values, dims=dims, coords=coords).odc.assign_crs(CRS)


def grid(shape, pixel, west=350_000.0, north=3_038_000.0) -> GeoBox:
    return GeoBox(shape, Affine(pixel, 0, west, 0, -pixel, north), CRS)


def source(dtype="float64", shape=(3, 40, 60), lazy=True):
    rng = np.random.default_rng(7)
    values = rng.random(shape).astype(dtype)
    values[rng.random(shape) < 0.2] = np.nan
    values[:, :5, :5] = np.nan  # an all-NaN 5x5 block
    if lazy:
        values = da.from_array(values, chunks=(1, 20, 30))
    return cube(values, grid(shape[1:], 20.0), times=np.arange(shape[0]))


@pytest.mark.parametrize("method", ["average", "min", "max"])
@pytest.mark.parametrize(
    "target_grid",
    [
        grid((8, 12), 100.0),  # the same extent, 5x5 blocks
        grid((6, 5), 60.0, west=350_120.0, north=3_037_900.0),  # a part, 3x3 blocks
        grid((10, 16), 100.0, west=349_800.0, north=3_038_300.0),  # beyond the source
        grid((4, 4), 40.0, west=352_000.0, north=3_000_000.0),  # wholly outside
    ],
)
def test_the_block_shortcut_equals_the_reprojection(method, target_grid):
    data = source()
    target = cube(np.zeros(target_grid.shape), target_grid)
    assert aligned_blocks(data, target) is not None
    ours = resample_cube_spatial(data, target, method=method)
    theirs = standard_implementation("resample_cube_spatial")(
        data=data, target=target, method=method
    )
    assert ours.dims == theirs.dims == data.dims
    assert ours.dtype == theirs.dtype
    for dim in ("y", "x"):
        np.testing.assert_allclose(ours[dim].values, target[dim].values)
    np.testing.assert_allclose(ours.values, theirs.values, rtol=1e-12, equal_nan=True)
    assert ours.rio.crs == target.rio.crs


def test_misaligned_or_integer_or_other_methods_take_the_general_path():
    data = source()
    shifted = grid((8, 12), 100.0, west=350_010.0)
    assert aligned_blocks(data, cube(np.zeros(shifted.shape), shifted)) is None
    fractional = grid((8, 12), 90.0)
    assert aligned_blocks(data, cube(np.zeros(fractional.shape), fractional)) is None
    other_crs = GeoBox((8, 12), Affine(100, 0, 350_000, 0, -100, 3_038_000), "EPSG:32643")
    target = xr.DataArray(np.zeros((8, 12)), dims=("y", "x"), coords=xr_coords(other_crs))
    assert aligned_blocks(data, target.odc.assign_crs("EPSG:32643")) is None

    # Integer cubes keep odc-geo's (dtype-preserving) result; near is GDAL's choice of pixel.
    flags = cube((np.arange(40 * 60).reshape(40, 60) % 3).astype("uint8"), grid((40, 60), 20.0))
    coarse = cube(np.zeros((8, 12)), grid((8, 12), 100.0))
    for data, method in [(flags, "average"), (source(), "near"), (source(), "bilinear")]:
        ours = resample_cube_spatial(data, coarse, method=method)
        theirs = standard_implementation("resample_cube_spatial")(
            data=data, target=coarse, method=method
        )
        assert ours.dtype == theirs.dtype
        np.testing.assert_array_equal(ours.values, theirs.values)
