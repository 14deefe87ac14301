"""load_stac against a real server with the openeo client: a configured catalog's collection,
one of its items (as load_collection within the item's day), its root catalog (refused, naming
the collections), a finished batch job's results (values equal the job's), and the URLs it
refuses (400 within a second, before any connection)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import openeo
import pytest
import requests
import rioxarray
import xarray as xr

from tests.security.conftest import listener, wait_briefly  # noqa: F401 - the fixture
from tests.support.servers import running_server
from tests.support.users import USERS, login_url, user_configs

API = "/openeo/1.2"
S2 = "SENTINEL2_L2A"
BANDS = ["B04", "B08"]
# Four time steps, at two sites (the items of "bolzano" and "bolzano_north" are elsewhere).
DAYS = ["2022-06-01", "2022-06-16"]


@pytest.fixture(scope="module")
def server(tmp_path_factory, demo_catalog_dir):
    users = json.dumps([u.model_dump() for u in user_configs()])
    with running_server(
        tmp_path_factory.mktemp("load-stac"), demo_catalog_dir, OPENEO_DEDL_USERS=users
    ) as url:
        yield url


@pytest.fixture(scope="module")
def alice(server):
    return openeo.connect(server).authenticate_basic("alice", USERS["alice"])


@pytest.fixture(scope="module")
def bob(server):
    return openeo.connect(server).authenticate_basic("bob", USERS["bob"])


def _netcdf(cube, path: Path) -> xr.Dataset:
    cube.download(path, format="netCDF")
    ds = xr.open_dataset(path, engine="netcdf4").load()
    return ds.drop_vars([v for v in ("spatial_ref",) if v in ds.variables])


def test_a_configured_static_catalogs_collection_loads_as_load_collection(
    alice, demo_catalog_dir, tmp_path
):
    url = str(demo_catalog_dir / S2 / "collection.json")
    by_stac = alice.load_stac(url, temporal_extent=DAYS, bands=BANDS)
    by_id = alice.load_collection(S2, temporal_extent=DAYS, bands=BANDS)
    a, b = _netcdf(by_stac, tmp_path / "a.nc"), _netcdf(by_id, tmp_path / "b.nc")
    assert sorted(a.data_vars) == BANDS
    for band in BANDS:
        assert a[band].shape == b[band].shape and a[band].size > 0
        np.testing.assert_array_equal(a[band].values, b[band].values)
    # The planner places it where its items are: the same plan as load_collection's.
    plans = [alice.validate_process_graph(c.flat_graph()) for c in (by_stac, by_id)]
    assert plans[0] == plans[1] == []
    loads = [_plan(alice, c)["loads"] for c in (by_stac, by_id)]
    assert [{**load, "node": None} for load in loads[0]] == [
        {**load, "node": None} for load in loads[1]
    ]
    # ERA5's items are at lumi: a load_stac of it runs there.
    era5 = alice.load_stac(str(demo_catalog_dir / "ERA5_LAND" / "collection.json"))
    assert [load["site"] for load in _plan(alice, era5)["loads"]] == ["lumi"]


def test_an_item_of_a_configured_catalog_loads_as_load_collection_within_its_day(
    alice, server, demo_catalog_dir, tmp_path
):
    item = "S1_SSM_po_valley_20200104"
    url = str(demo_catalog_dir / "S1_SSM" / item / f"{item}.json")
    by_stac = alice.load_stac(url)
    by_id = alice.load_collection("S1_SSM", temporal_extent=["2020-01-04", "2020-01-05"])
    a, b = _netcdf(by_stac, tmp_path / "a.nc"), _netcdf(by_id, tmp_path / "b.nc")
    assert list(a.data_vars) == list(b.data_vars) == ["ssm"]
    assert a["ssm"].shape == b["ssm"].shape and a.sizes["t"] == 1
    np.testing.assert_array_equal(a["ssm"].values, b["ssm"].values)
    assert np.isfinite(a["ssm"].values).any()
    # S1_SSM's items are at leonardo: the item is read there.
    assert [load["site"] for load in _plan(alice, by_stac)["loads"]] == ["leonardo"]
    # The root catalog holds six collections: refused, naming them, before any run.
    status, error, _ = _refusal(
        server, login_url(server, "alice"), str(demo_catalog_dir / "catalog.json"), "/result"
    )
    assert (status, error["code"]) == (400, "ProcessParameterInvalid")
    for cid in ("S1_SSM", "ERA5_LAND", S2):
        assert f"'{cid}' ({demo_catalog_dir / cid / 'collection.json'})" in error["message"]


def _plan(connection, cube) -> dict:
    body = {"process_graph": cube.flat_graph()}
    resp = connection.post("/validation", json=body, expected_status=200).json()
    return resp["openeo-dedl:plan"]


@pytest.fixture(scope="module")
def finished_job(alice):
    """alice's batch job keeping time steps and bands (a GTiff of <time>|<band> bands)."""
    cube = alice.load_collection(S2, temporal_extent=DAYS, bands=BANDS)
    job = cube.create_job(out_format="GTiff", title="scenario base")
    job.start_and_wait(max_poll_interval=0.5, print=lambda *a, **k: None)
    return job


def test_a_finished_jobs_results_become_a_cube_again(alice, server, finished_job, tmp_path):
    [asset] = finished_job.get_results().get_assets()
    tif = asset.download(tmp_path / "job.tif")
    original = rioxarray.open_rasterio(tif).load()
    names = list(original.attrs["long_name"])
    url = f"{server}{API}/jobs/{finished_job.job_id}/results"
    loaded = _netcdf(alice.load_stac(url), tmp_path / "again.nc")
    assert sorted(loaded.data_vars) == BANDS
    times = list(dict.fromkeys(n.split("|")[0] for n in names))
    assert loaded.sizes["t"] == len(times) > 1
    for i, name in enumerate(names):
        when, band = name.split("|")
        np.testing.assert_array_equal(loaded[band].values[times.index(when)], original.values[i])
    # The signed canonical URL (the client's choice) names the same results; bands and a
    # time extent select.
    part = alice.load_stac_from_job(
        finished_job, bands=["B08"], temporal_extent=[times[1], "2022-06-16"]
    )
    assert "/download/" in part.flat_graph()["loadstac1"]["arguments"]["url"]
    part = _netcdf(part, tmp_path / "part.nc")
    assert list(part.data_vars) == ["B08"] and part.sizes["t"] == len(times) - 1
    np.testing.assert_array_equal(part["B08"].values, loaded["B08"].values[1:])
    # The job's results are read at the site where the job delivered them.
    plan = _plan(alice, alice.load_stac(url))
    assert [load["site"] for load in plan["loads"]] == ["central"]


def _refusal(server, headers, url: str, endpoint: str) -> tuple[int, dict, float]:
    graph = {
        "l": {"process_id": "load_stac", "arguments": {"url": url}},
        "s": {
            "process_id": "save_result",
            "arguments": {"data": {"from_node": "l"}, "format": "netCDF"},
            "result": True,
        },
    }
    body = (
        {"process_graph": graph}
        if endpoint == "/validation"
        else {"process": {"process_graph": graph}}
    )
    start = time.monotonic()
    resp = requests.post(f"{server}{API}{endpoint}", json=body, headers=headers, timeout=30)
    elapsed = time.monotonic() - start
    if endpoint == "/validation":
        assert resp.status_code == 200, resp.text
        [error] = resp.json()["errors"]
        return 400, error, elapsed
    return resp.status_code, resp.json(), elapsed


@pytest.mark.serial  # bounds wall-clock time: runs alone, after the others
def test_urls_it_does_not_allow_are_refused_at_once_and_never_opened(
    server,
    finished_job,
    listener,  # noqa: F811 - the fixture
):
    bob = login_url(server, "bob")
    refused = [
        f"{listener.base}/collection.json",
        f"http://localhost:{listener.port}/stac/collections/x",
        "file:///etc/passwd",
        "/etc/passwd",
        "http://10.1.2.3/stac/collections/S2",
        "https://192.168.0.1/catalog.json",
    ]
    not_yours = [
        f"{server}{API}/jobs/{finished_job.job_id}/results",  # alice's job
        f"{server}{API}/jobs/0123456789abcdef/results",  # no such job
    ]
    messages = {}
    for url in refused + not_yours:
        for endpoint in ("/validation", "/result", "/jobs"):
            status, error, elapsed = _refusal(server, bob, url, endpoint)
            assert status == 400, (url, endpoint, error)
            assert error["code"] == "ProcessParameterInvalid", (url, error)
            assert elapsed < 1.0, (url, endpoint, elapsed)
            messages.setdefault(url, set()).add(
                error["message"]
                .replace(finished_job.job_id, "<id>")
                .replace("0123456789abcdef", "<id>")
            )
    # Another user's job and a job that does not exist answer alike.
    assert messages[not_yours[0]] == messages[not_yours[1]]
    assert len({m for url in refused for m in messages[url]}) == 1
    wait_briefly()
    assert listener.connections == 0
