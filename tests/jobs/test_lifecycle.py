"""Canceling a running job stops its Dask work; restarts neither lose nor strand jobs."""

from __future__ import annotations

import time

import pytest

from openeo_dedl.backend import Backend
from openeo_dedl.jobs import JobService
from openeo_dedl.storage import Database
from openeo_dedl.storage.models import Job
from tests.jobs.conftest import API, SCALAR_GRAPH, create_job, job_settings, slow_graph, wait_for


def _logs(client, auth, job_id) -> list[dict]:
    return client.get(f"{API}/jobs/{job_id}/logs", headers=auth).json()["logs"]


def _wait_for_log(client, auth, job_id, text: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not any(text in e["message"] for e in _logs(client, auth, job_id)):
        assert time.monotonic() < deadline, (text, _logs(client, auth, job_id))
        time.sleep(0.2)


def _scheduler_tasks(backend: Backend, user: str, site: str) -> int:
    cluster = backend.executor.clusters._shared[(user, site)]
    return cluster.client().run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks))


def test_cancel_stops_the_computation_on_the_site_cluster(client, alice):
    job_id = create_job(client, alice, slow_graph(), log_level="debug")
    assert client.post(f"{API}/jobs/{job_id}/results", headers=alice).status_code == 202
    _wait_for_log(client, alice, job_id, "Site leonardo is computing node")
    backend = client.app.state.backend
    deadline = time.monotonic() + 60
    while _scheduler_tasks(backend, "alice", "leonardo") == 0:  # the graph is being sent
        assert time.monotonic() < deadline, "the computation never reached the scheduler"
        time.sleep(0.1)
    assert client.delete(f"{API}/jobs/{job_id}/results", headers=alice).status_code == 204
    job = client.get(f"{API}/jobs/{job_id}", headers=alice).json()
    assert job["status"] == "canceled"
    started = time.monotonic()
    _wait_for_log(client, alice, job_id, "Stopped: the work on the sites was canceled.", 60)
    # The futures were canceled: stopping took far less than the computation would.
    assert time.monotonic() - started < 20
    deadline = time.monotonic() + 10
    while _scheduler_tasks(backend, "alice", "leonardo") > 0:
        assert time.monotonic() < deadline, "tasks left on the leonardo scheduler"
        time.sleep(0.2)
    job = wait_for(client, alice, job_id, {"canceled"})
    assert "openeo-dedl:usage" in job
    # Canceling again, or a job that is not running, changes nothing.
    assert client.delete(f"{API}/jobs/{job_id}/results", headers=alice).status_code == 204
    assert client.get(f"{API}/jobs/{job_id}", headers=alice).json()["status"] == "canceled"


# -- restarts (the service on its own, as the app's lifespan runs it) --------------------------


@pytest.fixture
def service_parts(tmp_path, demo_catalog_dir, database_url):
    settings = job_settings(tmp_path, demo_catalog_dir, database_url)
    database = Database(settings.effective_database_url)
    database.migrate()
    backend = Backend(settings)
    yield settings, database, backend
    backend.close()
    database.dispose()


def _service(parts) -> JobService:
    settings, database, backend = parts
    return JobService(settings, database, lambda: backend.executor)


def _left_running(service: JobService, attempts: int) -> str:
    """A job as a crashed server leaves it: `running`, with its runs counted."""
    job = service.create("alice", {"process_graph": SCALAR_GRAPH})
    service.store.set(job.id, status="running", attempts=attempts)
    return job.id


def _wait_status(service: JobService, job_id: str, states: set[str], timeout=60.0) -> Job:
    deadline = time.monotonic() + timeout
    while (job := service.store.load(job_id)).status not in states:
        assert time.monotonic() < deadline, job.status
        time.sleep(0.1)
    return job


def test_a_job_interrupted_by_a_crash_runs_again(service_parts):
    first = _service(service_parts)
    job_id = _left_running(first, attempts=1)
    queued = first.create("alice", {"process_graph": SCALAR_GRAPH})
    first.store.set(queued.id, status="queued")
    restarted = _service(service_parts)
    restarted.start()
    try:
        job = _wait_status(restarted, job_id, {"finished", "error"})
        assert job.status == "finished" and job.attempts == 2
        assert _wait_status(restarted, queued.id, {"finished", "error"}).status == "finished"
    finally:
        restarted.close()
    logs = restarted.store.logs("alice", job_id, level="warning").entries
    assert logs and logs[0].code == "JobInterrupted"
    assert "queued to run again" in logs[0].message


def test_a_job_interrupted_too_often_is_marked_error(service_parts):
    settings = service_parts[0]
    service = _service(service_parts)
    job_id = _left_running(service, attempts=settings.jobs.max_attempts)
    service.start()
    service.close()
    job = service.store.load(job_id)
    assert job.status == "error" and job.error["code"] == "JobInterrupted"
    (entry,) = service.store.logs("alice", job_id, level="error").entries
    assert "not run again" in entry.message and "max_attempts" in entry.message


def test_stopping_the_server_queues_running_jobs_again(service_parts):
    service = _service(service_parts)
    service.start()
    job = service.create("alice", {"process_graph": slow_graph()}, log_level="debug")
    service.start_job("alice", job.id)
    deadline = time.monotonic() + 120
    while not any("is computing" in e.message for e in service.store.logs("alice", job.id).entries):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    service.close()
    stopped = service.store.load(job.id)
    assert stopped.status == "queued" and stopped.progress == 0
    # A stop by the server is not held against the job.
    assert stopped.attempts == 0
    warning = service.store.logs("alice", job.id, level="warning").entries[-1]
    assert warning.code == "JobInterrupted" and "will run again" in warning.message
    # The next server picks it up; cancel it there, it has proven its point.
    again = _service(service_parts)
    again.start()
    try:
        _wait_status(again, job.id, {"running"})
        again.cancel("alice", job.id)
        assert again.store.load(job.id).status == "canceled"
    finally:
        again.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_run_still_stopping_does_not_touch_the_next_run(service_parts):
    service = _service(service_parts)  # two workers: the new run starts while the old stops
    service.start()
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
    finally:
        service.close()
    assert service.store.load(job.id).status == "canceled"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_computation_over_the_time_limit_fails_and_leaves_nothing_running(
    tmp_path, demo_catalog_dir, database_url
):
    settings = job_settings(tmp_path, demo_catalog_dir, database_url, jobs={"timeout_seconds": 3})
    database = Database(settings.effective_database_url)
    database.migrate()
    backend = Backend(settings)
    service = JobService(settings, database, lambda: backend.executor)
    service.start()
    try:
        job = service.create("alice", {"process_graph": slow_graph()})
        service.start_job("alice", job.id)
        failed = _wait_status(service, job.id, {"error", "finished"}, timeout=180)
        assert failed.status == "error" and failed.error["code"] == "JobTimeout", failed.error
        assert "3 s" in failed.error["message"]
        deadline = time.monotonic() + 10
        while _scheduler_tasks(backend, "alice", "leonardo") > 0:
            assert time.monotonic() < deadline, "the timed-out computation is still on the cluster"
            time.sleep(0.2)
    finally:
        service.close()
        backend.close()
        database.dispose()
