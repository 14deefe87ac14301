"""Canceling a running job stops its Dask work; restarts neither lose nor strand jobs."""

from __future__ import annotations

import time

import psutil
import pytest

from openeo_dedl.backend import Backend
from openeo_dedl.jobs import JobService
from openeo_dedl.storage import Database
from openeo_dedl.storage.models import Job
from openeo_dedl.workers.pool import WorkerPool
from tests.jobs.conftest import API, SCALAR_GRAPH, create_job, job_settings, slow_graph, wait_for
from tests.support.waiting import wait_for_value

# Canceling, time limits and shutdown stop the sites' Dask worker processes: the test looks at them.
pytestmark = pytest.mark.usefixtures("dask_worker_processes")


def _logs(client, auth, job_id) -> list[dict]:
    return client.get(f"{API}/jobs/{job_id}/logs", headers=auth).json()["logs"]


def _wait_for_log(client, auth, job_id, text: str, timeout: float = 120.0) -> None:
    wait_for_value(lambda: _logs(client, auth, job_id),
                   lambda logs: any(text in e["message"] for e in logs), timeout, text)  # fmt: skip


def _site_worker_cpu(pool: WorkerPool) -> float:
    """CPU seconds used so far by the processes the pool's worker processes started (their
    local site clusters' Dask workers): where a run's Dask work computes."""
    total = 0.0
    for pid in pool.child_pids():
        try:
            children = psutil.Process(pid).children(recursive=True)
        except psutil.NoSuchProcess:
            continue
        for proc in children:
            try:
                times = proc.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
    return total


def wait_until_site_workers_idle(pool: WorkerPool, timeout: float = 20.0) -> None:
    """Wait until the site clusters' Dask workers compute nothing (< 0.1 s CPU in 1 s)."""
    deadline = time.monotonic() + timeout
    before = _site_worker_cpu(pool)
    while True:
        time.sleep(1.0)
        now = _site_worker_cpu(pool)
        if now - before < 0.1:
            return
        assert time.monotonic() < deadline, "Dask work is still running on the site clusters"
        before = now


def test_cancel_stops_the_computation_on_the_site_cluster(client, alice):
    job_id = create_job(client, alice, slow_graph(), log_level="debug")
    assert client.post(f"{API}/jobs/{job_id}/results", headers=alice).status_code == 202
    _wait_for_log(client, alice, job_id, "Site leonardo is computing node")
    pool = client.app.state.workers
    deadline = time.monotonic() + 60
    before = _site_worker_cpu(pool)
    while _site_worker_cpu(pool) - before < 0.5:  # the graph reached the site's workers
        assert time.monotonic() < deadline, "the computation never reached the site's workers"
        time.sleep(0.2)
    assert client.delete(f"{API}/jobs/{job_id}/results", headers=alice).status_code == 204
    job = client.get(f"{API}/jobs/{job_id}", headers=alice).json()
    assert job["status"] == "canceled"
    started = time.monotonic()
    _wait_for_log(client, alice, job_id, "Stopped: the work on the sites was canceled.", 60)
    # The futures were canceled: stopping took far less than the computation would.
    assert time.monotonic() - started < 20
    wait_until_site_workers_idle(pool)
    job = wait_for(client, alice, job_id, {"canceled"})
    assert "openeo-dedl:usage" in job
    # Canceling again, or a job that is not running, changes nothing.
    assert client.delete(f"{API}/jobs/{job_id}/results", headers=alice).status_code == 204
    assert client.get(f"{API}/jobs/{job_id}", headers=alice).json()["status"] == "canceled"


# -- restarts (the service and a worker pool, as the app's lifespan runs them) -----------------


@pytest.fixture
def service_parts(tmp_path, demo_catalog_dir, database_url):
    settings = job_settings(tmp_path, demo_catalog_dir, database_url)
    database = Database(settings.effective_database_url)
    database.migrate()
    yield settings, database
    database.dispose()


def _service(parts) -> JobService:
    settings, database = parts
    return JobService(settings, database, Backend(settings))


def _pool(parts, size: int = 1, **settings_update) -> WorkerPool:
    settings, database = parts
    if settings_update:
        settings = settings.model_copy(update=settings_update)
    pool = WorkerPool(settings, size, database, prestart=True)
    pool.start()
    return pool


def _left_running(service: JobService, attempts: int) -> str:
    """A job as a crashed server leaves it: `running`, with its runs counted, owned by a
    worker that no longer exists."""
    job = service.create("alice", {"process_graph": SCALAR_GRAPH})
    service.store.set(job.id, status="running", attempts=attempts, worker_id="gone-1-x")
    return job.id


def _wait_status(service: JobService, job_id: str, states: set[str], timeout=90.0) -> Job:
    return wait_for_value(lambda: service.store.load(job_id), lambda job: job.status in states,
                          timeout, f"job {job_id} not in {states}")  # fmt: skip


def test_a_job_interrupted_by_a_crash_runs_again(service_parts):
    first = _service(service_parts)
    job_id = _left_running(first, attempts=1)
    queued = first.create("alice", {"process_graph": SCALAR_GRAPH})
    first.store.set(queued.id, status="queued")
    pool = _pool(service_parts)
    try:
        job = _wait_status(first, job_id, {"finished", "error"})
        assert job.status == "finished" and job.attempts == 2
        assert _wait_status(first, queued.id, {"finished", "error"}).status == "finished"
    finally:
        pool.stop()
    logs = first.store.logs("alice", job_id, level="warning").entries
    assert logs and logs[0].code == "JobInterrupted"
    assert "queued to run again" in logs[0].message


def test_a_job_interrupted_too_often_is_marked_error(service_parts):
    settings = service_parts[0]
    service = _service(service_parts)
    job_id = _left_running(service, attempts=settings.jobs.max_attempts)
    pool = _pool(service_parts)
    try:
        job = _wait_status(service, job_id, {"error", "finished"}, timeout=30)
    finally:
        pool.stop()
    assert job.status == "error" and job.error["code"] == "JobInterrupted"
    (entry,) = service.store.logs("alice", job_id, level="error").entries
    assert "not run again" in entry.message and "max_attempts" in entry.message


def test_stopping_the_server_queues_running_jobs_again(service_parts):
    service = _service(service_parts)
    pool = _pool(service_parts)
    job = service.create("alice", {"process_graph": slow_graph()}, log_level="debug")
    service.start_job("alice", job.id)
    deadline = time.monotonic() + 120
    while not any("is computing" in e.message for e in service.store.logs("alice", job.id).entries):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    pids = pool.child_pids()
    pool.stop()
    stopped = service.store.load(job.id)
    assert stopped.status == "queued" and stopped.progress == 0
    # A stop by the server is not held against the job.
    assert stopped.attempts == 0
    warning = service.store.logs("alice", job.id, level="warning").entries[-1]
    assert warning.code == "JobInterrupted" and "will run again" in warning.message
    assert pids and not any(psutil.pid_exists(pid) for pid in pids)
    # The next server picks it up; cancel it there, it has proven its point.
    again = _pool(service_parts)
    try:
        _wait_status(service, job.id, {"running"})
        service.cancel("alice", job.id)
        assert service.store.load(job.id).status == "canceled"
    finally:
        again.stop()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_run_still_stopping_does_not_touch_the_next_run(service_parts):
    service = _service(service_parts)
    pool = _pool(service_parts, size=2)  # two workers: the new run starts while the old stops
    try:
        job = service.create("alice", {"process_graph": slow_graph()}, log_level="debug")
        service.start_job("alice", job.id)
        deadline = time.monotonic() + 120
        while not any(
            "started at site" in e.message for e in service.store.logs("alice", job.id).entries
        ):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        # Canceled while the first run is still building its graph (it notices later) ...
        service.cancel("alice", job.id)
        # ... and started again at once.
        service.start_job("alice", job.id)
        second = _wait_status(service, job.id, {"running"}).started
        deadline = time.monotonic() + 120
        while not any(
            "is computing" in e.message for e in service.store.logs("alice", job.id).entries
        ):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        now = service.store.load(job.id)
        assert now.status == "running" and now.started == second
        messages = [e.message for e in service.store.logs("alice", job.id).entries]
        assert not any(m.startswith("Stopped") for m in messages), messages
        service.cancel("alice", job.id)
        assert service.store.load(job.id).status == "canceled"
    finally:
        pool.stop()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_computation_over_the_time_limit_fails_and_leaves_nothing_running(service_parts):
    settings = service_parts[0]
    jobs = settings.jobs.model_copy(update={"timeout_seconds": 3})
    pool = _pool(service_parts, jobs=jobs)
    service = _service(service_parts)
    try:
        job = service.create("alice", {"process_graph": slow_graph()})
        service.start_job("alice", job.id)
        failed = _wait_status(service, job.id, {"error", "finished"}, timeout=180)
        assert failed.status == "error" and failed.error["code"] == "JobTimeout", failed.error
        assert "3 s" in failed.error["message"]
        wait_until_site_workers_idle(pool)
    finally:
        pool.stop()
