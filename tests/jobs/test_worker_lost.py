"""A Dask worker of a site lost in the middle of a job: the job's log says so."""

from __future__ import annotations

import time
import warnings

import psutil
import pytest

from openeo_dedl.api.app import create_app
from tests.jobs.conftest import API, create_job, job_settings, login, slow_graph, wait_for

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def _dask_workers(pool) -> list[psutil.Process]:
    """The Dask worker processes of the worker processes' local site clusters."""
    found = []
    for pid in pool.child_pids():
        for proc in psutil.Process(pid).children(recursive=True):
            try:
                if "spawn_main" in " ".join(proc.cmdline()):
                    found.append(proc)
            except psutil.NoSuchProcess:
                continue
    return found


@pytest.mark.parametrize("module_database_url", ["sqlite"], indirect=True)
def test_a_lost_dask_worker_is_in_the_job_log(tmp_path, demo_catalog_dir, module_database_url):
    sites = [
        {"name": "central"},
        {"name": "lumi"},
        # Only leonardo's cluster has two workers: the one the test kills is leonardo's.
        {"name": "leonardo", "cluster": {"kind": "local", "workers": 2}},
    ]
    settings = job_settings(
        tmp_path, demo_catalog_dir, module_database_url, sites=sites, workers={"embedded": 1}
    )
    with TestClient(create_app(settings)) as client:
        alice = login(client, "alice")
        job_id = create_job(client, alice, slow_graph(), log_level="debug")
        assert client.post(f"{API}/jobs/{job_id}/results", headers=alice).status_code == 202
        deadline = time.monotonic() + 120
        while not any(
            "Site leonardo is computing" in e["message"]
            for e in client.get(f"{API}/jobs/{job_id}/logs", headers=alice).json()["logs"]
        ):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        workers = _dask_workers(client.app.state.workers)
        assert len(workers) == 2, workers  # leonardo's two (the other sites start none yet)
        # Kill one once the run's tasks are at work on them (the graph has reached the site).
        start = sum(w.cpu_times().user for w in workers)
        deadline = time.monotonic() + 120
        while sum(w.cpu_times().user for w in workers) - start < 1.0:
            assert time.monotonic() < deadline, "the run never reached leonardo's workers"
            time.sleep(0.2)
        workers[0].kill()
        deadline = time.monotonic() + 60
        while True:
            logs = client.get(f"{API}/jobs/{job_id}/logs", headers=alice).json()["logs"]
            lost = [e for e in logs if "lost 1 Dask worker" in e["message"]]
            if lost:
                break
            assert time.monotonic() < deadline, logs
            time.sleep(0.5)
        assert lost[0]["level"] == "warning" and "leonardo" in lost[0]["message"]
        assert "runs their tasks again" in lost[0]["message"]
        client.delete(f"{API}/jobs/{job_id}/results", headers=alice)
        wait_for(client, alice, job_id, {"canceled", "finished", "error"})
