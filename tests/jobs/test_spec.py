"""Batch job responses validated against the official openEO API 1.2 spec (openapi-core)."""

from __future__ import annotations

import jsonschema

from tests.api.conftest import check_spec, openapi, openapi_dict  # noqa: F401 - fixtures
from tests.api.test_spec_compliance import _json_schema
from tests.jobs.conftest import API, RASTER_GRAPH, SCALAR_GRAPH, create_job, run_job


def check_unlocated_item(openapi_dict, resp) -> None:  # noqa: F811
    """Results without a location (``geometry: null``, which the spec allows) against the
    spec's STAC Item schema: openapi-core ignores ``nullable`` next to ``allOf`` there."""
    assert resp.status_code == 200, resp.text
    schema = {"$ref": "#/components/schemas/batch_job_result"}
    jsonschema.Draft202012Validator(_json_schema(openapi_dict, schema)).validate(resp.json())
    assert resp.json()["geometry"] is None


def test_job_endpoints_match_the_spec(client, alice, check_spec, openapi_dict):  # noqa: F811
    created = check_spec(
        client.post(
            f"{API}/jobs",
            json={"process": {"process_graph": SCALAR_GRAPH}, "title": "t", "plan": None},
            headers=alice,
        )
    )
    job_id = created.headers["OpenEO-Identifier"]
    check_spec(client.get(f"{API}/jobs/{job_id}", headers=alice))
    check_spec(client.get(f"{API}/jobs", headers=alice))
    check_spec(client.get(f"{API}/jobs?limit=1", headers=alice))
    check_spec(client.patch(f"{API}/jobs/{job_id}", json={"title": "u"}, headers=alice))
    check_spec(client.get(f"{API}/jobs/{job_id}/estimate", headers=alice))
    check_spec(client.get(f"{API}/jobs/{job_id}/results", headers=alice))  # JobNotFinished
    check_unlocated_item(
        openapi_dict, client.get(f"{API}/jobs/{job_id}/results?partial=true", headers=alice)
    )
    check_spec(client.delete(f"{API}/jobs/{job_id}/results", headers=alice))
    check_spec(client.delete(f"{API}/jobs/{job_id}", headers=alice))
    check_spec(client.get(f"{API}/jobs/{job_id}", headers=alice))  # JobNotFound


def test_finished_job_results_and_logs_match_the_spec(client, alice, check_spec):  # noqa: F811
    job_id, job = run_job(client, alice, RASTER_GRAPH, log_level="debug")
    assert job["status"] == "finished"
    check_spec(client.get(f"{API}/jobs/{job_id}", headers=alice))
    check_spec(client.get(f"{API}/jobs", headers=alice))
    check_spec(client.get(f"{API}/jobs/{job_id}/results", headers=alice))
    check_spec(client.get(f"{API}/jobs/{job_id}/logs", headers=alice))
    check_spec(client.get(f"{API}/jobs/{job_id}/logs?offset=1&level=info&limit=2", headers=alice))
    started = client.post(f"{API}/jobs/{create_job(client, alice, SCALAR_GRAPH)}/results",
                          headers=alice)  # fmt: skip
    check_spec(started)


def test_failed_job_results_match_the_spec(client, alice, check_spec):  # noqa: F811
    graph = {"x": {"process_id": "divide", "arguments": {"x": 1, "y": "a"}, "result": True}}
    job_id, job = run_job(client, alice, graph)
    assert job["status"] == "error"
    check_spec(client.get(f"{API}/jobs/{job_id}/results", headers=alice))  # 424 + log entry
