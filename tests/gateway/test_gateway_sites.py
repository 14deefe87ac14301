"""Sites backed by real Dask Gateway servers, driven through the HTTP API by the openEO client."""

from __future__ import annotations

import json
import time

import openeo
import pytest
from openeo.rest import OpenEoApiError

from openeo_dedl.execution.clusters import forget_gateway_loop
from tests.e2e import scenarios
from tests.gateway.conftest import start_gateway
from tests.support.graphs import slow_graph
from tests.support.servers import free_port, start_server, stop_server
from tests.support.waiting import wait_until as wait_for

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
        forget_gateway_loop(cluster.gateway)
        gateway.close()


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
        cube = scenarios.two_site_graph(con, bbox, start, end).save_result("GTiff")
        response = con.post(
            "/result", json={"process": {"process_graph": cube.flat_graph()}}, expected_status=200
        )
        out.write_bytes(response.content)
        scenarios.check_two_site_result(out, demo_catalog_dir, bbox, start, end)

        # Only lumi's reduced ERA5 crossed sites, metered: far fewer bytes than lumi read.
        usage = json.loads(response.headers["OpenEO-DEDL-Usage"])
        moved = usage["cross_site_bytes"]["value"]
        raw_era5 = scenarios.era5_precipitation(demo_catalog_dir, bbox, start, end).nbytes
        assert [(t["from_site"], t["to_site"]) for t in usage["transfers"]] == [("lumi", "central")]
        assert all(t["seconds"] >= 0 for t in usage["transfers"])
        assert 0 < moved < raw_era5 / 10, (moved, raw_era5)

        # Each gateway's scheduler opened its own site's files (odc-loader's "open" tasks) and
        # ran that site's work: the flood at central, the ERA5 sum at lumi. The raw flood data
        # never reached lumi. (Dask fuses whole-chunk chains into one task named after some of
        # its steps, e.g. "getitem-nansum-stack-sum-aggregate": names are matched inside.)
        seen = {site: scheduler_task_prefixes(gateways[site]) for site in ("central", "lumi")}
        assert "open" in seen["central"] and "open" in seen["lumi"], seen
        assert any("nansum" in p for p in seen["lumi"]), seen["lumi"]
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


@pytest.fixture
def own_gateway(tmp_path_factory):
    """A gateway of this test alone (it may stop it), for site lumi."""
    server = start_gateway("lumi", tmp_path_factory.mktemp("gateway-own"))
    yield server
    server.stop()


def ssm_mean(con):
    return con.load_collection(
        "S1_SSM",
        spatial_extent={"west": 9.5, "south": 44.9, "east": 10.5, "north": 45.3},
        temporal_extent=["2020-01-01", "2020-02-01"],
        bands=["ssm"],
    ).reduce_dimension(dimension="t", reducer="mean")


def test_a_gateway_that_stops_or_refuses_the_password_gives_a_clear_error(
    own_gateway, gateways, demo_catalog_dir, tmp_path_factory, tmp_path
):
    # leonardo's site points at a running gateway with a wrong password.
    wrong_password = {**gateways["lumi"].site_config(), "name": "leonardo"}
    wrong_password["cluster"] = {**wrong_password["cluster"], "password": "wrong"}
    proc, url, _ = start_server(
        tmp_path_factory.mktemp("stopping-gateway"),
        demo_catalog_dir,
        **sites_env(own_gateway.site_config(), wrong_password),
    )
    try:
        con = openeo.connect(url).authenticate_basic("demo", "demo")
        lumi_mean(con).download(tmp_path / "before.nc", format="netCDF")
        assert len(active_clusters(own_gateway)) == 1  # the user's shared cluster at lumi

        own_gateway.stop()  # the site's gateway goes away (and its clusters with it)
        started = time.monotonic()
        with pytest.raises(OpenEoApiError) as info:
            lumi_mean(con).download(tmp_path / "after.nc", format="netCDF")
        assert time.monotonic() - started < 60
        assert info.value.http_status_code == 503
        assert info.value.code == "SiteUnavailable"
        assert "Site 'lumi' is unavailable" in info.value.message, info.value.message

        # Refused credentials are the operator's to fix, not an outage of the site.
        with pytest.raises(OpenEoApiError) as info:
            ssm_mean(con).download(tmp_path / "ssm.nc", format="netCDF")
        assert info.value.http_status_code == 500
        assert info.value.code == "SiteMisconfigured"
        assert "Site 'leonardo' is misconfigured" in info.value.message, info.value.message
        assert "credentials" in info.value.message
    finally:
        stop_server(proc)


def test_canceling_a_batch_job_shuts_its_per_job_clusters_down(
    gateways, demo_catalog_dir, tmp_path_factory
):
    lumi = gateways["lumi"]
    assert wait_for(lambda: not active_clusters(lumi))
    # S1_SSM lives at leonardo: that site runs on the lumi test gateway here.
    leonardo = {**lumi.site_config(), "name": "leonardo"}
    proc, url, _ = start_server(
        tmp_path_factory.mktemp("cancel-per-job"),
        demo_catalog_dir,
        **sites_env(leonardo),
        OPENEO_DEDL_CLUSTER_POLICY="per_job",
    )
    try:
        con = openeo.connect(url).authenticate_basic("demo", "demo")
        job = con.create_job(slow_graph(), log_level="debug")
        job.start()
        deadline = time.monotonic() + 180
        while not any("is computing node" in e["message"] for e in job.logs()):
            assert time.monotonic() < deadline, job.logs()
            time.sleep(0.3)
        assert len(active_clusters(lumi)) == 1
        job.stop()
        assert wait_for(lambda: not active_clusters(lumi), timeout=30), "cluster left running"
        assert job.status() == "canceled"
    finally:
        stop_server(proc)
