"""A request past its time or memory budget costs one worker process, never the service."""

from __future__ import annotations

import time

import psutil
import pytest
import requests

from tests.support.graphs import cpu_bound_graph, load_reduce_save
from tests.support.servers import (
    descendants,
    server_env,
    start_api,
    stop_server,
    worker_processes,
)
from tests.support.users import API, login_url
from tests.support.waiting import wait_for_value

# Canceling, time limits and shutdown stop the sites' Dask worker processes: the test looks at them.
pytestmark = pytest.mark.usefixtures("dask_worker_processes")

ADD = {"a": {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": True}}
SYNC_TIMEOUT = 8
GRACE = 1
MEMORY_LIMIT = 1_500_000_000


def _result(url: str, auth: dict, graph: dict, timeout: float = 120) -> requests.Response:
    return requests.post(
        f"{url}{API}/result", json={"process": {"process_graph": graph}}, headers=auth,
        timeout=timeout,
    )  # fmt: skip


def _worker_pids(server_pid: int) -> set[int]:
    return {proc.pid for proc in worker_processes(server_pid)}


@pytest.fixture(scope="module")
def server(tmp_path_factory, demo_catalog_dir):
    data_dir = tmp_path_factory.mktemp("budgets")
    env = server_env(
        data_dir,
        demo_catalog_dir,
        OPENEO_DEDL_LIMITS__SYNC_TIMEOUT_SECONDS=str(SYNC_TIMEOUT),
        OPENEO_DEDL_WORKERS__TIMEOUT_GRACE_SECONDS=str(GRACE),
        OPENEO_DEDL_WORKERS__MAX_MEMORY_BYTES=str(MEMORY_LIMIT),
        # The static limits would refuse the requests below before any work: opened up here,
        # so that what the watchdog does is seen.
        OPENEO_DEDL_LIMITS__MAX_INTEGER_BITS=str(10**12),
        OPENEO_DEDL_LIMITS__MAX_ARRAY_LENGTH=str(10**9),
    )
    proc, url = start_api(env, data_dir / "server.log", workers=1)
    yield proc, url, login_url(url)
    stop_server(proc)


def _wait_for_workers(server_pid: int, count: int = 1, timeout: float = 60) -> set[int]:
    return wait_for_value(lambda: _worker_pids(server_pid), lambda pids: len(pids) >= count,
                          timeout, "worker processes")  # fmt: skip


def test_a_request_past_its_time_is_stopped_and_the_next_is_served(server):
    proc, url, auth = server
    assert _result(url, auth, ADD).json() == 3
    before = _wait_for_workers(proc.pid)
    started = time.monotonic()
    # Python big-integer arithmetic holds the worker's interpreter: nothing inside the worker
    # could stop it (the finding of issue 17: it froze the whole server for an hour).
    power = {"p": {"process_id": "power", "arguments": {"base": 10, "p": 1_000_000_000},
                   "result": True}}  # fmt: skip
    resp = _result(url, auth, power)
    took = time.monotonic() - started
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["code"] == "ProcessGraphComplexity", body
    assert "limits.sync_timeout_seconds" in body["message"]
    assert SYNC_TIMEOUT <= took < SYNC_TIMEOUT + GRACE + 5, took
    # The worker was killed and replaced; the next request is served as usual.
    assert not any(psutil.pid_exists(pid) for pid in before)
    assert _result(url, auth, ADD).json() == 3
    assert _wait_for_workers(proc.pid).isdisjoint(before)


def test_a_request_past_its_memory_is_stopped_and_the_next_is_served(server):
    proc, url, auth = server
    # A small array_create first: the worker (new after the time-budget test) imports the
    # implementations now, not within the big request's time budget.
    small = {"c": {"process_id": "array_create", "arguments": {"data": [1.5], "repeat": 3},
                   "result": True}}  # fmt: skip
    assert _result(url, auth, small).json() == [1.5, 1.5, 1.5]
    before = _wait_for_workers(proc.pid)
    # About 2.4 GB of Python list in the worker: past the 1.5 GB budget.
    hog = {"c": {"process_id": "array_create", "arguments": {"data": [1.5], "repeat": 300_000_000},
                 "result": True}}  # fmt: skip
    resp = _result(url, auth, hog)
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["code"] == "MemoryLimitExceeded", body
    assert "workers.max_memory_bytes" in body["message"]
    assert not any(psutil.pid_exists(pid) for pid in before)
    assert _result(url, auth, ADD).json() == 3


def test_shutdown_leaves_no_process_behind(tmp_path, demo_catalog_dir):
    env = server_env(tmp_path, demo_catalog_dir)
    proc, url = start_api(env, tmp_path / "server.log", workers=2)
    auth = login_url(url)
    graph = load_reduce_save("S1_SSM", temporal_extent=["2020-01-01", "2020-02-01"],
                             bands=["ssm"], format="netCDF")  # fmt: skip
    assert _result(url, auth, graph).status_code == 200
    # Worker processes and the Dask workers of their local site clusters.
    children = descendants(proc.pid)
    assert len(children) >= 3, children
    stop_server(proc)
    # uvicorn shuts down on SIGTERM, then re-raises the signal it caught.
    assert proc.returncode in (0, -15)
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, [p.cmdline() for p in alive]


def test_a_worker_killed_mid_request_answers_503_and_is_replaced(server):
    import concurrent.futures
    import signal

    proc, url, auth = server
    assert _result(url, auth, ADD).json() == 3
    (victim,) = _wait_for_workers(proc.pid)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pending = pool.submit(_result, url, auth, cpu_bound_graph(5, repeat=1_000_000))
        deadline = time.monotonic() + 30
        while psutil.Process(victim).cpu_percent(interval=0.2) < 50:  # the run is on
            assert time.monotonic() < deadline
        psutil.Process(victim).send_signal(signal.SIGKILL)
        resp = pending.result(timeout=30)
    assert resp.status_code == 503, resp.text
    body = resp.json()
    assert body["code"] == "WorkerLost" and "exit code" in body["message"], body
    assert _result(url, auth, ADD).json() == 3
