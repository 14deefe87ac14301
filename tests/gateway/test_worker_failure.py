"""A worker of a site's Gateway cluster dies in the middle of a partition: Dask reruns its
tasks on the other worker and the job still gives the right answer."""

from __future__ import annotations

import os
import signal
import sys

import cloudpickle
import numpy as np
import openeo
import pytest
import xarray as xr
from distributed import WorkerPlugin

from openeo_dedl.execution.clusters import forget_gateway_loop
from tests.e2e import scenarios
from tests.gateway.test_gateway_sites import active_clusters, sites_env, wait_for
from tests.support.servers import server_env, start_api, stop_server

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


class _DieOnFirstTask(WorkerPlugin):
    """Kills the first worker (across the cluster) that starts executing a task.

    The token file is created exclusively, so exactly one worker dies; workers started later
    (the replacement) find it and live."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.address = ""

    def setup(self, worker) -> None:
        self.address = worker.address

    def transition(self, key, start, finish, **kwargs) -> None:
        if finish != "executing":
            return
        try:
            fd = os.open(self.token, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return
        os.write(fd, self.address.encode())
        os.close(fd)
        os.kill(os.getpid(), signal.SIGKILL)


# The workers cannot import the tests: the plugin travels by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


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
    data_dir = tmp_path_factory.mktemp("worker-failure")
    # One worker process: a user's shared cluster belongs to the worker process that started
    # it, so with two the run could go to the other process and start a second cluster,
    # which the test would not watch.
    proc, url = start_api(
        server_env(data_dir, demo_catalog_dir, **sites_env(two_workers)),
        data_dir / "server.log",
        workers=1,
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
        token = tmp_path / "victim"
        # The first worker to start a task of the run kills itself with the task in flight,
        # decided on the worker itself: watching the scheduler from here missed whole runs
        # on a busy machine (a run passed between two looks).
        client.register_plugin(_DieOnFirstTask(str(token)), name="die-on-first-task")

        out = tmp_path / "sum.nc"
        era5_sum(con).download(out, format="netCDF")

        assert token.exists(), "no worker started a task of the run"
        victim = token.read_text()
        print(f"the worker {victim} died with a task of the run in flight")
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
