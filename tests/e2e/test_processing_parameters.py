"""Processing Parameters extension against a real server: ``GET /processing_parameters`` and
the options honoured by ``POST /result`` and batch jobs (placement, workers per site bounded
per user, log level), bad ones refused with a 400 openEO error."""

from __future__ import annotations

import json

import pytest
import requests

from tests.support.graphs import small_flood_max
from tests.support.waiting import wait_for_value

# The 1.3 extensions, tested where clients that declare them look.
API = "/openeo/1.3"

GRAPH = small_flood_max()


@pytest.fixture(scope="module")
def server(extensions_server):
    return extensions_server


def _sync(server, headers, **options):
    return requests.post(
        f"{server}{API}/result",
        json={"process": {"process_graph": GRAPH}, **options},
        headers=headers,
        timeout=300,
    )


def _node_site(usage: dict, node: str) -> str:
    return next(p["site"] for p in usage["partitions"] if node in p.get("nodes", []))


def _workers_schema(body: dict) -> dict:
    params = {p["name"]: p for p in body["create_job_parameters"]}
    return params["workers"]["schema"]["additionalProperties"]


def test_parameters_are_listed_with_each_users_bound(server, alice, bob):
    public = requests.get(f"{server}{API}/processing_parameters", timeout=10)
    assert public.status_code == 200
    body = public.json()
    names = {p["name"] for p in body["create_synchronous_parameters"]}
    assert names == {"placement", "workers", "log_level"}
    placement = next(p for p in body["create_job_parameters"] if p["name"] == "placement")
    assert "single-site:lumi" in placement["schema"]["enum"] and placement["optional"]
    assert _workers_schema(body)["maximum"] == 1
    for headers, bound in ((alice, 2), (bob, 1)):
        mine = requests.get(f"{server}{API}/processing_parameters", headers=headers, timeout=10)
        assert _workers_schema(mine.json())["maximum"] == bound
    capabilities = requests.get(f"{server}{API}/", timeout=10).json()
    paths = {e["path"] for e in capabilities["endpoints"]}
    assert "/processing_parameters" in paths


def test_sync_placement_puts_the_work_at_the_asked_site(server, bob):
    default = _sync(server, bob)
    assert default.status_code == 200, default.text
    usage = json.loads(default.headers["OpenEO-DEDL-Usage"])
    assert _node_site(usage, "save") == "central"  # the data's site

    moved = _sync(server, bob, placement="single-site:lumi")
    assert moved.status_code == 200, moved.text
    assert moved.json() == default.json()
    usage = json.loads(moved.headers["OpenEO-DEDL-Usage"])
    assert _node_site(usage, "load") == "central"  # loads stay at their data
    assert _node_site(usage, "save") == "lumi"


def test_sync_workers_are_given_within_the_users_bound(server, alice, bob):
    refused = _sync(server, bob, workers={"central": 2})
    assert refused.status_code == 400
    assert refused.json()["code"] == "ProcessingParameterInvalid"
    assert "from 1 to 1" in refused.json()["message"]

    resp = _sync(server, alice, workers={"central": 2})
    assert resp.status_code == 200, resp.text
    usage = json.loads(resp.headers["OpenEO-DEDL-Usage"])
    assert usage["site_workers"] == {"central": 2}


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"placement": "single-site:mars"}, "placement"),
        ({"placement": 3}, "placement"),
        ({"workers": {"mars": 1}}, "mars"),
        ({"workers": {"central": 0}}, "workers"),
        ({"workers": {"central": True}}, "workers"),
        ({"workers": [1]}, "workers"),
        ({"log_level": "loud"}, "log_level"),
        ({"memory": "8GB"}, "memory"),
    ],
)
def test_bad_options_are_400s(server, bob, options, named):
    for path in ("/result", "/jobs"):
        resp = requests.post(
            f"{server}{API}{path}",
            json={"process": {"process_graph": GRAPH}, **options},
            headers=bob,
            timeout=30,
        )
        assert resp.status_code == 400, (path, resp.text)
        body = resp.json()
        assert body["code"] in ("ProcessingParameterInvalid", "BadRequest")
        assert named in body["message"]


def _job(server, headers, **fields) -> str:
    resp = requests.post(
        f"{server}{API}/jobs",
        json={"process": {"process_graph": GRAPH}, **fields},
        headers=headers,
        timeout=30,
    )
    assert resp.status_code == 201, resp.text
    job_id = resp.headers["OpenEO-Identifier"]
    started = requests.post(f"{server}{API}/jobs/{job_id}/results", headers=headers, timeout=30)
    assert started.status_code == 202, started.text
    return job_id


def _finished(server, headers, job_id) -> dict:
    return wait_for_value(
        lambda: requests.get(f"{server}{API}/jobs/{job_id}", headers=headers, timeout=10).json(),
        lambda job: job["status"] in ("finished", "error"),
        timeout=300,
        what="job not done",
        every=0.5,
    )


def _levels(server, headers, job_id) -> set[str]:
    logs = requests.get(f"{server}{API}/jobs/{job_id}/logs", headers=headers, timeout=10).json()
    return {entry["level"] for entry in logs["logs"]}


def test_batch_job_options_are_honoured(server, alice):
    quiet = _job(
        server, alice, placement="single-site:lumi", workers={"central": 2}, log_level="warning"
    )
    chatty = _job(server, alice, log_level="debug")
    job = _finished(server, alice, quiet)
    assert job["status"] == "finished", job
    assert job["placement"] == "single-site:lumi" and job["workers"] == {"central": 2}
    assert job["federation:backends"] == ["central", "lumi"]
    assert job["openeo-dedl:usage"]["site_workers"] == {"central": 2}
    assert _levels(server, alice, quiet) <= {"warning", "error"}

    job = _finished(server, alice, chatty)
    assert job["status"] == "finished", job
    assert job["federation:backends"] == ["central"]
    assert "debug" in _levels(server, alice, chatty)


def test_patch_changes_and_resets_options(server, alice):
    resp = requests.post(
        f"{server}{API}/jobs",
        json={"process": {"process_graph": GRAPH}, "placement": "cost", "workers": {"lumi": 1}},
        headers=alice,
        timeout=30,
    )
    url = f"{server}{API}/jobs/{resp.headers['OpenEO-Identifier']}"
    patched = requests.patch(url, json={"workers": None}, headers=alice, timeout=30)
    assert patched.status_code == 204, patched.text
    job = requests.get(url, headers=alice, timeout=10).json()
    assert job["placement"] == "cost" and "workers" not in job
    bad = requests.patch(url, json={"placement": "nowhere"}, headers=alice, timeout=30)
    assert bad.status_code == 400 and bad.json()["code"] == "ProcessingParameterInvalid"


def test_api_1_2_ignores_unknown_properties_but_checks_the_options(server, bob):
    """1.2 clients could always send back-end specific properties; the extension is 1.3's."""
    old = "/openeo/1.2"
    body = {"process": {"process_graph": GRAPH}, "memory": "8GB"}
    created = requests.post(f"{server}{old}/jobs", json=body, headers=bob, timeout=30)
    assert created.status_code == 201, created.text
    bad = requests.post(
        f"{server}{old}/jobs", json={**body, "placement": "nowhere"}, headers=bob, timeout=30
    )
    assert bad.status_code == 400 and bad.json()["code"] == "ProcessingParameterInvalid"
    conforms = requests.get(f"{server}{API}/conformance", timeout=10).json()["conformsTo"]
    assert "https://api.openeo.org/extensions/processing-parameters/0.1.0" in conforms
    assert "https://api.openeo.org/extensions/workspaces/0.1.0" in conforms
    assert requests.get(f"{server}{old}/processing_parameters", timeout=10).status_code == 404
    old_conforms = requests.get(f"{server}{old}/conformance", timeout=10).json()["conformsTo"]
    assert "https://api.openeo.org/extensions/workspaces/0.1.0" not in old_conforms
