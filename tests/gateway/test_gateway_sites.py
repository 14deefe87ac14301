"""Sites backed by real Dask Gateway servers, driven through the HTTP API by the openEO client."""

from __future__ import annotations

import json
import time

import openeo
import pytest
from openeo.rest import OpenEoApiError

from tests.e2e import scenarios
from tests.e2e.conftest import free_port, start_server, stop_server

pytestmark = pytest.mark.e2e


def sites_env(*site_configs: dict) -> dict:
    sites = list(site_configs)
    names = {s["name"] for s in sites}
    for name in ("central", "lumi", "leonardo"):
        if name not in names:
            sites.append({"name": name, "cluster": {"kind": "local", "workers": 1}})
    return {"OPENEO_DEDL_SITES": json.dumps(sites)}


def scheduler_task_prefixes(gateway_server) -> set[str]:
    """Task prefixes the running cluster of this gateway has seen, asked of its scheduler."""
    gateway = gateway_server.gateway()
    clusters = gateway.list_clusters()
    assert len(clusters) == 1, clusters
    cluster = gateway.connect(clusters[0].name, shutdown_on_close=False)
    client = cluster.get_client(set_as_default=False)
    try:
        # A lambda is pickled by value; the scheduler cannot import this test module.
        return set(
            client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.task_prefixes))
        )
    finally:
        client.close()
        cluster.close()
        gateway.close()


def wait_for(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.5)
    return False


def test_two_site_graph_runs_on_each_sites_gateway(
    gateways, demo_catalog_dir, tmp_path_factory, tmp_path
):
    data_dir = tmp_path_factory.mktemp("gateway-backend")
    proc, url, log = start_server(
        data_dir,
        demo_catalog_dir,
        **sites_env(gateways["central"].site_config(), gateways["lumi"].site_config()),
    )
    try:
        con = openeo.connect(url).authenticate_basic("demo", "demo")
        bbox, start, end = scenarios.flood_window(con)
        out = tmp_path / "flooded_precip.tif"
        scenarios.two_site_graph(con, bbox, start, end).download(out, format="GTiff")
        scenarios.check_two_site_result(out, demo_catalog_dir, bbox, start, end)

        # Each gateway's scheduler opened its own site's files (odc-loader's "open" tasks) and
        # ran that site's reduction: max of the flood at central, sum of ERA5 at lumi. The raw
        # flood data never reached lumi.
        seen = {site: scheduler_task_prefixes(gateways[site]) for site in ("central", "lumi")}
        for site, reduction in (("central", "nanmax"), ("lumi", "nansum")):
            assert "open" in seen[site], seen[site]
            assert any(p.startswith(reduction) for p in seen[site]), seen[site]
        assert any(p.startswith("flood_extent") for p in seen["central"]), seen["central"]
        assert not any("flood_extent" in p for p in seen["lumi"]), seen["lumi"]
    finally:
        stop_server(proc)
    # Stopping the backend shuts its clusters down: nothing leaks on the gateways.
    for site in ("central", "lumi"):
        gateway = gateways[site].gateway()
        try:
            assert wait_for(lambda g=gateway: not g.list_clusters()), f"{site} cluster leaked"
        finally:
            gateway.close()


def test_unreachable_gateway_fails_fast_naming_the_site(demo_catalog_dir, tmp_path_factory):
    dead = {
        "name": "lumi",
        "cluster": {
            "kind": "gateway",
            "address": f"http://127.0.0.1:{free_port()}",
            "auth": "none",
        },
    }
    proc, url, _ = start_server(
        tmp_path_factory.mktemp("dead-gateway"), demo_catalog_dir, **sites_env(dead)
    )
    try:
        con = openeo.connect(url).authenticate_basic("demo", "demo")
        cube = con.load_collection(
            "ERA5_LAND",
            spatial_extent={"west": 67, "south": 26, "east": 68, "north": 27},
            temporal_extent=["2022-08-20", "2022-08-25"],
            bands=["total_precipitation"],
        ).reduce_dimension(dimension="t", reducer="mean")
        started = time.monotonic()
        with pytest.raises(OpenEoApiError) as info:
            cube.download(format="netCDF")
        assert time.monotonic() - started < 60
        assert info.value.http_status_code == 503
        assert info.value.code == "SiteUnavailable"
        assert "lumi" in info.value.message
    finally:
        stop_server(proc)


def lumi_mean(con):
    return con.load_collection(
        "ERA5_LAND",
        spatial_extent={"west": 67, "south": 26, "east": 68, "north": 27},
        temporal_extent=["2022-08-20", "2022-08-25"],
        bands=["total_precipitation"],
    ).reduce_dimension(dimension="t", reducer="mean")


def active_clusters(gateway_server) -> list:
    gateway = gateway_server.gateway()
    try:
        return gateway.list_clusters()
    finally:
        gateway.close()


@pytest.mark.parametrize(
    ("policy_env", "wait"),
    [
        ({"OPENEO_DEDL_CLUSTER_POLICY": "per_job"}, 5.0),
        ({"OPENEO_DEDL_CLUSTER_IDLE_TIMEOUT_SECONDS": "2"}, 30.0),
    ],
    ids=["per_job", "shared_idle_timeout"],
)
def test_clusters_are_shut_down_while_the_server_runs(
    gateways, demo_catalog_dir, tmp_path_factory, tmp_path, policy_env, wait
):
    lumi = gateways["lumi"]
    assert wait_for(lambda: not active_clusters(lumi))
    proc, url, _ = start_server(
        tmp_path_factory.mktemp("policy"),
        demo_catalog_dir,
        **sites_env(lumi.site_config()),
        **policy_env,
    )
    try:
        con = openeo.connect(url).authenticate_basic("demo", "demo")
        lumi_mean(con).download(tmp_path / "mean.nc", format="netCDF")
        assert wait_for(lambda: not active_clusters(lumi), timeout=wait), "cluster still running"
        # A run that fails after its cluster started (GTiff needs x and y) closes it as well.
        with pytest.raises(OpenEoApiError):
            lumi_mean(con).reduce_dimension(dimension="x", reducer="mean").download(
                tmp_path / "bad.tif", format="GTiff"
            )
        assert wait_for(lambda: not active_clusters(lumi), timeout=wait), "cluster leaked"
    finally:
        stop_server(proc)
