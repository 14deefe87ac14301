"""One user's many batch jobs take neither every worker nor the one kept for synchronous
requests: the others' jobs and requests are served while hers run, and hers all run in turn."""

from __future__ import annotations

import json

import pytest
import requests

from openeo_dedl.config import UserConfig
from openeo_dedl.config.accounts import DEMO_PASSWORD_HASH
from tests.support.graphs import SCALAR_GRAPH, cpu_bound_graph
from tests.support.servers import server_env, start_api, stop_server
from tests.support.users import API, login_url, user_configs
from tests.support.waiting import wait_for_value

# About eight seconds of work each here, two at a time.
REPEAT = 600_000


@pytest.fixture
def server(tmp_path, demo_catalog_dir):
    demo = UserConfig(username="demo", password_hash=DEMO_PASSWORD_HASH)
    users = json.dumps([u.model_dump() for u in [*user_configs(), demo]])
    env = server_env(
        tmp_path,
        demo_catalog_dir,
        OPENEO_DEDL_USERS=users,
        OPENEO_DEDL_WORKERS__MAX_BATCH_PER_USER="1",
        OPENEO_DEDL_WORKERS__POLL_SECONDS="0.1",
    )
    # Three worker processes, one of them kept for synchronous requests (the default).
    proc, url = start_api(env, tmp_path / "server.log", workers=3)
    yield url
    stop_server(proc)


def _start_job(url: str, auth: dict, factor: int) -> str:
    body = {"process": {"process_graph": cpu_bound_graph(factor, REPEAT)}}
    resp = requests.post(f"{url}{API}/jobs", json=body, headers=auth, timeout=30)
    assert resp.status_code == 201, resp.text
    job_id = resp.headers["OpenEO-Identifier"]
    resp = requests.post(f"{url}{API}/jobs/{job_id}/results", headers=auth, timeout=30)
    assert resp.status_code == 202, resp.text
    return job_id


def _statuses(url: str, jobs: dict[str, tuple[dict, str]]) -> dict[str, str]:
    """Each job's status by name (``jobs``: name -> (owner's auth, job id))."""
    out = {}
    for name, (auth, job_id) in jobs.items():
        resp = requests.get(f"{url}{API}/jobs/{job_id}", headers=auth, timeout=30)
        assert resp.status_code == 200, resp.text
        out[name] = resp.json()["status"]
    return out


def _value(url: str, auth: dict, job_id: str) -> float:
    resp = requests.get(f"{url}{API}/jobs/{job_id}/results", headers=auth, timeout=30)
    assert resp.status_code == 200, resp.text
    (asset,) = resp.json()["assets"].values()
    return requests.get(asset["href"], timeout=30).json()


@pytest.mark.timeout(300)
def test_one_users_batch_jobs_leave_workers_to_the_others(server):
    alice, bob, demo = (login_url(server, user) for user in ("alice", "bob", "demo"))
    jobs = {
        "alice-1": (alice, _start_job(server, alice, 1)),
        "alice-2": (alice, _start_job(server, alice, 2)),
        "bob": (bob, _start_job(server, bob, 3)),
        "demo": (demo, _start_job(server, demo, 4)),
    }
    # One job of alice's (max_batch_per_user) and bob's take the two batch workers; alice's
    # second job and demo's wait, although a worker is idle.
    seen = wait_for_value(
        lambda: _statuses(server, jobs),
        lambda s: list(s.values()).count("running") == 2,
        timeout=60,
        what="two batch jobs running",
        every=0.1,
    )
    assert {seen["alice-1"], seen["alice-2"]} == {"running", "queued"}, seen
    assert seen["bob"] == "running" and seen["demo"] == "queued", seen

    # bob's synchronous request takes the worker the batch jobs leave free, at once.
    resp = requests.post(
        f"{server}{API}/result", json={"process": {"process_graph": SCALAR_GRAPH}},
        headers=bob, timeout=60,
    )  # fmt: skip
    assert resp.status_code == 200 and resp.json() == 3, resp.text
    during = _statuses(server, jobs)
    assert "finished" not in during.values(), during  # answered while the jobs ran

    history = []

    def all_ended() -> dict[str, str]:
        statuses = _statuses(server, jobs)
        history.append(statuses)
        return statuses

    ended = wait_for_value(
        all_ended,
        lambda s: all(v in {"finished", "error"} for v in s.values()),
        timeout=240,
        what="every job ended",
        every=0.2,
    )
    assert set(ended.values()) == {"finished"}, ended
    for statuses in history:
        running = [name for name, status in statuses.items() if status == "running"]
        assert len(running) <= 2, statuses
        assert not {"alice-1", "alice-2"} <= set(running), statuses
    for factor, name in enumerate(jobs, start=1):
        auth, job_id = jobs[name]
        assert _value(server, auth, job_id) == factor * REPEAT
