"""A worker process killed in the middle of a job: its Dask work at the site's Gateway
cluster ends with it (the scheduler forgets the tasks of the client that went away)."""

from __future__ import annotations

import time

import openeo

from openeo_dedl.execution.clusters import forget_gateway_loop
from tests.gateway.test_gateway_sites import sites_env, wait_for
from tests.support.graphs import slow_graph
from tests.support.servers import start_server, stop_server, worker_processes

# ERA5 (site lumi) upsampled twenty-fold, its median over time: minutes of Dask work at lumi's
# Gateway cluster.
SLOW_AT_LUMI = slow_graph(0.005, "ERA5_LAND", bands=["total_precipitation"])


def _scheduler_tasks(gateway_server) -> int:
    gateway = gateway_server.gateway()
    try:
        clusters = gateway.list_clusters()
        if not clusters:
            return 0
        cluster = gateway.connect(clusters[0].name, shutdown_on_close=False)
        client = cluster.get_client(set_as_default=False)
        try:
            return client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks))
        finally:
            client.close()
            cluster.close()
            forget_gateway_loop(cluster.gateway)
    finally:
        gateway.close()


def test_killing_a_worker_process_ends_its_dask_work_at_the_site(
    gateways, demo_catalog_dir, tmp_path_factory
):
    lumi = gateways["lumi"]
    env = {
        **sites_env(lumi.site_config()),
        "OPENEO_DEDL_WORKERS__EMBEDDED": "1",
        # The killed run is not run again (it would put its tasks back on the scheduler).
        "OPENEO_DEDL_JOBS__MAX_ATTEMPTS": "1",
    }
    proc, url, _ = start_server(tmp_path_factory.mktemp("killed-worker"), demo_catalog_dir, **env)
    try:
        con = openeo.connect(url).authenticate_basic("demo", "demo")
        job = con.create_job(SLOW_AT_LUMI, title="killed", log_level="debug")
        job.start()
        assert wait_for(
            lambda: any("Site lumi is computing" in e["message"] for e in job.logs()),
            timeout=120,
        ), job.logs()
        assert wait_for(lambda: _scheduler_tasks(lumi) > 0, timeout=60)
        (worker,) = worker_processes(proc.pid)
        worker.kill()
        # The client went away with the process: the scheduler drops its tasks.
        assert wait_for(lambda: _scheduler_tasks(lumi) == 0, timeout=60)
        deadline = time.monotonic() + 60
        while job.status() != "error":
            assert time.monotonic() < deadline, job.status()
            time.sleep(0.5)
        (entry,) = [e for e in job.logs(level="error") if e.get("code") == "JobInterrupted"]
        assert "worker process running this job stopped unexpectedly" in entry["message"]
    finally:
        stop_server(proc)
