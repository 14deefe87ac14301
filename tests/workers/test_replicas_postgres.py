"""Two API processes and two worker supervisors on one PostgreSQL database.

Jobs are created through both APIs; one worker and one API process are killed with SIGKILL in
the middle. Every job must end ``finished`` with its right value, or ``error`` with a log
entry saying why, none may stay ``queued``/``running``, and no job may run twice at once.
"""

from __future__ import annotations

import os
import signal
import time

import psutil
import pytest
import requests

from tests.postgres import create_database
from tests.support.graphs import cpu_bound_graph
from tests.support.servers import descendants, server_env, start_api, start_worker, stop_server
from tests.support.users import API, login_url

JOBS = 20
REPEAT = 1500


def _create_and_start(url: str, auth: dict, factor: int) -> str:
    body = {"process": {"process_graph": cpu_bound_graph(factor, REPEAT)}, "title": f"f{factor}"}
    resp = requests.post(f"{url}{API}/jobs", json=body, headers=auth, timeout=30)
    assert resp.status_code == 201, resp.text
    job_id = resp.headers["OpenEO-Identifier"]
    resp = requests.post(f"{url}{API}/jobs/{job_id}/results", headers=auth, timeout=30)
    assert resp.status_code == 202, resp.text
    return job_id


def _statuses(url: str, auth: dict, job_ids: list[str]) -> dict[str, dict]:
    out = {}
    for job_id in job_ids:
        resp = requests.get(f"{url}{API}/jobs/{job_id}", headers=auth, timeout=30)
        assert resp.status_code == 200, resp.text
        out[job_id] = resp.json()
    return out


def _result_value(url: str, auth: dict, job_id: str) -> float:
    resp = requests.get(f"{url}{API}/jobs/{job_id}/results", headers=auth, timeout=30)
    assert resp.status_code == 200, resp.text
    (asset,) = resp.json()["assets"].values()
    return requests.get(asset["href"], timeout=30).json()


def _logs(url: str, auth: dict, job_id: str) -> list[dict]:
    resp = requests.get(f"{url}{API}/jobs/{job_id}/logs", headers=auth, timeout=30)
    return resp.json()["logs"]


@pytest.mark.timeout(600)
def test_replicas_and_workers_share_postgres_and_survive_kills(
    tmp_path, demo_catalog_dir, postgres_server_url
):
    database_url = create_database(postgres_server_url)
    env = server_env(
        tmp_path / "data",
        demo_catalog_dir,
        OPENEO_DEDL_DATABASE_URL=database_url,
        # A killed supervisor's work is recovered after its lease: short in this test.
        OPENEO_DEDL_WORKERS__HEARTBEAT_SECONDS="0.5",
        OPENEO_DEDL_WORKERS__LEASE_SECONDS="4",
        OPENEO_DEDL_WORKERS__POLL_SECONDS="0.1",
    )
    (tmp_path / "data").mkdir()
    procs = []
    try:
        api_a, url_a = start_api(env, tmp_path / "api-a.log", workers=0)
        procs.append(api_a)
        api_b, url_b = start_api(env, tmp_path / "api-b.log", workers=0)
        procs.append(api_b)
        worker_1 = start_worker(env, tmp_path / "worker-1.log")
        procs.append(worker_1)
        worker_2 = start_worker(env, tmp_path / "worker-2.log")
        procs.append(worker_2)
        auth_a, auth_b = login_url(url_a), login_url(url_b)

        expected: dict[str, int] = {}
        for i in range(JOBS):
            url, auth = (url_a, auth_a) if i % 2 == 0 else (url_b, auth_b)
            expected[_create_and_start(url, auth, i + 1)] = (i + 1) * REPEAT
        job_ids = list(expected)

        # Kill one worker supervisor while it runs a job, and one API process, with SIGKILL.
        deadline = time.monotonic() + 180
        while True:
            jobs = _statuses(url_b, auth_b, job_ids)
            done = sum(j["status"] in ("finished", "error") for j in jobs.values())
            running = [j for j in jobs.values() if j["status"] == "running"]
            if done >= 3 and running:
                break
            assert time.monotonic() < deadline, jobs
            time.sleep(0.2)
        worker_children = descendants(worker_1.pid)
        worker_1.send_signal(signal.SIGKILL)
        api_a.send_signal(signal.SIGKILL)
        worker_1.wait(timeout=10)
        api_a.wait(timeout=10)
        # The supervisor's worker processes (and their local clusters) die with it.
        gone, alive = psutil.wait_procs(worker_children, timeout=15)
        assert not alive, alive

        deadline = time.monotonic() + 300
        while True:
            jobs = _statuses(url_b, auth_b, job_ids)
            if all(j["status"] in ("finished", "error") for j in jobs.values()):
                break
            assert time.monotonic() < deadline, {k: j["status"] for k, j in jobs.items()}
            time.sleep(0.5)

        finished = [k for k, j in jobs.items() if j["status"] == "finished"]
        assert len(finished) >= JOBS - 1, {k: j["status"] for k, j in jobs.items()}
        for job_id in finished:
            assert _result_value(url_b, auth_b, job_id) == expected[job_id]
        started_runs = 0
        for job_id in job_ids:
            logs = _logs(url_b, auth_b, job_id)
            starts = [e for e in logs if e["message"].startswith("Job started")]
            started_runs += len(starts)
            if jobs[job_id]["status"] == "error":
                assert any(e["level"] == "error" and e["message"] for e in logs), logs
            if len(starts) > 1:
                # Run again after its worker was killed, and the log says so.
                assert any(e.get("code") == "JobInterrupted" for e in logs), logs
        # Claimed exactly once, except the run the killed worker lost (one process each).
        assert JOBS <= started_runs <= JOBS + 1, started_runs
    finally:
        for proc in procs:
            stop_server(proc)
        if os.environ.get("OPENEO_DEDL_TEST_KEEP_LOGS"):
            print(*(p.read_text() for p in tmp_path.glob("*.log")))
