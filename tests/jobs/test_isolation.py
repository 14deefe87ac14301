"""Users never see each other's jobs: every job endpoint answers 404 JobNotFound to others."""

from __future__ import annotations

import pytest

from tests.jobs.conftest import API, SCALAR_GRAPH, run_job


@pytest.fixture(scope="module")
def alices_job(client, alice) -> str:
    job_id, job = run_job(client, alice, SCALAR_GRAPH, title="alice's")
    assert job["status"] == "finished"
    return job_id


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "", None),
        ("PATCH", "", {"title": "mine now"}),
        ("DELETE", "", None),
        ("POST", "/results", None),
        ("GET", "/results", None),
        ("GET", "/results?partial=true", None),
        ("DELETE", "/results", None),
        ("GET", "/logs", None),
        ("GET", "/estimate", None),
    ],
)
def test_another_user_gets_job_not_found(client, alice, bob, alices_job, method, path, body):
    resp = client.request(method, f"{API}/jobs/{alices_job}{path}", json=body, headers=bob)
    assert resp.status_code == 404, resp.text
    assert resp.json()["code"] == "JobNotFound"
    # Answered exactly like a job that does not exist: nothing reveals that it does.
    missing = client.request(method, f"{API}/jobs/j-doesnotexist{path}", json=body, headers=bob)
    assert missing.status_code == 404
    assert resp.json()["message"].replace(alices_job, "X") == missing.json()["message"].replace(
        "j-doesnotexist", "X"
    )
    # And nothing changed for the owner.
    job = client.get(f"{API}/jobs/{alices_job}", headers=alice).json()
    assert job["status"] == "finished" and job["title"] == "alice's"


def test_another_user_does_not_list_the_job(client, bob, alices_job):
    listed = client.get(f"{API}/jobs", headers=bob).json()["jobs"]
    assert alices_job not in {j["id"] for j in listed}


def test_signed_links_are_per_job_and_file(client, alice, bob, alices_job):
    bobs_job, _ = run_job(client, bob, SCALAR_GRAPH)
    href = client.get(f"{API}/jobs/{bobs_job}/results", headers=bob).json()["assets"][
        "result.json"
    ]["href"]
    # Bob's valid signature does not open Alice's file of the same name.
    stolen = href.replace(bobs_job, alices_job)
    assert client.get(stolen).status_code == 403
    assert client.get(href).status_code == 200
