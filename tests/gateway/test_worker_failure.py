"""A worker of a site's Gateway cluster dies in the middle of a partition: Dask reruns its
tasks on the other worker and the job still gives the right answer."""

from __future__ import annotations

import os
import signal
import threading

import numpy as np
import openeo
import pytest
import xarray as xr

from openeo_dedl.execution.clusters import forget_gateway_loop
from tests.e2e import scenarios
from tests.gateway.test_gateway_sites import active_clusters, sites_env, wait_for
from tests.support.servers import start_server, stop_server
from tests.support.waiting import wait_for_value

pytestmark = pytest.mark.e2e

BBOX = {"west": 65.0, "south": 24.0, "east": 71.0, "north": 30.0}
WINDOW = ("2020-01-01", "2023-01-01")


def era5_sum(con):
    return con.load_collection(
        "ERA5_LAND",
        spatial_extent=BBOX,
        temporal_extent=list(WINDOW),
        bands=["total_precipitation"],
    ).reduce_dimension(dimension="t", reducer="sum")


def connect_to_site_cluster(gateway_server):
    gateway = gateway_server.gateway()
    clusters = gateway.list_clusters()
    assert len(clusters) == 1, clusters
    cluster = gateway.connect(clusters[0].name, shutdown_on_close=False)
    return gateway, cluster, cluster.get_client(set_as_default=False)


def test_worker_killed_mid_partition_is_retried(
    gateways, demo_catalog_dir, tmp_path_factory, tmp_path
):
    lumi = gateways["lumi"]
    assert wait_for(lambda: not active_clusters(lumi))
    two_workers = lumi.site_config()
    two_workers["cluster"]["workers"] = 2
    proc, url, log = start_server(
        tmp_path_factory.mktemp("worker-failure"), demo_catalog_dir, **sites_env(two_workers)
    )
    gateway = cluster = client = None
    try:
        con = openeo.connect(url).authenticate_basic("demo", "demo")
        # A first run starts lumi's cluster (shared policy: it stays up for the next run).
        era5_sum(con).filter_bbox(**{**BBOX, "east": 66.0}).download(
            tmp_path / "warm-up.nc", format="netCDF"
        )
        gateway, cluster, client = connect_to_site_cluster(lumi)
        client.wait_for_workers(2, timeout=60)
        pids = client.run(os.getpid)

        out = tmp_path / "sum.nc"
        failure: list[BaseException] = []

        def run() -> None:
            try:
                era5_sum(con).download(out, format="netCDF")
            except BaseException as exc:  # reported by the main thread
                failure.append(exc)

        def busy_workers() -> dict[str, int]:
            return {w: len(t) for w, t in client.processing().items() if t and w in pids}

        # The first worker given tasks of the run dies with them in flight; Dask must run them
        # on the other. (A worker chosen beforehand was sometimes given no task at all.) On a
        # busy machine a whole run can pass between two looks at the scheduler: a run in
        # which no task was seen in flight tests nothing, so it is run again (three times).
        for _attempt in range(3):
            runner = threading.Thread(target=run)
            runner.start()
            busy = wait_for_value(
                busy_workers,
                lambda found, runner=runner: bool(found) or not runner.is_alive(),
                timeout=120,
                what="no worker was given a task of the run",
                every=0.02,
            )
            if busy:
                break
            runner.join()
            assert not failure, failure
        assert busy, "three runs ended before any of their tasks was seen on a worker"
        victim, in_flight = sorted(busy.items())[0]
        os.kill(pids[victim], signal.SIGKILL)
        runner.join(timeout=300)
        assert not runner.is_alive(), "the run did not finish after the worker died"
        assert not failure, failure
        print(f"{in_flight} task(s) in flight on the killed worker {victim}")
        assert victim not in client.scheduler_info()["workers"]

        got = xr.open_dataset(out)["total_precipitation"].squeeze(drop=True)
        expected = scenarios.era5_precipitation(demo_catalog_dir, BBOX, *WINDOW).sum(
            "t", min_count=1
        )
        # Same grid as the files (the load's bbox is the region's): compare cell by cell.
        expected = expected.sel(x=got.x, y=got.y, method="nearest", tolerance=1e-6)
        assert got.size > 100
        np.testing.assert_allclose(got.values, expected.values, rtol=1e-5, equal_nan=True)
    finally:
        if client is not None:
            client.close()
            cluster.close()
            forget_gateway_loop(cluster.gateway)
            gateway.close()
        stop_server(proc)
