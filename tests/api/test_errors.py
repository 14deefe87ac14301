"""Every failure is openEO error JSON with the right status: no framework error pages."""

from __future__ import annotations

import logging

import pytest

from tests.api.conftest import assert_openeo_error


def test_unknown_path(client):
    body = assert_openeo_error(client.get("/openeo/1.2/no/such/path"), 404, "NotFound")
    assert "/no/such/path" in body["message"]
    assert_openeo_error(client.get("/nothing-here"), 404, "NotFound")


def test_other_api_version(client):
    resp = client.get("/openeo/1.1/collections")
    assert_openeo_error(resp, 404, "UnsupportedApiVersion")


def test_wrong_method(client):
    resp = client.delete("/openeo/1.2/collections")
    body = assert_openeo_error(resp, 405, "MethodNotAllowed")
    assert resp.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert "GET" in body["message"]
    assert_openeo_error(client.get("/openeo/1.2/result"), 405, "MethodNotAllowed")


def test_unknown_collection(client):
    body = assert_openeo_error(
        client.get("/openeo/1.2/collections/NOPE"), 404, "CollectionNotFound"
    )
    assert "NOPE" in body["message"]


@pytest.mark.parametrize("path", ["/result", "/validation"])
@pytest.mark.parametrize(
    "content", [b'{"process": {"process_graph": ', b"not json", b"\xff\xfe\x00garbage"]
)
def test_malformed_json_body(client, auth, path, content):
    resp = client.post(
        f"/openeo/1.2{path}", content=content, headers={**auth, "Content-Type": "application/json"}
    )
    assert_openeo_error(resp, 400, "JsonInvalid")


def test_deeply_nested_json_is_refused_not_crashed(client):
    resp = client.post("/openeo/1.2/validation", content=b"[" * 200_000 + b"]" * 200_000)
    assert_openeo_error(resp, 400, "JsonInvalid")


@pytest.mark.parametrize("path", ["/result", "/validation"])
def test_empty_body_has_no_process_graph(client, auth, path):
    resp = client.post(f"/openeo/1.2{path}", headers=auth)
    assert_openeo_error(resp, 400, "ProcessGraphMissing")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ([1, 2], "ProcessGraphMissing"),
        ({}, "ProcessGraphMissing"),
        ({"process_graph": {}}, "ProcessGraphMissing"),  # /validation's shape sent to /result
        ({"process": {}}, "ProcessGraphMissing"),
        ({"process": {"process_graph": [1]}}, "ProcessGraphInvalid"),
        ({"budget": "lots"}, "ProcessGraphMissing"),  # the process first, then the budget
        ({"process": {"process_graph": {}}, "budget": "lots"}, "BudgetInvalid"),
        ({"process": {"process_graph": {}}, "budget": -1}, "BudgetInvalid"),
        ({"process": {"process_graph": {}}, "plan": 5}, "BillingPlanInvalid"),
        ({"process": {"process_graph": {}}, "log_level": "loud"}, "BadRequest"),
    ],
)
def test_result_body_problems(client, auth, body, code):
    resp = client.post("/openeo/1.2/result", json=body, headers=auth)
    assert_openeo_error(resp, 400, code)


@pytest.mark.parametrize("budget", ["NaN", "Infinity", "1e999", '"3"'])
def test_result_budget_must_be_a_finite_number(client, auth, budget):
    body = f'{{"process": {{"process_graph": {{}}}}, "budget": {budget}}}'
    resp = client.post("/openeo/1.2/result", content=body, headers=auth)
    assert_openeo_error(resp, 400, "BudgetInvalid")


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=abc", "limit=-3", "offset=-1", "limit=1_0", "limit=%2B5", "limit=%D9%A3",
     "limit=" + "0" * 5000],
)  # fmt: skip
def test_bad_query_parameters(client, query):
    assert_openeo_error(client.get(f"/openeo/1.2/collections?{query}"), 400, "BadRequest")


def test_counts_beyond_any_list_are_all_or_nothing(client, auth):
    # /files is paginated (the catalog lists are not): three files to count.
    for name in ("a.txt", "b.txt", "c.txt"):
        assert client.put(f"/openeo/1.2/files/{name}", content=b"x", headers=auth).is_success
    everything = client.get("/openeo/1.2/files", headers=auth).json()["files"]
    assert len(everything) >= 3
    for huge in (str(2**63), "9" * 30, "9" * 5000):
        resp = client.get(f"/openeo/1.2/files?limit={huge}", headers=auth)
        assert resp.status_code == 200, resp.text
        assert resp.json()["files"] == everything
        resp = client.get(f"/openeo/1.2/files?limit=1&offset={huge}", headers=auth)
        assert resp.status_code == 200, resp.text
        assert resp.json()["files"] == []
    one = client.get("/openeo/1.2/files?limit=" + "0" * 5000 + "1", headers=auth).json()["files"]
    assert one == everything[:1]


def test_crash_is_a_generic_500_with_cors_and_a_logged_traceback(stub, stub_client, caplog):
    stub.collection_ids = lambda: 1 / 0
    with caplog.at_level(logging.ERROR, logger="openeo_dedl.api"):
        resp = stub_client.get("/openeo/1.2/collections", headers={"Origin": "https://x.org"})
    body = assert_openeo_error(resp, 500, "Internal")
    assert "ZeroDivision" not in body["message"]  # no internals leak to the client
    assert resp.headers["Access-Control-Allow-Origin"] == "https://x.org"
    logged = [r for r in caplog.records if body["id"] in r.getMessage()]
    assert logged and logged[0].exc_info[0] is ZeroDivisionError


def test_openeo_errors_from_the_backend_pass_through(stub, stub_client, stub_auth):
    from openeo_dedl.errors import ProcessGraphComplexity

    def too_big(process, work_dir):
        raise ProcessGraphComplexity("Too large for synchronous processing.")

    stub.on_run = too_big
    resp = stub_client.post(
        "/openeo/1.2/result", headers=stub_auth, json={"process": {"process_graph": {"a": {}}}}
    )
    body = assert_openeo_error(resp, 400, "ProcessGraphComplexity")
    assert body["message"] == "Too large for synchronous processing."


def test_response_bugs_are_500_json_too(stub, stub_client):
    stub.file_formats = lambda: {"input": object()}  # not serialisable
    assert_openeo_error(stub_client.get("/openeo/1.2/file_formats"), 500, "Internal")
