"""The real server driven by the real openEO Python client, checked against direct xarray."""

from __future__ import annotations

import json

import numpy as np
import pytest
import requests
import rioxarray
import xarray as xr

from tests.e2e import scenarios

pytestmark = pytest.mark.e2e

DEMO_COLLECTIONS = {
    "GFM_FLOOD": "central",
    "GHSL_BUILT_S": "central",
    "ERA5_LAND": "lumi",
    "S1_SSM": "leonardo",
    "CORINE_LAND_COVER": "central",
}


def test_discovery(versioned_connection):
    connection = versioned_connection
    ids = connection.list_collection_ids()
    assert set(DEMO_COLLECTIONS) <= set(ids)
    for cid, site in DEMO_COLLECTIONS.items():
        meta = connection.describe_collection(cid)
        assert meta["summaries"]["federation:backends"] == [site]
        dims = meta["cube:dimensions"]
        assert {"x", "y", "t", "bands"} <= set(dims)
    processes = {p["id"] for p in connection.list_processes()}
    assert {"load_collection", "save_result", "reduce_dimension", "mask"} <= processes
    assert "run_udf" not in processes
    capabilities = connection.capabilities().capabilities
    assert {b for b in capabilities["federation"]} == {"central", "lumi", "leonardo"}


@pytest.fixture(scope="module")
def pakistan_window(connection):
    return scenarios.flood_window(connection)


@pytest.mark.parametrize("fmt", ["GTiff", "netCDF"])
def test_single_site_mean_over_time(connection, demo_catalog_dir, pakistan_window, tmp_path, fmt):
    _, start, end = pakistan_window
    # ERA5's Pakistan box (0.1° cells): wide enough for a grid of several cells.
    era5 = connection.describe_collection("ERA5_LAND")
    pakistan = min(era5["extent"]["spatial"]["bbox"][1:], key=lambda b: abs(b[0] - 68))
    bbox = scenarios.inner_bbox(pakistan, 0.5)
    # Narrow again with filter_bbox and filter_temporal after loading.
    load_bbox = {k: v for k, v in bbox.items()}
    cube = connection.load_collection(
        "ERA5_LAND",
        spatial_extent=load_bbox,
        temporal_extent=[start, end],
        bands=["total_precipitation"],
    )
    cube = cube.filter_bbox(**bbox).filter_temporal([start, end])
    cube = cube.reduce_dimension(dimension="t", reducer="mean")
    out = tmp_path / ("mean." + ("tif" if fmt == "GTiff" else "nc"))
    cube.download(out, format=fmt)

    if fmt == "GTiff":
        got = rioxarray.open_rasterio(out, masked=True).isel(band=0)
    else:
        got = xr.open_dataset(out)["total_precipitation"]
    assert got.sizes["x"] >= 1 and got.sizes["y"] >= 1

    stack = scenarios.era5_precipitation(demo_catalog_dir, bbox, start, end)
    expected = stack.mean("t").sel(x=got.x, y=got.y, method="nearest")
    np.testing.assert_allclose(got.values, expected.values, rtol=1e-5, equal_nan=True)
    # The result stays inside the requested box (give or take one pixel).
    res = abs(float(stack.x[1] - stack.x[0]))
    assert float(got.x.min()) >= bbox["west"] - res and float(got.x.max()) <= bbox["east"] + res


def test_two_site_graph(versioned_connection, demo_catalog_dir, pakistan_window, tmp_path):
    bbox, start, end = pakistan_window
    out = tmp_path / "flooded_precip.tif"
    graph = scenarios.two_site_graph(versioned_connection, bbox, start, end)
    graph.download(out, format="GTiff")
    scenarios.check_two_site_result(out, demo_catalog_dir, bbox, start, end)


def test_only_reduced_data_crosses_sites(server, connection, demo_catalog_dir, pakistan_window):
    bbox, start, end = pakistan_window
    graph = scenarios.two_site_graph(connection, bbox, start, end).save_result("GTiff")
    token = connection.auth.bearer
    resp = requests.post(
        f"{server}/openeo/1.2/result",
        json={"process": {"process_graph": graph.flat_graph()}},
        headers={"Authorization": f"Bearer {token}"},
        timeout=300,
    )
    assert resp.status_code == 200, resp.text
    usage = resp.headers.get("OpenEO-DEDL-Usage")
    assert usage, "the sync response reports its usage"
    usage = json.loads(usage)
    moved = usage["cross_site_bytes"]["value"]
    transfers = usage["transfers"]
    assert [(t["from_site"], t["to_site"]) for t in transfers] == [("lumi", "central")]
    # The ERA5 cube as loaded (all days, float32) is far larger than its sum over time.
    raw = scenarios.era5_precipitation(demo_catalog_dir, bbox, start, end)
    assert moved > 0
    assert moved * 5 <= raw.size * 4
