"""Our ``aggregate_spatial`` gives what openeo-processes-dask's (xvec's ``iterate``) gives."""

from __future__ import annotations

import dask.array as da
import geopandas as gpd
import joblib
import numpy as np
import odc.geo.xr  # noqa: F401 - the .odc accessor
import openeo_processes_dask.process_implementations.cubes  # noqa: F401 - the .openeo accessor
import pytest
import shapely.geometry
import xarray as xr
from affine import Affine
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_coords
from openeo_processes_dask.process_implementations.cubes.aggregate import (
    aggregate_spatial as upstream,
)

from openeo_dedl.errors import OpenEOError
from openeo_dedl.execution.processes.vector import aggregate_spatial
from openeo_dedl.execution.registry import standard_implementation

CRS = "EPSG:32642"
GRID = GeoBox((30, 40), Affine(100, 0, 350_000, 0, -100, 3_038_000), CRS)


def _callback(process_id: str):
    """The reducer as a process graph callback receives it (xarray's reduce passes the axes)."""
    impl = standard_implementation(process_id)

    def reducer(data, axis=None, positional_parameters=None, **_):
        return impl(data=data, axis=axis)

    return reducer


openeo_sum, openeo_max = _callback("sum"), _callback("max")


def cube() -> xr.DataArray:
    rng = np.random.default_rng(3)
    values = rng.random((2, 3, 30, 40))
    values[rng.random(values.shape) < 0.1] = np.nan
    return xr.DataArray(
        da.from_array(values, chunks=(1, 3, 15, 20)),
        dims=("t", "bands", "y", "x"),
        coords={"t": [0, 1], "bands": ["a", "b", "c"], **xr_coords(GRID)},
    ).odc.assign_crs(CRS)


def box(west, south, east, north):
    return shapely.geometry.box(
        350_000 + west * 100, 3_038_000 - north * 100, 350_000 + east * 100, 3_038_000 - south * 100
    )


def regions() -> dict:
    """In the cube's CRS: overlapping boxes, a box with a hole, a box outside the grid."""
    holed = box(20, 2, 38, 25).difference(box(25, 8, 30, 15))
    geoms = [box(0, 0, 10, 10), box(5, 5, 25, 20), holed, box(100, 100, 110, 110)]
    frame = gpd.GeoDataFrame(geometry=geoms, crs=CRS).to_crs("EPSG:4326")
    return frame.__geo_interface__


@pytest.mark.parametrize("reducer", [openeo_sum, openeo_max], ids=["sum", "max"])
def test_our_aggregate_spatial_equals_xvecs(reducer):
    data, geometries = cube(), regions()
    ours = aggregate_spatial(data, geometries, reducer)
    with joblib.parallel_config(backend="sequential"):
        theirs = upstream(data=data, geometries=geometries, reducer=reducer)
    assert ours.dims == theirs.dims
    assert ours.shape == theirs.shape == (4, 2, 3)
    assert list(ours.geometry.values) == list(theirs.geometry.values)
    values = ours.values
    np.testing.assert_allclose(values, theirs.values, rtol=1e-12, equal_nan=True)
    assert np.isfinite(values[:3]).all()  # the region outside: nothing (sum 0, max NaN)
    assert not np.allclose(values[0], values[1])  # the regions really differ


def test_geometries_in_another_crs_and_bad_input():
    data = cube()
    frame = gpd.GeoDataFrame(geometry=[box(0, 0, 10, 10)], crs=CRS)
    ours = aggregate_spatial(data, frame, openeo_sum)
    expected = data.isel(y=slice(0, 10), x=slice(0, 10)).sum(dim=("y", "x"))
    np.testing.assert_allclose(ours.values[0], expected.values)

    with pytest.raises(OpenEOError) as caught:
        aggregate_spatial(
            data, {**regions(), "crs": {"properties": {"name": "EPSG:nope"}}}, openeo_sum
        )
    assert caught.value.code == "ProcessParameterInvalid"
    with pytest.raises(OpenEOError) as caught:
        aggregate_spatial(data.isel(x=0, drop=True), regions(), openeo_sum)
    assert caught.value.code == "DimensionMissing"
