"""Batch jobs through the HTTP API on the real backend, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import re
import time
import warnings
from urllib.parse import parse_qs, urlencode, urlparse

import numpy as np
import pytest
import rasterio

from openeo_dedl.api.app import create_app
from openeo_dedl.jobs.store import run_token
from tests.e2e import direct
from tests.jobs.conftest import (
    API,
    RASTER_GRAPH,
    SCALAR_GRAPH,
    create_job,
    login,
    run_job,
    wait_for,
)
from tests.postgres import create_database

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def assert_error(resp, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["code"] == code, body
    assert body["message"]
    return body


def test_create_answers_201_with_location_and_identifier(client, alice):
    resp = client.post(
        f"{API}/jobs",
        json={"process": {"process_graph": SCALAR_GRAPH}, "title": "sum", "description": "1+2"},
        headers=alice,
    )
    assert resp.status_code == 201, resp.text
    job_id = resp.headers["OpenEO-Identifier"]
    assert re.fullmatch(r"[\w\-.~]+", job_id)
    assert resp.headers["Location"] == f"http://testserver{API}/jobs/{job_id}"
    job = client.get(resp.headers["Location"], headers=alice).json()
    assert job["id"] == job_id and job["status"] == "created" and job["progress"] == 0
    assert job["title"] == "sum" and job["description"] == "1+2"
    assert job["process"] == {"process_graph": SCALAR_GRAPH}
    assert job["log_level"] == "info"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", job["created"])


def test_create_refuses_bodies_without_a_process_graph(client, alice):
    assert_error(
        client.post(f"{API}/jobs", json={"title": "x"}, headers=alice), 400, "ProcessGraphMissing"
    )
    assert_error(
        client.post(f"{API}/jobs", json={"process": {"process_graph": []}}, headers=alice),
        400,
        "ProcessGraphInvalid",
    )
    assert_error(
        client.post(f"{API}/jobs", content=b"{not json", headers=alice), 400, "JsonInvalid"
    )
    body = {"process": {"process_graph": SCALAR_GRAPH}, "log_level": "loud"}
    assert client.post(f"{API}/jobs", json=body, headers=alice).status_code == 400
    # Longer than any plan (and the column: PostgreSQL refused it with a 500).
    body = {"process": {"process_graph": SCALAR_GRAPH}, "plan": "x" * 65}
    assert_error(client.post(f"{API}/jobs", json=body, headers=alice), 400, "BillingPlanInvalid")
    job_id = create_job(client, alice, SCALAR_GRAPH, plan="x" * 64)
    assert_error(client.patch(f"{API}/jobs/{job_id}", json={"plan": "y" * 65}, headers=alice),
                 400, "BillingPlanInvalid")  # fmt: skip


def test_nul_characters_and_lone_surrogates_in_stored_strings_are_refused(client, alice):
    # PostgreSQL cannot store NUL in text nor JSON; SQLite could, but both refuse alike.
    graph_with_nul = {"t": {"process_id": "text_concat", "arguments": {"data": ["a\u0000"]},
                            "result": True}}  # fmt: skip
    key_with_nul = {"a\u0000": SCALAR_GRAPH["add"]}
    for body, code in [
        ({"process": {"process_graph": SCALAR_GRAPH}, "title": "a\u0000b"}, "BadRequest"),
        ({"process": {"process_graph": SCALAR_GRAPH}, "description": "\u0000"}, "BadRequest"),
        ({"process": {"process_graph": SCALAR_GRAPH}, "plan": "\u0000"}, "BadRequest"),
        ({"process": {"process_graph": graph_with_nul}}, "ProcessGraphInvalid"),
        ({"process": {"process_graph": key_with_nul}}, "ProcessGraphInvalid"),
        ({"process": {"process_graph": SCALAR_GRAPH, "summary": "\u0000"}}, "ProcessGraphInvalid"),
        # Unpaired surrogates cannot be encoded as UTF-8 for either database.
        ({"process": {"process_graph": SCALAR_GRAPH}, "title": "\ud800"}, "BadRequest"),
        ({"process": {"process_graph": SCALAR_GRAPH}, "description": "a\udfffb"}, "BadRequest"),
        ({"process": {"process_graph": graph_with_nul, "id": "\ud800"}}, "ProcessGraphInvalid"),
    ]:
        # json.dumps: escapes what httpx's UTF-8 encoding could not send.
        resp = client.post(f"{API}/jobs", content=json.dumps(body), headers=alice)
        assert_error(resp, 400, code)
    job_id = create_job(client, alice, SCALAR_GRAPH, title="t")
    for body, code in [
        ({"title": "a\u0000b"}, "BadRequest"),
        ({"description": "\ud800"}, "BadRequest"),
        ({"process": {"process_graph": graph_with_nul}}, "ProcessGraphInvalid"),
    ]:
        resp = client.patch(f"{API}/jobs/{job_id}", content=json.dumps(body), headers=alice)
        assert_error(resp, 400, code)
    assert client.get(f"{API}/jobs/{job_id}", headers=alice).json()["title"] == "t"


def test_ids_that_no_job_can_have_are_not_found(client, alice):
    job_id = create_job(client, alice, SCALAR_GRAPH)
    for bad in ["a%00b", "%00", job_id + "%00", job_id + "%0A", "x" * 10000, "%C3%A9", "j-nope"]:
        for method, suffix in [("GET", ""), ("PATCH", ""), ("DELETE", ""), ("GET", "/logs"),
                               ("GET", "/results"), ("POST", "/results"),
                               ("DELETE", "/results"), ("GET", "/estimate")]:  # fmt: skip
            resp = client.request(method, f"{API}/jobs/{bad}{suffix}", headers=alice,
                                  json={"title": "x"} if method == "PATCH" else None)  # fmt: skip
            body = assert_error(resp, 404, "JobNotFound")
            assert "\x00" not in body["message"]
        assert_error(client.get(f"{API}/download/{bad}/result.json?expires=1&signature=x"), 403,
                     "ResultLinkInvalid")  # fmt: skip
    assert client.get(f"{API}/jobs/{job_id}", headers=alice).status_code == 200


def test_budgets_must_be_finite_and_not_negative(client, alice):
    graph = json.dumps({"process_graph": SCALAR_GRAPH})
    job_id = create_job(client, alice, SCALAR_GRAPH, budget=5)
    for budget in ("NaN", "Infinity", "-Infinity", "1e999", "-1", '"5"'):
        body = f'{{"process": {graph}, "budget": {budget}}}'
        assert_error(client.post(f"{API}/jobs", content=body, headers=alice), 400, "BudgetInvalid")
        body = f'{{"budget": {budget}}}'
        assert_error(client.patch(f"{API}/jobs/{job_id}", content=body, headers=alice), 400,
                     "BudgetInvalid")  # fmt: skip
    assert client.get(f"{API}/jobs/{job_id}", headers=alice).json()["budget"] == 5
    for budget, stored in (("0", 0), ("1e300", 1e300), ("null", None)):
        body = f'{{"budget": {budget}}}'
        assert client.patch(f"{API}/jobs/{job_id}", content=body, headers=alice).status_code == 204
        assert client.get(f"{API}/jobs/{job_id}", headers=alice).json().get("budget") == stored


def test_jobs_need_authentication(client):
    assert_error(client.get(f"{API}/jobs"), 401, "AuthenticationRequired")
    assert_error(client.post(f"{API}/jobs", json={}), 401, "AuthenticationRequired")


def test_scalar_job_runs_to_finished_with_usage_logs_and_download(client, alice):
    job_id, job = run_job(client, alice, SCALAR_GRAPH, title="scalar")
    assert job["status"] == "finished", job
    assert job["progress"] == 100
    usage = job["usage"]
    assert usage["network"] == {"value": 0, "unit": "b"}
    assert usage["site:central"]["unit"] == "seconds"
    assert all(set(m) == {"value", "unit"} for m in usage.values())
    assert {link["rel"] for link in job["links"]} == {"monitor", "result"}

    logs = client.get(f"{API}/jobs/{job_id}/logs", headers=alice).json()
    messages = [entry["message"] for entry in logs["logs"]]
    assert any("Partition p0 started at site central" in m for m in messages), messages
    assert any(m.startswith("Job finished") for m in messages)
    started = next(e for e in logs["logs"] if "started at site" in e["message"])
    assert started["data"]["site"] == "central" and started["data"]["partition"] == "p0"

    results = client.get(f"{API}/jobs/{job_id}/results", headers=alice)
    assert results.status_code == 200
    item = results.json()
    assert item["type"] == "Feature" and item["id"] == job_id
    assert item["properties"]["openeo:status"] == "finished"
    assert item["geometry"] is None
    ((name, asset),) = item["assets"].items()
    assert asset["type"] == "application/json" and asset["roles"] == ["data"]
    # Signed: no Authorization header needed.
    download = client.get(asset["href"])
    assert download.status_code == 200
    assert download.content == b"3"
    assert asset["file:size"] == len(download.content)
    assert download.headers["content-type"].startswith("application/json")
    assert download.headers["accept-ranges"] == "bytes"
    # A range past its one byte: 416 naming the size (RFC 9110 §15.5.17).
    beyond = client.get(asset["href"], headers={"Range": "bytes=1-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == "bytes */1"
    # The canonical link: the same document, signed, without a token.
    (canonical,) = [link for link in item["links"] if link["rel"] == "canonical"]
    copy = client.get(canonical["href"])
    assert copy.status_code == 200
    assert copy.json()["id"] == job_id and set(copy.json()["assets"]) == {name}
    assert client.get(copy.json()["assets"][name]["href"]).content == b"3"


def test_raster_result_has_projection_and_bbox(client, alice, demo_catalog_dir):
    job_id, job = run_job(client, alice, RASTER_GRAPH)
    assert job["status"] == "finished", job
    item = client.get(f"{API}/jobs/{job_id}/results", headers=alice).json()
    asset = item["assets"]["result.tif"]
    assert asset["type"] == "image/tiff; application=geotiff"
    assert asset["bands"] == [{"name": "ssm"}]
    assert asset["proj:code"] == "EPSG:32632"
    assert asset["proj:shape"] == [80, 120]
    assert asset["proj:bbox"] == [550000.0, 4965000.0, 610000.0, 5005000.0]
    assert len(asset["proj:transform"]) == 6
    west, south, east, north = item["bbox"]
    assert 9.5 < west < east < 10.5 and 44.7 < south < north < 45.3
    assert item["geometry"]["type"] == "Polygon"
    assert item["properties"]["datetime"].endswith("Z")
    download = client.get(asset["href"])
    assert download.status_code == 200 and len(download.content) == asset["file:size"]
    # What a map viewer does with a GeoTIFF: HEAD for the size, then ranges of it.
    head = client.head(asset["href"])
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(asset["file:size"])
    assert head.headers["accept-ranges"] == "bytes"
    size = asset["file:size"]
    for first, last in ((0, 1023), (size - 100, size - 1)):
        part = client.get(asset["href"], headers={"Range": f"bytes={first}-{last}"})
        assert part.status_code == 206
        assert part.headers["content-range"] == f"bytes {first}-{last}/{size}"
        assert part.content == download.content[first : last + 1]
    path = client.app.state.settings.data_dir / "check.tif"
    path.write_bytes(download.content)
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 32632 and (src.height, src.width) == (80, 120)
        assert src.descriptions == ("ssm",)
        got = src.read(1)
    # The same mean computed straight from the demo catalog's files.
    expected = direct.band_stack(demo_catalog_dir, "S1_SSM", "ssm", "2020-01-01", "2020-03-01")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels
        expected = expected.mean("t").values
    assert np.isfinite(got).mean() > 0.5
    np.testing.assert_allclose(got, expected, rtol=1e-5, equal_nan=True)
    logs = client.get(f"{API}/jobs/{job_id}/logs", headers=alice).json()["logs"]
    sites = {e["data"]["site"] for e in logs if (e.get("data") or {}).get("site")}
    assert "leonardo" in sites, logs


def test_signed_links_cannot_be_tampered_with_or_outlive_their_expiry(client, alice, settings):
    job_id, _ = run_job(client, alice, SCALAR_GRAPH)
    href = client.get(f"{API}/jobs/{job_id}/results", headers=alice).json()["assets"][
        "result.json"
    ]["href"]
    url = urlparse(href)
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    base = f"{url.scheme}://{url.netloc}{url.path}"

    def get(path=base, **changes):
        return client.get(f"{path}?{urlencode({**query, **changes})}")

    assert get().status_code == 200
    assert_error(get(expires=str(int(query["expires"]) + 3600)), 403, "ResultLinkInvalid")
    assert_error(get(signature="A" + query["signature"][1:]), 403, "ResultLinkInvalid")
    assert_error(get(base.replace(job_id, job_id[:-1] + "x")), 403, "ResultLinkInvalid")
    assert_error(get(expires="9" * 5000), 403, "ResultLinkInvalid")
    assert_error(get(expires="0" * 5000 + query["expires"]), 403, "ResultLinkInvalid")
    assert_error(client.get(base), 403, "ResultLinkInvalid")
    # A link that expired (signed correctly, in the past) is refused with 410.
    signer = client.app.state.url_signer
    job = client.app.state.jobs.store.load(job_id)
    run = run_token(job)
    past = int(time.time()) - 10
    old = signer.signature(job_id, "result.json", past, run)
    assert_error(get(expires=str(past), signature=old), 410, "ResultLinkExpired")


def _job_calling_a_deleted_process(client, auth, name: str) -> str:
    """A job valid when created (it calls the user's process ``name``), invalid since: the
    process was deleted. (An invalid process is refused at creation.)"""
    udp = {"process_graph": {"a": {"process_id": "add", "arguments": {"x": 1, "y": 2},
                                   "result": True}}}  # fmt: skip
    assert client.put(f"{API}/process_graphs/{name}", json=udp, headers=auth).status_code == 200
    job_id = create_job(client, auth, {"c": {"process_id": name, "arguments": {}, "result": True}})
    assert client.delete(f"{API}/process_graphs/{name}", headers=auth).status_code == 204
    return job_id


def test_failed_job_reports_error_in_status_logs_and_results(client, alice):
    job_id = _job_calling_a_deleted_process(client, alice, "gone_before_start")
    assert client.post(f"{API}/jobs/{job_id}/results", headers=alice).status_code == 202
    job = wait_for(client, alice, job_id, {"finished", "error", "canceled"})
    assert job["status"] == "error", job
    assert job["openeo-dedl:error"]["code"] == "ProcessUnsupported"
    logs = client.get(f"{API}/jobs/{job_id}/logs", headers=alice).json()["logs"]
    errors = [e for e in logs if e["level"] == "error"]
    assert errors and errors[-1]["code"] == "ProcessUnsupported"
    resp = client.get(f"{API}/jobs/{job_id}/results", headers=alice)
    assert resp.status_code == 424
    assert resp.json()["code"] == "ProcessUnsupported" and resp.json()["level"] == "error"
    partial = client.get(f"{API}/jobs/{job_id}/results?partial=true", headers=alice)
    assert partial.status_code == 200
    assert partial.json()["properties"]["openeo:status"] == "error"
    assert partial.json()["assets"] == {}


def test_results_of_an_unfinished_job(client, alice):
    job_id = create_job(client, alice, SCALAR_GRAPH)
    assert_error(client.get(f"{API}/jobs/{job_id}/results", headers=alice), 400, "JobNotFinished")
    partial = client.get(f"{API}/jobs/{job_id}/results", params={"partial": ""}, headers=alice)
    assert partial.status_code == 200
    assert partial.json()["properties"]["openeo:status"] == "running"


def test_logs_offset_level_and_paging(client, alice):
    job_id, _ = run_job(client, alice, SCALAR_GRAPH, log_level="debug")
    everything = client.get(f"{API}/jobs/{job_id}/logs", headers=alice).json()
    assert everything["level"] == "debug"
    ids = [int(e["id"]) for e in everything["logs"]]
    assert ids == sorted(ids) and len(ids) >= 4
    after = client.get(f"{API}/jobs/{job_id}/logs", params={"offset": ids[1]}, headers=alice)
    assert [int(e["id"]) for e in after.json()["logs"]] == ids[2:]
    page = client.get(f"{API}/jobs/{job_id}/logs", params={"limit": 2}, headers=alice).json()
    assert [int(e["id"]) for e in page["logs"]] == ids[:2]
    (next_link,) = [link for link in page["links"] if link["rel"] == "next"]
    rest = client.get(next_link["href"], headers=alice).json()
    assert [int(e["id"]) for e in rest["logs"]] == ids[2:4]
    warnings = client.get(f"{API}/jobs/{job_id}/logs?level=warning", headers=alice).json()
    assert warnings["level"] == "warning"
    assert all(e["level"] in ("warning", "error") for e in warnings["logs"])
    assert_error(client.get(f"{API}/jobs/{job_id}/logs?level=loud", headers=alice), 400,
                 "BadRequest")  # fmt: skip
    assert_error(client.get(f"{API}/jobs/{job_id}/logs?offset=abc", headers=alice), 400,
                 "BadRequest")  # fmt: skip


def test_logs_offset_and_limit_beyond_any_entry(client, alice):
    job_id, _ = run_job(client, alice, SCALAR_GRAPH, log_level="debug")
    ids = [e["id"] for e in client.get(f"{API}/jobs/{job_id}/logs", headers=alice).json()["logs"]]
    assert ids

    def logs(**params):
        resp = client.get(f"{API}/jobs/{job_id}/logs", params=params, headers=alice)
        assert resp.status_code == 200, resp.text
        return [e["id"] for e in resp.json()["logs"]]

    # Past the largest 64-bit id, far past it, and past Python's 4300-digit int parsing limit.
    for huge in (str(2**63 - 1), str(2**63), "9" * 23, "9" * 5000):
        assert logs(offset=huge) == []
        assert logs(limit=huge) == ids
        assert logs(offset=huge, limit=huge) == []
    # Leading zeros do not change the number.
    assert logs(offset="0" * 5000 + ids[0]) == ids[1:]
    assert logs(limit="0" * 5000 + "1") == ids[:1]
    assert_error(client.get(f"{API}/jobs/{job_id}/logs", params={"limit": "0" * 5000},
                            headers=alice), 400, "BadRequest")  # fmt: skip


def test_job_log_level_drops_lower_entries(client, alice):
    job_id, _ = run_job(client, alice, SCALAR_GRAPH, log_level="warning")
    logs = client.get(f"{API}/jobs/{job_id}/logs", headers=alice).json()
    assert logs["level"] == "warning" and logs["logs"] == []


def test_estimate_has_duration_size_and_plan(client, alice):
    job_id = create_job(client, alice, RASTER_GRAPH)
    estimate = client.get(f"{API}/jobs/{job_id}/estimate", headers=alice).json()
    assert re.fullmatch(r"PT(\d+H)?(\d+M)?(\d+S)?", estimate["duration"])
    assert isinstance(estimate["size"], int) and estimate["size"] > 0
    assert estimate["downloads_included"] is None
    assert estimate["expires"].endswith("Z")
    plan = estimate["openeo-dedl:plan"]
    assert plan["partitions"] and {p["site"] for p in plan["partitions"]} == {"leonardo"}


def test_estimate_of_an_invalid_process_is_its_error(client, alice):
    job_id = _job_calling_a_deleted_process(client, alice, "gone_before_estimate")
    assert_error(client.get(f"{API}/jobs/{job_id}/estimate", headers=alice), 400,
                 "ProcessUnsupported")  # fmt: skip


def test_update_changes_only_what_is_sent(client, alice):
    job_id = create_job(client, alice, SCALAR_GRAPH, title="before", description="keep")
    resp = client.patch(f"{API}/jobs/{job_id}", json={"title": "after", "log_level": "error"},
                        headers=alice)  # fmt: skip
    assert resp.status_code == 204
    job = client.get(f"{API}/jobs/{job_id}", headers=alice).json()
    assert job["title"] == "after" and job["description"] == "keep"
    assert job["log_level"] == "error"
    new_graph = {"m": {"process_id": "multiply", "arguments": {"x": 2, "y": 5}, "result": True}}
    client.patch(f"{API}/jobs/{job_id}", json={"process": {"process_graph": new_graph}},
                 headers=alice)  # fmt: skip
    assert client.get(f"{API}/jobs/{job_id}", headers=alice).json()["process"] == {
        "process_graph": new_graph
    }
    assert_error(client.patch(f"{API}/jobs/{job_id}", json={"process": {}}, headers=alice), 400,
                 "ProcessGraphMissing")  # fmt: skip


@pytest.fixture
def client_without_workers(settings, module_database_url, request, tmp_path):
    """The app with no worker processes: a queued job stays queued (as behind a busy pool).
    Its own database: the module's app has live workers that would claim the queued job."""
    if module_database_url.startswith("sqlite"):
        database_url = f"sqlite:///{tmp_path / 'quiet.db'}"
    else:
        database_url = create_database(request.getfixturevalue("postgres_server_url"))
    quiet = settings.model_copy(update={"database_url": database_url, "workers": settings.workers
                                        .model_copy(update={"embedded": 0})})  # fmt: skip
    with TestClient(create_app(quiet)) as c:
        yield c


def test_update_of_a_queued_job_is_locked(client_without_workers):
    client = client_without_workers
    alice = login(client, "alice")
    job_id = create_job(client, alice, SCALAR_GRAPH)
    # Queued without a worker seeing it: the state a busy pool leaves jobs in.
    assert client.app.state.jobs.store.transition(job_id, ["created"], "queued")
    assert_error(client.patch(f"{API}/jobs/{job_id}", json={"title": "x"}, headers=alice), 400,
                 "JobLocked")  # fmt: skip
    assert client.delete(f"{API}/jobs/{job_id}/results", headers=alice).status_code == 204
    assert client.get(f"{API}/jobs/{job_id}", headers=alice).json()["status"] == "created"
    assert client.patch(f"{API}/jobs/{job_id}", json={"title": "x"}, headers=alice).status_code \
        == 204  # fmt: skip


def test_restart_discards_previous_results_and_logs(client, alice):
    job_id, first = run_job(client, alice, SCALAR_GRAPH)
    old_href = client.get(f"{API}/jobs/{job_id}/results", headers=alice).json()["assets"][
        "result.json"
    ]["href"]
    times = {"m": {"process_id": "multiply", "arguments": {"x": 2, "y": 5}, "result": True}}
    patch = {"process": {"process_graph": times}}
    assert client.patch(f"{API}/jobs/{job_id}", json=patch, headers=alice).status_code == 204
    assert client.post(f"{API}/jobs/{job_id}/results", headers=alice).status_code == 202
    job = wait_for(client, alice, job_id, {"finished", "error"})
    assert job["status"] == "finished"
    href = client.get(f"{API}/jobs/{job_id}/results", headers=alice).json()["assets"][
        "result.json"
    ]["href"]
    assert client.get(href).content == b"10"
    # Links of the previous run no longer work.
    assert client.get(old_href).status_code == 403
    messages = [e["message"] for e in client.get(f"{API}/jobs/{job_id}/logs", headers=alice)
                .json()["logs"]]  # fmt: skip
    assert messages.count("Job queued.") == 1


def test_delete_removes_job_results_and_logs(client, alice, settings):
    job_id, _ = run_job(client, alice, SCALAR_GRAPH)
    folder = settings.data_dir / "results" / job_id
    assert len(list(folder.glob("r*/result.json"))) == 1
    href = client.get(f"{API}/jobs/{job_id}/results", headers=alice).json()["assets"][
        "result.json"
    ]["href"]
    assert client.delete(f"{API}/jobs/{job_id}", headers=alice).status_code == 204
    assert_error(client.get(f"{API}/jobs/{job_id}", headers=alice), 404, "JobNotFound")
    assert_error(client.get(f"{API}/jobs/{job_id}/logs", headers=alice), 404, "JobNotFound")
    assert not folder.exists()
    assert client.get(href).status_code in (403, 404)


def test_list_is_newest_first_and_pages(client, bob):
    ids = [create_job(client, bob, SCALAR_GRAPH, title=f"n{i}") for i in range(3)]
    listed = client.get(f"{API}/jobs", headers=bob).json()
    assert [j["id"] for j in listed["jobs"]][:3] == ids[::-1]
    assert all("process" not in j for j in listed["jobs"])
    first = client.get(f"{API}/jobs?limit=2", headers=bob).json()
    assert len(first["jobs"]) == 2
    (next_link,) = [link for link in first["links"] if link["rel"] == "next"]
    second = client.get(next_link["href"], headers=bob).json()
    seen = [j["id"] for j in first["jobs"] + second["jobs"]]
    assert len(seen) == len(set(seen))
    assert set(ids) <= set(seen) | {j["id"] for j in listed["jobs"][4:]}


# -- API 1.3 (the same jobs seen through /openeo/1.3) -------------------------------------------

API13 = "/openeo/1.3"
# Fails at run time inside a process (array_element's ArrayElementNotAvailable).
FAILING_GRAPH = {
    "a": {"process_id": "array_element", "arguments": {"data": [1, 2], "index": 5}, "result": True}
}


def _times(doc: dict, *names: str) -> list[str]:
    return [doc[name] for name in names]


def test_api13_jobs_tell_when_they_were_queued_and_started(client, alice):
    created = create_job(client, alice, SCALAR_GRAPH)
    fresh = client.get(f"{API13}/jobs/{created}", headers=alice).json()
    assert "queued" not in fresh and "started" not in fresh

    job_id, job = run_job(client, alice, SCALAR_GRAPH)
    assert job["status"] == "finished" and "queued" not in job and "started" not in job  # 1.2
    doc = client.get(f"{API13}/jobs/{job_id}", headers=alice).json()
    # RFC 3339 UTC strings of one format compare as the instants they name.
    created_at, queued, started, updated = _times(doc, "created", "queued", "started", "updated")
    assert created_at <= queued <= started <= updated
    listed = client.get(f"{API13}/jobs", headers=alice).json()["jobs"]
    assert {"queued": queued, "started": started}.items() <= next(
        j for j in listed if j["id"] == job_id
    ).items()
    # The results' STAC Item has them too (1.3 only).
    properties = client.get(f"{API13}/jobs/{job_id}/results", headers=alice).json()["properties"]
    assert _times(properties, "queued", "started") == [queued, started]
    old = client.get(f"{API}/jobs/{job_id}/results", headers=alice).json()["properties"]
    assert "queued" not in old and "started" not in old


def test_api13_logs_carry_the_stacktrace_of_a_run_failing_inside_a_process(client, alice):
    job_id, job = run_job(client, alice, FAILING_GRAPH)
    assert job["status"] == "error", job
    logs = client.get(f"{API13}/jobs/{job_id}/logs", headers=alice).json()["logs"]
    (error,) = [e for e in logs if e["level"] == "error"]
    assert error["code"] == "ArrayElementNotAvailable"
    # Python's traceback, ending in the implementation that raised it; not in the message.
    assert error["stacktrace"].startswith("Traceback (most recent call last):")
    frames = [line for line in error["stacktrace"].splitlines() if line.lstrip().startswith("File")]
    assert "processes/arrays.py" in frames[-1]
    assert "Traceback" not in error["message"]
    failed = client.get(f"{API13}/jobs/{job_id}/results", headers=alice)
    assert failed.status_code == 424 and failed.json()["stacktrace"] == error["stacktrace"]
    # API 1.2 log entries have no such field.
    old = client.get(f"{API}/jobs/{job_id}/logs", headers=alice).json()["logs"]
    assert [e["code"] for e in old if e["level"] == "error"] == ["ArrayElementNotAvailable"]
    assert not any("stacktrace" in e for e in old)
    assert "stacktrace" not in client.get(f"{API}/jobs/{job_id}/results", headers=alice).json()

    # A job failing before any process runs (its process was deleted) has no stacktrace.
    job_id = _job_calling_a_deleted_process(client, alice, "gone_before_api13_start")
    assert client.post(f"{API13}/jobs/{job_id}/results", headers=alice).status_code == 202
    assert wait_for(client, alice, job_id, {"finished", "error"})["status"] == "error"
    logs = client.get(f"{API13}/jobs/{job_id}/logs", headers=alice).json()["logs"]
    assert [e["code"] for e in logs if e["level"] == "error"] == ["ProcessUnsupported"]
    assert not any("stacktrace" in e for e in logs)
