"""``POST /jobs`` and ``PATCH /jobs/{id}`` refuse what ``POST /validation`` finds invalid, with
the same error code (one prepare path: planning/prepare.py), and store nothing."""

from __future__ import annotations

import pytest

from tests.jobs.conftest import API, SCALAR_GRAPH, create_job, wait_for


def _add(**arguments) -> dict:
    return {"process_id": "add", "arguments": {"x": 1, "y": 2, **arguments}}


def _load(collection: str) -> dict:
    return {
        "process_id": "load_collection",
        "arguments": {"id": collection, "spatial_extent": None, "temporal_extent": None},
        "result": True,
    }


# name -> (process graph, code, status): what /validation and /result answer for it.
INVALID = {
    "cycle": (
        {
            "a": _add(x={"from_node": "b"}),
            "b": {**_add(x={"from_node": "a"}), "result": True},
        },
        "ProcessGraphInvalid",
        400,
    ),
    "unknown process": (
        {"a": {"process_id": "frobnicate", "arguments": {}, "result": True}},
        "ProcessUnsupported",
        400,
    ),
    "unknown parameter": ({"a": {**_add(z=3), "result": True}}, "ProcessParameterUnsupported", 400),
    "missing required parameter": (
        {"a": {"process_id": "add", "arguments": {"x": 1}, "result": True}},
        "ProcessParameterRequired",
        400,
    ),
    "from_node to a missing node": (
        {"a": {**_add(x={"from_node": "nowhere"}), "result": True}},
        "ProcessGraphInvalid",
        400,
    ),
    "no result node": ({"a": _add()}, "ProcessGraphInvalid", 400),
    "two result nodes": (
        {"a": {**_add(), "result": True}, "b": {**_add(), "result": True}},
        "ProcessGraphInvalid",
        400,
    ),
    "invalid namespace": (
        {"a": {**_add(), "namespace": "elsewhere", "result": True}},
        "ProcessUnsupported",
        400,
    ),
    "unknown parameter in a callback": (
        {
            "a": {
                "process_id": "array_apply",
                "arguments": {
                    "data": [1, 2],
                    "process": {"process_graph": {"r": {**_add(w=1), "result": True}}},
                },
                "result": True,
            }
        },
        "ProcessParameterUnsupported",
        400,
    ),
}


def _validation_code(client, auth, graph: dict) -> str:
    body = client.post(f"{API}/validation", json={"process_graph": graph}, headers=auth).json()
    assert body["errors"], body
    return body["errors"][0]["code"]


def _assert_refused(resp, code: str, status: int) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["code"] == code, body
    assert body["message"] and body["id"]


def _job_ids(client, auth) -> set[str]:
    return {j["id"] for j in client.get(f"{API}/jobs", headers=auth).json()["jobs"]}


@pytest.mark.parametrize("name", list(INVALID))
def test_create_refuses_an_invalid_process_like_validation(client, alice, name):
    graph, code, status = INVALID[name]
    assert _validation_code(client, alice, graph) == code
    before = _job_ids(client, alice)
    resp = client.post(f"{API}/jobs", json={"process": {"process_graph": graph}}, headers=alice)
    _assert_refused(resp, code, status)
    assert _job_ids(client, alice) == before  # nothing was stored


@pytest.mark.parametrize("name", list(INVALID))
def test_update_refuses_an_invalid_process_like_validation(client, alice, name):
    graph, code, status = INVALID[name]
    job_id = create_job(client, alice, SCALAR_GRAPH, title="kept")
    resp = client.patch(
        f"{API}/jobs/{job_id}",
        json={"process": {"process_graph": graph}, "title": "changed"},
        headers=alice,
    )
    _assert_refused(resp, code, status)
    job = client.get(f"{API}/jobs/{job_id}", headers=alice).json()
    # Nothing of a refused update is applied.
    assert job["process"] == {"process_graph": SCALAR_GRAPH} and job["title"] == "kept"


def test_a_job_on_a_collection_not_in_the_catalog_yet_is_created_and_fails_at_start(client, alice):
    """Catalogs change (a STAC API adds collections): an unknown collection is the one error
    a job may be created with; /validation names it, and the job fails with it when started."""
    graph = {"l": _load("NO_SUCH_COLLECTION")}
    assert _validation_code(client, alice, graph) == "CollectionNotFound"
    job_id = create_job(client, alice, graph)
    assert client.post(f"{API}/jobs/{job_id}/results", headers=alice).status_code == 202
    job = wait_for(client, alice, job_id, {"error", "finished"})
    assert job["status"] == "error"
    logs = client.get(f"{API}/jobs/{job_id}/logs", headers=alice).json()["logs"]
    assert any(e.get("code") == "CollectionNotFound" for e in logs), logs


def test_another_users_job_is_not_found_before_its_update_is_checked(client, alice, bob):
    job_id = create_job(client, alice, SCALAR_GRAPH)
    graph = INVALID["unknown process"][0]
    resp = client.patch(
        f"{API}/jobs/{job_id}", json={"process": {"process_graph": graph}}, headers=bob
    )
    _assert_refused(resp, "JobNotFound", 404)


def test_calls_of_the_users_own_processes_are_inlined_when_checking(client, alice, bob):
    udp = {
        "parameters": [{"name": "v", "schema": {"type": "number"}}],
        "process_graph": {
            "r": {"process_id": "absolute", "arguments": {"x": {"from_parameter": "v"}}}
        },
    }
    udp["process_graph"]["r"]["result"] = True
    put = client.put(f"{API}/process_graphs/my_abs", json=udp, headers=alice)
    assert put.status_code == 200, put.text
    call = {"c": {"process_id": "my_abs", "arguments": {"v": -3}, "result": True}}
    create_job(client, alice, call)  # alice's process exists for alice
    refused = client.post(f"{API}/jobs", json={"process": {"process_graph": call}}, headers=bob)
    _assert_refused(refused, "ProcessUnsupported", 400)  # but not for bob
    wrong = {"c": {"process_id": "my_abs", "arguments": {"w": -3}, "result": True}}
    resp = client.post(f"{API}/jobs", json={"process": {"process_graph": wrong}}, headers=alice)
    _assert_refused(resp, _validation_code(client, alice, wrong), 400)
