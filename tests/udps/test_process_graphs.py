"""/process_graphs: store, list, read, replace, delete; checks on save; calls in process graphs."""

from __future__ import annotations

import json

import jsonschema
import pytest

from tests.api.conftest import assert_openeo_error
from tests.api.test_spec_compliance import _json_schema

API = "/openeo/1.2"


def double(pid: str = "double", factor: float = 2) -> dict:
    """A process multiplying its parameter ``x`` by ``factor``."""
    return {
        "id": pid,
        "summary": "Doubles a number",
        "description": "x times two",
        "parameters": [
            {"name": "x", "description": "a number", "schema": {"type": "number"}},
        ],
        "returns": {"description": "2x", "schema": {"type": "number"}},
        "process_graph": {
            "m": {
                "process_id": "multiply",
                "arguments": {"x": {"from_parameter": "x"}, "y": factor},
                "result": True,
            }
        },
    }


def calling(pid: str, namespace: str | None = "user", **arguments) -> dict:
    node = {"process_id": pid, "arguments": arguments or {"x": 21}, "result": True}
    if namespace is not None:
        node["namespace"] = namespace
    return {"process_graph": {"call": node}}


@pytest.fixture
def clean(client, alice, bob):
    """Nobody has processes before and after the test."""
    yield
    for user in (alice, bob):
        for p in client.get(f"{API}/process_graphs", headers=user).json()["processes"]:
            client.delete(f"{API}/process_graphs/{p['id']}", headers=user)


def _response_schema(openapi_dict, path: str) -> jsonschema.Draft202012Validator:
    """The spec's 200 schema of ``GET path`` (oneOf relaxed as for /processes)."""
    schema = openapi_dict["paths"][path]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"
    ]
    return jsonschema.Draft202012Validator(_json_schema(openapi_dict, schema))


def test_store_list_read_replace_delete(client, alice, clean, check_spec, openapi_dict):
    body = {**double(), "id": "ignored", "public": False}
    resp = check_spec(client.put(f"{API}/process_graphs/double", json=body, headers=alice))
    assert resp.status_code == 200, resp.text
    stored = client.get(f"{API}/process_graphs/double", headers=alice).json()
    _response_schema(openapi_dict, "/process_graphs/{process_graph_id}").validate(stored)
    assert stored["id"] == "double"  # the path's id wins over the body's
    assert stored["process_graph"] == double()["process_graph"]
    assert stored["parameters"] == double()["parameters"]
    client.put(f"{API}/process_graphs/add_one", json=double("add_one", 1), headers=alice)

    listing = client.get(f"{API}/process_graphs", headers=alice).json()
    _response_schema(openapi_dict, "/process_graphs").validate(listing)
    assert [p["id"] for p in listing["processes"]] == ["add_one", "double"]
    assert all("process_graph" not in p for p in listing["processes"])
    assert listing["processes"][1]["summary"] == "Doubles a number"
    page = client.get(f"{API}/process_graphs?limit=1", headers=alice).json()
    assert [p["id"] for p in page["processes"]] == ["add_one"]
    assert any(link["rel"] == "next" for link in page["links"])

    client.put(f"{API}/process_graphs/double", json=double(factor=3), headers=alice)
    graph = client.get(f"{API}/process_graphs/double", headers=alice).json()["process_graph"]
    assert graph["m"]["arguments"]["y"] == 3

    resp = check_spec(client.delete(f"{API}/process_graphs/double", headers=alice))
    assert resp.status_code == 204
    assert_openeo_error(
        client.get(f"{API}/process_graphs/double", headers=alice), 404, "ProcessGraphNotFound"
    )
    assert_openeo_error(
        client.delete(f"{API}/process_graphs/double", headers=alice), 404, "ProcessGraphNotFound"
    )


def test_process_graphs_need_authentication(client):
    assert_openeo_error(client.get(f"{API}/process_graphs"), 401, "AuthenticationRequired")
    resp = client.put(f"{API}/process_graphs/double", json=double())
    assert_openeo_error(resp, 401, "AuthenticationRequired")


def _with(**changes) -> dict:
    return {**double(), **changes}


def _graph(**nodes) -> dict:
    return _with(process_graph=nodes)


INVALID = [
    ("bad-id", double(), 400, "ProcessInvalid"),
    ("ümlaut", double(), 400, "ProcessInvalid"),
    ("x" * 256, double(), 400, "ProcessInvalid"),
    ("a%00b", double(), 400, "ProcessInvalid"),
    ("p%0A", double(), 400, "ProcessInvalid"),
    # NUL characters (PostgreSQL cannot store them).
    ("p", _with(description="a\u0000"), 400, "BadRequest"),
    ("p", _with(description="a\ud800"), 400, "BadRequest"),
    (
        "p",
        _with(parameters=[{"name": "x", "description": "\u0000", "schema": {}}]),
        400,
        "BadRequest",
    ),
    (
        "p",
        _graph(a={"process_id": "text_concat", "arguments": {"data": ["\u0000"]}, "result": True}),
        400,
        "ProcessGraphInvalid",
    ),
    ("mean", double(), 400, "PredefinedProcessExists"),
    ("p", {"summary": "no graph"}, 400, "ProcessGraphMissing"),
    ("p", [1, 2], 400, "ProcessGraphMissing"),
    (
        "p",
        _graph(a={"process_id": "no_such_process", "arguments": {}, "result": True}),
        400,
        "ProcessUnsupported",
    ),
    (
        "p",
        _graph(a={"process_id": "multiply", "arguments": {"x": 1}, "result": True}),
        400,
        "ProcessParameterRequired",
    ),
    (
        "p",
        _graph(a={"process_id": "multiply", "arguments": {"x": 1, "y": 2, "z": 3}, "result": True}),
        400,
        "ProcessParameterUnsupported",
    ),
    (
        "p",
        _graph(
            a={
                "process_id": "multiply",
                "arguments": {"x": {"from_parameter": "nope"}, "y": 2},
                "result": True,
            }
        ),
        400,
        "ProcessGraphInvalid",
    ),
    (
        "p",
        _graph(a={"process_id": "multiply", "arguments": {"x": 1, "y": 2}}),
        400,
        "ProcessGraphInvalid",
    ),
    (
        "p",
        _graph(
            a={
                "process_id": "load_collection",
                "arguments": {"id": "NOPE", "spatial_extent": None, "temporal_extent": None},
                "result": True,
            }
        ),
        404,
        "CollectionNotFound",
    ),
    ("p", _with(parameters={"x": 1}), 400, "ProcessInvalid"),
    ("p", _with(parameters=[{"name": "x"}, {"name": "x"}]), 400, "ProcessInvalid"),
    ("p", _with(parameters=[{"description": "no name"}]), 400, "ProcessInvalid"),
    ("p", _with(returns="number"), 400, "ProcessInvalid"),
    # Parameter and return value fields of the wrong type (the spec's process_parameter).
    (
        "p",
        _with(parameters=[{"name": "x", "description": "x", "schema": 5}]),
        400,
        "ProcessInvalid",
    ),
    (
        "p",
        _with(parameters=[{"name": "x", "description": "x", "schema": None}]),
        400,
        "ProcessInvalid",
    ),
    (
        "p",
        _with(parameters=[{"name": "x", "description": "x", "schema": []}]),
        400,
        "ProcessInvalid",
    ),
    (
        "p",
        _with(parameters=[{"name": "x", "description": "x", "schema": [{}, "number"]}]),
        400,
        "ProcessInvalid",
    ),
    (
        "p",
        _with(parameters=[{"name": "x", "description": "x", "schema": {}, "optional": "yes"}]),
        400,
        "ProcessInvalid",
    ),
    ("p", _with(parameters=[{"name": "x", "description": 7, "schema": {}}]), 400, "ProcessInvalid"),
    ("p", _with(parameters=[{"name": "x", "schema": {}, "deprecated": 1}]), 400, "ProcessInvalid"),
    ("p", _with(parameters=[{"name": "x-y", "schema": {}}]), 400, "ProcessInvalid"),
    ("p", _with(returns={"schema": "number"}), 400, "ProcessInvalid"),
    ("p", _with(returns={"schema": {}, "description": ["x"]}), 400, "ProcessInvalid"),
    ("p", _with(categories="math"), 400, "ProcessInvalid"),
    ("p", _with(categories=["math", 1]), 400, "ProcessInvalid"),
    ("p", _with(experimental="no"), 400, "ProcessInvalid"),
    ("p", _with(summary=42), 400, "ProcessInvalid"),
    # Calls itself.
    (
        "p",
        _graph(a={"process_id": "p", "namespace": "user", "arguments": {"x": 1}, "result": True}),
        400,
        "ProcessGraphInvalid",
    ),
]


@pytest.mark.parametrize(("pid", "body", "status", "code"), INVALID)
def test_invalid_processes_are_not_stored(client, alice, clean, pid, body, status, code):
    # json.dumps: escapes what httpx's UTF-8 encoding could not send (unpaired surrogates).
    resp = client.put(f"{API}/process_graphs/{pid}", content=json.dumps(body), headers=alice)
    assert_openeo_error(resp, status, code)
    assert client.get(f"{API}/process_graphs", headers=alice).json()["processes"] == []


def test_well_typed_parameters_are_stored(client, alice, clean):
    body = _with(
        parameters=[
            {"name": "x", "description": "a number", "optional": False, "deprecated": False,
             "experimental": True, "schema": [{"type": "number"}, {"type": "null"}]},
        ],
        returns={"description": "2x", "schema": [{"type": "number"}]},
        categories=["math"],
        experimental=False,
    )  # fmt: skip
    assert client.put(f"{API}/process_graphs/p", json=body, headers=alice).status_code == 200
    stored = client.get(f"{API}/process_graphs/p", headers=alice).json()
    assert stored["parameters"] == body["parameters"] and stored["returns"] == body["returns"]


@pytest.mark.parametrize("pid", ["a%00b", "%00", "p%0A", "x" * 256, "bad-id", "ümlaut", "nope"])
def test_ids_no_process_can_have_are_not_found(client, alice, clean, pid):
    assert client.put(f"{API}/process_graphs/p", json=double("p"), headers=alice).status_code == 200
    for method in ("GET", "DELETE"):
        resp = client.request(method, f"{API}/process_graphs/{pid}", headers=alice)
        body = assert_openeo_error(resp, 404, "ProcessGraphNotFound")
        assert "\x00" not in body["message"]
    assert client.get(f"{API}/process_graphs/p", headers=alice).status_code == 200


def test_mutual_recursion_is_refused(client, alice, clean):
    a = double("a")
    b = _graph(c={"process_id": "a", "arguments": {"x": {"from_parameter": "x"}}, "result": True})
    assert client.put(f"{API}/process_graphs/a", json=a, headers=alice).status_code == 200
    assert client.put(f"{API}/process_graphs/b", json=b, headers=alice).status_code == 200
    a_calls_b = _graph(
        c={
            "process_id": "b",
            "namespace": "user",
            "arguments": {"x": {"from_parameter": "x"}},
            "result": True,
        }
    )
    resp = client.put(f"{API}/process_graphs/a", json=a_calls_b, headers=alice)
    body = assert_openeo_error(resp, 400, "ProcessGraphInvalid")
    assert "a -> b -> a" in body["message"] or "b -> a -> b" in body["message"]
    # The stored version of `a` is unchanged.
    assert (
        client.get(f"{API}/process_graphs/a", headers=alice).json()["process_graph"]
        == (a["process_graph"])
    )


def test_stored_processes_can_be_called_in_validation(client, alice, clean):
    client.put(f"{API}/process_graphs/double", json=double(), headers=alice)
    for namespace in ("user", None):
        resp = client.post(f"{API}/validation", json=calling("double", namespace), headers=alice)
        assert resp.status_code == 200 and resp.json()["errors"] == [], resp.text
    errors = client.post(
        f"{API}/validation", json=calling("double", "backend"), headers=alice
    ).json()["errors"]
    assert [e["code"] for e in errors] == ["ProcessUnsupported"]
    missing = {"process_graph": {"c": {"process_id": "double", "arguments": {}, "result": True}}}
    errors = client.post(f"{API}/validation", json=missing, headers=alice).json()["errors"]
    assert [e["code"] for e in errors] == ["ProcessParameterRequired"]
    unknown = calling("double", x=1, y=2)
    errors = client.post(f"{API}/validation", json=unknown, headers=alice).json()["errors"]
    assert [e["code"] for e in errors] == ["ProcessParameterUnsupported"]
    # Without credentials there are no user processes.
    errors = client.post(f"{API}/validation", json=calling("double")).json()["errors"]
    assert [e["code"] for e in errors] == ["ProcessUnsupported"]


def test_a_stored_process_runs_in_a_synchronous_request(client, alice, clean):
    client.put(f"{API}/process_graphs/double", json=double(), headers=alice)
    # `quadruple` calls `double` twice: nested user processes are inlined too.
    quadruple = _graph(
        a={"process_id": "double", "arguments": {"x": {"from_parameter": "x"}}},
        b={
            "process_id": "double",
            "namespace": "user",
            "arguments": {"x": {"from_node": "a"}},
            "result": True,
        },
    )
    assert (
        client.put(f"{API}/process_graphs/quadruple", json=quadruple, headers=alice).status_code
        == 200
    )
    graph = {
        "process_graph": {
            "q": {"process_id": "quadruple", "arguments": {"x": 10.5}},
            "s": {
                "process_id": "save_result",
                "arguments": {"data": {"from_node": "q"}, "format": "JSON"},
                "result": True,
            },
        }
    }
    resp = client.post(f"{API}/result", json={"process": graph}, headers=alice)
    assert resp.status_code == 200, resp.text
    assert resp.json() == 42


def test_a_stored_process_runs_in_a_batch_job(client, alice, bob, clean):
    from tests.jobs.conftest import run_job

    client.put(f"{API}/process_graphs/double", json=double(), headers=alice)
    graph = {
        "d": {"process_id": "double", "arguments": {"x": 21}},
        "s": {
            "process_id": "save_result",
            "arguments": {"data": {"from_node": "d"}, "format": "JSON"},
            "result": True,
        },
    }
    job_id, job = run_job(client, alice, graph)
    assert job["status"] == "finished", job
    estimate = client.get(f"{API}/jobs/{job_id}/estimate", headers=alice)
    assert estimate.status_code == 200, estimate.text
    item = client.get(f"{API}/jobs/{job_id}/results", headers=alice).json()
    ((asset,),) = [list(item["assets"].values())]
    assert client.get(asset["href"]).json() == 42
    # Bob's job calling alice's process is refused: he has no such process.
    refused = client.post(f"{API}/jobs", json={"process": {"process_graph": graph}}, headers=bob)
    assert_openeo_error(refused, 400, "ProcessUnsupported")
