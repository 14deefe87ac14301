"""Literal arguments the run refuses are refused before it: /validation lists them, POST /jobs
refuses them, and POST /result answers with the same error code as when the run found them."""

from __future__ import annotations

import pytest

from tests.api.conftest import API, assert_openeo_error

EXTENT = {"west": 67.0, "south": 26.0, "east": 68.0, "north": 27.0}
MEAN = {
    "process_graph": {
        "m": {
            "process_id": "mean",
            "arguments": {"data": {"from_parameter": "data"}},
            "result": True,
        }
    }
}


def _load(**arguments) -> dict:
    base = {
        "id": "ERA5_LAND",
        "spatial_extent": EXTENT,
        "temporal_extent": ["2022-08-15", "2022-08-20"],
        "bands": ["total_precipitation"],
    }
    return {"process_id": "load_collection", "arguments": {**base, **arguments}}


def _on_load(process_id: str, **arguments) -> dict:
    node = {"process_id": process_id, "arguments": {"data": {"from_node": "l"}, **arguments}}
    return {"l": _load(), "n": {**node, "result": True}}


def _one(process_id: str, **arguments) -> dict:
    return {"n": {"process_id": process_id, "arguments": arguments, "result": True}}


PPI = "ProcessParameterInvalid"
UNCLOSED = {"type": "Polygon", "coordinates": [[[67, 26], [68, 26]]]}
CASES = {
    "kernel-even": (_on_load("apply_kernel", kernel=[[1, 1], [1, 1]]), "KernelDimensionsUneven"),
    "kernel-2x3": (_on_load("apply_kernel", kernel=[[1] * 3] * 2), "KernelDimensionsUneven"),
    "date-shift": (_one("date_shift", date="not a date", value=1, unit="day"), PPI),
    "date-difference": (_one("date_difference", date1="2022-01-01", date2="yesterday"), PPI),
    "temporal-garbage": ({"l": {**_load(temporal_extent=["yesterday", "x"]), "result": True}}, PPI),
    "temporal-huge-year": (
        {"l": {**_load(temporal_extent=["99999-01-01", None]), "result": True}},
        PPI,
    ),
    "file-url": (
        _on_load("aggregate_spatial", geometries="file:///etc/shadow", reducer=MEAN),
        PPI,
    ),
    "path-absolute": (_on_load("filter_spatial", geometries="/etc/passwd"), PPI),
    "path-traversal": (_on_load("mask_polygon", mask="../bob/secret.geojson"), PPI),
    "url-not-allowed": (_one("load_geojson", data="https://example.com/geo.json"), PPI),
    "url-loopback": (_one("load_geojson", data="http://127.0.0.1:1/"), PPI),
    "polygon-unclosed": (_on_load("aggregate_spatial", geometries=UNCLOSED, reducer=MEAN), PPI),
    "coordinates-garbage": (
        _on_load("mask_polygon", mask={"type": "Polygon", "coordinates": "abc"}),
        PPI,
    ),
    # Today a 500 when the run meets them (shapely's errors are not a ValueError).
    "geometry-unknown-type": (
        _on_load("filter_spatial", geometries={"type": "Hexagon", "coordinates": [1, 2]}),
        PPI,
    ),
    "line-of-one-point": (
        _on_load("filter_spatial", geometries={"type": "LineString", "coordinates": [[67, 26]]}),
        PPI,
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_validation_lists_it_and_jobs_refuse_it_with_the_code_of_the_run(client, auth, name):
    graph, code = CASES[name]
    resp = client.post(f"{API}/validation", json={"process_graph": graph}, headers=auth)
    assert resp.status_code == 200, resp.text
    assert [e["code"] for e in resp.json()["errors"]] == [code], resp.json()

    body = {"process": {"process_graph": graph}}
    created = client.post(f"{API}/jobs", json=body, headers=auth)
    refused = assert_openeo_error(created, 400, code)

    result = client.post(f"{API}/result", json=body, headers=auth)
    assert assert_openeo_error(result, 400, code)["message"] == refused["message"]

    job = client.post(
        f"{API}/jobs", json={"process": {"process_graph": _one("add", x=1, y=2)}}, headers=auth
    )
    assert job.status_code == 201, job.text
    job_id = job.headers["OpenEO-Identifier"]
    patched = client.patch(f"{API}/jobs/{job_id}", json=body, headers=auth)
    assert assert_openeo_error(patched, 400, code)["message"] == refused["message"]
    assert client.delete(f"{API}/jobs/{job_id}", headers=auth).status_code == 204


def test_valid_literals_are_accepted(client, auth):
    graph = _on_load("apply_kernel", kernel=[[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    graph["d"] = {
        "process_id": "date_shift",
        "arguments": {"date": "2022-08-15T10:00:00Z", "value": 1, "unit": "day"},
    }
    graph["g"] = {"process_id": "load_geojson", "arguments": {"data": "regions/alps.geojson"}}
    resp = client.post(f"{API}/validation", json={"process_graph": graph}, headers=auth)
    assert resp.status_code == 200 and resp.json()["errors"] == [], resp.text
