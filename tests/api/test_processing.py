"""POST /validation and synchronous POST /result."""

from __future__ import annotations

import json
import threading

from openeo_dedl.errors import ProcessUnsupported
from openeo_dedl.execution.result import SyncResult
from openeo_dedl.execution.usage import TransferRecord, Usage
from tests.api.conftest import assert_openeo_error

ADD = {"a": {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": True}}


def test_sync_result_on_the_real_backend(client, auth, settings):
    resp = client.post("/openeo/1.2/result", json={"process": {"process_graph": ADD}}, headers=auth)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.json() == 3
    usage = json.loads(resp.headers["OpenEO-DEDL-Usage"])
    assert usage["cross_site_bytes"]["unit"] == "bytes"
    assert "OpenEO-Costs" not in resp.headers  # no number, no header
    assert list((settings.data_dir / "tmp").iterdir()) == []  # work dir gone


def test_sync_result_errors_from_the_real_backend(client, auth):
    pg = {"a": {"process_id": "frobnicate", "arguments": {}, "result": True}}
    resp = client.post("/openeo/1.2/result", json={"process": {"process_graph": pg}}, headers=auth)
    assert_openeo_error(resp, 400, "ProcessUnsupported")
    load = {
        "l": {
            "process_id": "load_collection",
            "arguments": {"id": "NOPE", "spatial_extent": None, "temporal_extent": None},
            "result": True,
        }
    }
    resp = client.post(
        "/openeo/1.2/result", json={"process": {"process_graph": load}}, headers=auth
    )
    assert_openeo_error(resp, 404, "CollectionNotFound")


def test_result_runs_in_a_worker_thread_and_cleans_up(stub, stub_client, stub_auth):
    threads = []

    def run(process, work_dir):
        threads.append(threading.current_thread())
        (work_dir / "scratch.bin").write_bytes(b"x" * 10)
        return stub.write_json_result(process, work_dir)

    stub.on_run = run
    process = {"process_graph": ADD, "id": "my_add", "x-extra": {"keep": True}}
    resp = stub_client.post(
        "/openeo/1.2/result", headers=stub_auth, json={"process": process, "budget": 3, "custom": 1}
    )
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"ok": True}
    assert 'filename="result.json"' in resp.headers["Content-Disposition"]
    sent, work_dir = stub.run_calls[0]
    assert sent == process  # passed through exactly, extra fields included
    assert not work_dir.exists()
    assert work_dir.parent == stub.settings.data_dir / "tmp"
    assert threads[0] is not threading.main_thread()
    assert threads[0].name != "MainThread"


def test_work_dir_is_removed_when_the_run_fails(stub, stub_client, stub_auth):
    def fail(process, work_dir):
        (work_dir / "partial.tif").write_bytes(b"x")
        raise ProcessUnsupported("nope")

    stub.on_run = fail
    resp = stub_client.post(
        "/openeo/1.2/result", headers=stub_auth, json={"process": {"process_graph": ADD}}
    )
    assert_openeo_error(resp, 400, "ProcessUnsupported")
    assert not stub.work_dirs[0].exists()

    stub.on_run = lambda process, work_dir: 1 / 0
    resp = stub_client.post(
        "/openeo/1.2/result", headers=stub_auth, json={"process": {"process_graph": ADD}}
    )
    assert_openeo_error(resp, 500, "Internal")
    assert not stub.work_dirs[1].exists()


def test_costs_header_only_with_a_number(stub, stub_client, stub_auth):
    def with_costs(costs):
        def run(process, work_dir):
            result = stub.write_json_result(process, work_dir)
            return SyncResult(result.path, result.media_type, usage=Usage(costs=costs))

        return run

    for costs, header in [(1.5, "1.5"), (2, "2"), (None, None)]:
        stub.on_run = with_costs(costs)
        resp = stub_client.post(
            "/openeo/1.2/result", headers=stub_auth, json={"process": {"process_graph": ADD}}
        )
        assert resp.status_code == 200
        assert resp.headers.get("OpenEO-Costs") == header, costs


def test_huge_usage_is_trimmed_for_the_header(stub, stub_client, stub_auth):
    def run(process, work_dir):
        result = stub.write_json_result(process, work_dir)
        transfers = [TransferRecord(f"n{i}", "lumi", "central", i) for i in range(1000)]
        return SyncResult(result.path, result.media_type, usage=Usage(transfers=transfers))

    stub.on_run = run
    resp = stub_client.post(
        "/openeo/1.2/result", headers=stub_auth, json={"process": {"process_graph": ADD}}
    )
    usage = json.loads(resp.headers["OpenEO-DEDL-Usage"])
    assert usage["cross_site_bytes"]["value"] == sum(range(1000))
    assert usage["transfers"] == [] and usage["transfers_omitted"] == 1000


def test_validation_is_public_and_always_200(client):
    resp = client.post("/openeo/1.2/validation", json={"process_graph": ADD})
    assert resp.status_code == 200 and resp.json()["errors"] == []
    missing = {"p": {"process_id": "add", "arguments": {"x": 1}, "result": True}}
    errors = client.post("/openeo/1.2/validation", json={"process_graph": missing}).json()["errors"]
    assert [e["code"] for e in errors] == ["ProcessParameterRequired"]
    for body in ({}, [], None, "text"):
        resp = client.post("/openeo/1.2/validation", content=json.dumps(body))
        assert resp.status_code == 200
        assert [e["code"] for e in resp.json()["errors"]] == ["ProcessGraphMissing"]


def test_validation_accepts_json_without_a_json_content_type(client):
    resp = client.post(
        "/openeo/1.2/validation",
        content=json.dumps({"process_graph": ADD}),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert resp.json()["errors"] == []


def _reduced_load(collection: str, band: str, reducer: str) -> dict:
    bbox = {"west": 67.5, "south": 26.5, "east": 68.5, "north": 27.5}
    return {
        "process_id": "reduce_dimension",
        "arguments": {
            "data": {
                "process_id": "load_collection",
                "arguments": {
                    "id": collection,
                    "spatial_extent": bbox,
                    "temporal_extent": ["2022-08-15", "2022-09-15"],
                    "bands": [band],
                },
            },
            "dimension": "t",
            "reducer": {
                "process_graph": {
                    "r": {
                        "process_id": reducer,
                        "arguments": {"data": {"from_parameter": "data"}},
                        "result": True,
                    }
                }
            },
        },
    }


def test_validation_of_a_valid_two_site_process_explains_its_plan(client):
    flood = _reduced_load("GFM_FLOOD", "flood_extent", "max")
    precip = _reduced_load("ERA5_LAND", "total_precipitation", "sum")
    pg = {}
    for name, reduced in (("flood", flood), ("precip", precip)):
        pg[f"{name}_load"] = reduced["arguments"]["data"]
        pg[name] = {**reduced, "arguments": {**reduced["arguments"]}}
        pg[name]["arguments"]["data"] = {"from_node": f"{name}_load"}
    pg["on_grid"] = {
        "process_id": "resample_cube_spatial",
        "arguments": {"data": {"from_node": "precip"}, "target": {"from_node": "flood"}},
    }
    pg["masked"] = {
        "process_id": "mask",
        "arguments": {"data": {"from_node": "on_grid"}, "mask": {"from_node": "flood"}},
        "result": True,
    }
    body = client.post("/openeo/1.2/validation", json={"process_graph": pg}).json()
    assert body["errors"] == []
    plan = body["openeo-dedl:plan"]
    assert plan["node_sites"]["flood_load"] == "central"
    assert plan["node_sites"]["precip_load"] == plan["node_sites"]["precip"] == "lumi"
    # Only the reduced precipitation leaves LUMI, and that is cheaper than shipping raw data.
    assert [(t["node"], t["from_site"], t["to_site"]) for t in plan["transfers"]] == [
        ("precip", "lumi", "central")
    ]
    estimated = plan["estimated_bytes"]
    assert 0 < estimated["planned"] < estimated["naive"]


def test_invalid_process_gets_no_plan(client):
    missing = {"p": {"process_id": "add", "arguments": {"x": 1}, "result": True}}
    body = client.post("/openeo/1.2/validation", json={"process_graph": missing}).json()
    assert body["errors"] and "openeo-dedl:plan" not in body


def test_validation_that_raises_a_user_error_still_answers_200(stub, stub_client):
    stub.validate_result = ProcessUnsupported("raised, not returned")
    resp = stub_client.post("/openeo/1.2/validation", json={"process_graph": ADD})
    assert resp.status_code == 200
    assert resp.json()["errors"][0]["code"] == "ProcessUnsupported"
    stub.validate_result = RuntimeError("bug")
    assert_openeo_error(
        stub_client.post("/openeo/1.2/validation", json={"process_graph": ADD}), 500, "Internal"
    )


def _era5(**arguments) -> dict:
    return {
        "process_id": "load_collection",
        "arguments": {
            "id": "ERA5_LAND",
            "spatial_extent": {"west": 67, "south": 26, "east": 68, "north": 27},
            "temporal_extent": ["2022-08-20", "2022-08-22"],
            **arguments,
        },
    }


def _absolute(reference) -> dict:
    return {
        "l": _era5(),
        "a": {
            "process_id": "apply",
            "arguments": {
                "data": reference,
                "process": {
                    "process_graph": {
                        "r": {
                            "process_id": "absolute",
                            "arguments": {"x": {"from_parameter": "x"}},
                            "result": True,
                        }
                    }
                },
            },
            "result": True,
        },
    }


def test_malformed_references_are_invalid_process_graphs(client, auth):
    for reference in ({"from_node": ["l"]}, {"from_node": 5}, {"from_node": "l", "x": 1}):
        pg = _absolute(reference)
        resp = client.post("/openeo/1.2/validation", json={"process_graph": pg})
        assert resp.status_code == 200, resp.text
        assert [e["code"] for e in resp.json()["errors"]] == ["ProcessGraphInvalid"]
        resp = client.post(
            "/openeo/1.2/result", json={"process": {"process_graph": pg}}, headers=auth
        )
        assert_openeo_error(resp, 400, "ProcessGraphInvalid")


def test_non_finite_extents_are_invalid_parameters(client, auth):
    box = {"west": "inf", "south": 26, "east": 68, "north": 27}
    point = '{"type": "Point", "coordinates": [1e400, 26.5]}'
    bodies = [
        json.dumps({"process_graph": {"l": {**_era5(spatial_extent=box), "result": True}}}),
        '{"process_graph": {"l": ' + json.dumps(_era5()) + ', "f": {"process_id": '
        '"filter_spatial", "arguments": {"data": {"from_node": "l"}, "geometries": '
        + point
        + '}, "result": true}}}',
        json.dumps(
            {
                "process_graph": {
                    "l": _era5(),
                    "f": {
                        "process_id": "filter_bbox",
                        "arguments": {
                            "data": {"from_node": "l"},
                            "extent": {"west": 67, "south": float("nan"), "east": 68, "north": 27},
                        },
                        "result": True,
                    },
                }
            }
        ),
    ]
    for body in bodies:
        resp = client.post(
            "/openeo/1.2/validation",
            content=body,
            headers={"Content-Type": "application/json"},
        )
        assert resp.status_code == 200, resp.text
        assert [e["code"] for e in resp.json()["errors"]] == ["ProcessParameterInvalid"], body
        resp = client.post(
            "/openeo/1.2/result",
            content='{"process": ' + body + "}",
            headers={**auth, "Content-Type": "application/json"},
        )
        assert_openeo_error(resp, 400, "ProcessParameterInvalid")


def test_plain_values_where_a_data_cube_is_needed_are_invalid_parameters(client, auth):
    data = {"from_parameter": "data"}
    total = {
        "process_graph": {"s": {"process_id": "sum", "arguments": {"data": data}, "result": True}}
    }
    point = {"type": "Point", "coordinates": [68.0, 27.0]}
    cases = [
        ("reduce_dimension", {"data": 1, "dimension": "t", "reducer": total}, "data", "a number"),
        (
            "aggregate_spatial",
            {"data": [1, 2], "geometries": point, "reducer": total},
            "data",
            "an array",
        ),  # fmt: skip
        (
            "resample_cube_spatial",
            {"data": {"from_node": "l"}, "target": "x"},
            "target",
            "a string",
        ),  # fmt: skip
        ("merge_cubes", {"cube1": {"from_node": "l"}, "cube2": {"a": 1}}, "cube2", "an object"),
        ("mask_polygon", {"data": True, "mask": point}, "data", "a boolean"),
    ]
    for process_id, arguments, name, kind in cases:
        pg = {"l": _era5(), "p": {"process_id": process_id, "arguments": arguments, "result": True}}
        resp = client.post(
            "/openeo/1.2/result", json={"process": {"process_graph": pg}}, headers=auth
        )
        assert_openeo_error(resp, 400, "ProcessParameterInvalid")
        message = resp.json()["message"]
        assert f"'{name}' in process '{process_id}'" in message and kind in message, message
