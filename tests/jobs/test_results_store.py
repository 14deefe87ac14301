"""Result files on fsspec stores, and what is read from them for the STAC assets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rasterio
import rioxarray  # noqa: F401 - .rio accessor
import xarray as xr

from openeo_dedl.config import Settings
from openeo_dedl.execution.save import write_result
from openeo_dedl.jobs.results import ResultStore, describe_file


@pytest.fixture(params=["local", "memory"])
def store(request, tmp_path) -> ResultStore:
    url = None if request.param == "local" else f"memory://results-{tmp_path.name}"
    return ResultStore(Settings(data_dir=tmp_path, jobs={"results_url": url}))


def test_publish_read_and_delete(store, tmp_path):
    local = tmp_path / "result.json"
    local.write_bytes(b"[1, 2, 3]" * 200_000)
    assert store.publish("j-1", local, "result.json") == local.stat().st_size
    assert store.exists("j-1", "result.json") and store.size("j-1", "result.json") == 1_800_000
    assert b"".join(store.read_chunks("j-1", "result.json")) == local.read_bytes()
    store.delete("j-1")
    assert not store.exists("j-1", "result.json")
    store.delete("j-1")  # nothing left: no error


@pytest.mark.parametrize("name", ["../secret", "a/b.tif", ".hidden", "", "x" * 200, "a..b"])
def test_names_that_could_leave_the_job_folder_are_refused(store, name):
    with pytest.raises(ValueError):
        store.path("j-1", name)


def test_the_default_store_is_under_the_data_dir(tmp_path):
    store = ResultStore(Settings(data_dir=tmp_path))
    assert store.path("j-1", "result.tif") == f"{(tmp_path / 'results').resolve()}/j-1/result.tif"


def _cube() -> xr.DataArray:
    cube = xr.DataArray(
        np.arange(2 * 3 * 4, dtype="float32").reshape(2, 3, 4),
        dims=("t", "y", "x"),
        coords={
            "t": pd.to_datetime(["2022-08-11", "2022-09-16"]),
            "y": [4_990_250.0, 4_989_750.0, 4_989_250.0],
            "x": [600_250.0, 600_750.0, 601_250.0, 601_750.0],
        },
    )
    return cube.rio.write_crs("EPSG:32632")


def test_netcdf_description_has_projection_bbox_and_time_range(tmp_path):
    path = write_result(_cube(), "netCDF", tmp_path)
    info = describe_file(path, "application/netcdf")
    assert info["proj"]["epsg"] == 32632
    assert info["proj"]["shape"] == [3, 4]
    assert info["proj"]["bbox"] == [600_000.0, 4_989_000.0, 602_000.0, 4_990_500.0]
    west, south, east, north = info["bbox_wgs84"]
    assert 10.2 < west < east < 10.4 and 45.0 < south < north < 45.1
    assert info["start"] == "2022-08-11T00:00:00Z" and info["end"] == "2022-09-16T00:00:00Z"


def test_geotiff_description(tmp_path):
    path = write_result(_cube().isel(t=0, drop=True), "GTiff", tmp_path)
    info = describe_file(path, "image/tiff; application=geotiff")
    assert info["proj"]["epsg"] == 32632 and info["proj"]["shape"] == [3, 4]
    assert info["proj"]["transform"] == [500.0, 0.0, 600_000.0, 0.0, -500.0, 4_990_500.0]


def test_geotiff_bands_are_named_by_the_cube_labels(tmp_path):
    cube = xr.concat([_cube(), _cube() * 2], dim="bands").assign_coords(bands=["ssm", "vv"])
    cube = cube.transpose("bands", "t", "y", "x").rio.write_crs("EPSG:32632")
    for name, value, expected in [
        ("bands", cube.isel(t=0, drop=True), ["ssm", "vv"]),
        ("one", cube.isel(t=0, drop=True).sel(bands=["vv"]), ["vv"]),
        (
            "time",
            cube.sel(bands="ssm", drop=True),
            ["2022-08-11T00:00:00Z", "2022-09-16T00:00:00Z"],
        ),
        ("both", cube.isel(t=[0]), ["2022-08-11T00:00:00Z|ssm", "2022-08-11T00:00:00Z|vv"]),
        ("named", cube.isel(t=0, drop=True).rename("a name"), ["ssm", "vv"]),
        ("plain", _cube().isel(t=0, drop=True), ["data"]),
    ]:
        path = write_result(value, "GTiff", tmp_path / name)
        with rasterio.open(path) as src:
            assert list(src.descriptions) == expected, name
        assert describe_file(path, "image/tiff; application=geotiff")["bands"] == expected


def test_unreadable_files_are_described_by_type_only(tmp_path):
    path = tmp_path / "broken.tif"
    path.write_bytes(b"not a tiff")
    assert describe_file(path, "image/tiff") == {"type": "image/tiff"}
