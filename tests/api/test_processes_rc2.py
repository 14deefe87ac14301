"""openeo-processes 2.0.0-rc.2 on the real Backend: what /processes lists and what
POST /result gives for ``text_find``, ``apply_polygon`` and ``save_result``'s STAC resource."""

from __future__ import annotations

import numpy as np
import pyproj

from tests.support.graphs import TIMES_TEN, reducer
from tests.support.stac import stac_validator

API = "/openeo/1.2"


def _result(client, auth, graph: dict):
    resp = client.post(f"{API}/result", json={"process": {"process_graph": graph}}, headers=auth)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_the_rc2_processes_are_listed(client):
    listed = {p["id"]: p for p in client.get(f"{API}/processes").json()["processes"]}
    assert [p["name"] for p in listed["apply_polygon"]["parameters"]][:2] == ["data", "geometries"]
    assert listed["save_result"]["returns"]["schema"]["subtype"] == "stac"
    assert "text_find" in listed


def test_text_find(client, auth):
    graph = {
        "f": {
            "process_id": "text_find",
            "arguments": {"data": "Lorem ipsum dolor", "pattern": "DOLOR", "case_sensitive": False},
            "result": True,
        }
    }
    assert _result(client, auth, graph) == 12


def test_a_process_consuming_save_result_gets_a_stac_item(client, auth):
    graph = {
        "save": {"process_id": "save_result", "arguments": {"data": [1, 2], "format": "JSON"}},
        "wrap": {
            "process_id": "array_create",
            "arguments": {"data": [{"from_node": "save"}]},
            "result": True,
        },
    }
    (item,) = _result(client, auth, graph)
    stac_validator("item").validate(item)
    assert [a["type"] for a in item["assets"].values()] == ["application/json"]


# 400 m × 400 m of Sentinel-2 near Bolzano (10 m pixels) and a polygon inside it, in WGS 84.
BOX = {"west": 680000, "east": 680400, "south": 5151200, "north": 5151600, "crs": "EPSG:32632"}


def _polygon_wgs84() -> dict:
    to_wgs84 = pyproj.Transformer.from_crs("EPSG:32632", "EPSG:4326", always_xy=True)
    corners = [(680100, 5151300), (680300, 5151300), (680300, 5151500), (680100, 5151300)]
    ring = [list(to_wgs84.transform(x, y)) for x, y in corners]
    return {"type": "Polygon", "coordinates": [ring]}


def _load_mean(with_polygon: bool) -> dict:
    graph = {
        "load": {
            "process_id": "load_collection",
            "arguments": {
                "id": "SENTINEL2_L2A",
                "spatial_extent": BOX,
                "temporal_extent": ["2022-06-01", "2022-06-10"],
                "bands": ["B04"],
            },
        },
        "mean": {
            "process_id": "reduce_dimension",
            "arguments": {
                "data": {"from_node": "load"},
                "dimension": "t",
                "reducer": reducer("mean"),
            },
        },
        "save": {
            "process_id": "save_result",
            "arguments": {"data": {"from_node": "mean"}, "format": "JSON"},
            "result": True,
        },
    }
    if with_polygon:
        graph["poly"] = {
            "process_id": "apply_polygon",
            "arguments": {
                "data": {"from_node": "load"},
                "geometries": _polygon_wgs84(),
                "process": TIMES_TEN,
            },
        }
        graph["mean"]["arguments"]["data"] = {"from_node": "poly"}
    return graph


def test_apply_polygon_on_a_collection(client, auth):
    plain = _result(client, auth, _load_mean(False))
    inside = _result(client, auth, _load_mean(True))
    assert inside["dims"] == plain["dims"] and inside["coords"] == plain["coords"]
    a = np.array(plain["data"], dtype=float)
    b = np.array(inside["data"], dtype=float)
    processed = ~np.isnan(b)
    # The triangle holds about half of the inner 200 m square: 200 of the 1600 pixels.
    assert 150 < processed.sum() < 250
    np.testing.assert_allclose(b[processed], a[processed] * 10, rtol=1e-6)


# -- all, any and is_nan: rc.2 on API 1.3, the draft the compliance suite checks on 1.2 ---------

CHANGED = [
    ("all", {"data": []}, True, None),
    ("all", {"data": [None, True]}, True, True),
    ("all", {"data": [None]}, True, None),
    ("any", {"data": []}, False, None),
    ("any", {"data": [None]}, False, None),
    ("is_nan", {"x": "Test"}, False, True),
    ("is_nan", {"x": None}, False, True),
    ("is_nan", {"x": 1}, False, False),
]


def test_api_1_3_serves_the_rc2_specs_of_all_any_and_is_nan(client):
    for api, empty_all in (("/openeo/1.3", True), ("/openeo/1.2", None)):
        listed = {p["id"]: p for p in client.get(f"{api}/processes").json()["processes"]}
        examples = {str(e["arguments"]): e["returns"] for e in listed["all"]["examples"]}
        assert examples[str({"data": []})] is empty_all, api
        assert ("non-numeric" in listed["is_nan"]["returns"]["description"]) is (empty_all is None)
        # Everything else is the same on both.
        assert "text_find" in listed and "apply_polygon" in listed


def test_api_1_3_runs_all_any_and_is_nan_as_rc2_defines_them(client, auth):
    for pid, arguments, rc2, draft in CHANGED:
        graph = {"p": {"process_id": pid, "arguments": arguments, "result": True}}
        for api, expected in (("/openeo/1.3", rc2), ("/openeo/1.2", draft)):
            resp = client.post(
                f"{api}/result", json={"process": {"process_graph": graph}}, headers=auth
            )
            assert resp.status_code == 200, resp.text
            assert resp.json() is expected, (api, pid, arguments)


def test_a_job_runs_with_the_version_it_was_created_on(client, auth):
    graph = {"p": {"process_id": "all", "arguments": {"data": []}, "result": True}}
    ids = {}
    for api in ("/openeo/1.3", "/openeo/1.2"):
        resp = client.post(f"{api}/jobs", json={"process": {"process_graph": graph}}, headers=auth)
        assert resp.status_code == 201, resp.text
        ids[api] = resp.headers["OpenEO-Identifier"]
        # The job shows the process as it was sent, whatever version reads it.
        for reader in ("/openeo/1.3", "/openeo/1.2"):
            shown = client.get(f"{reader}/jobs/{ids[api]}", headers=auth).json()["process"]
            assert shown == {"process_graph": graph}
    jobs = client.app.state.jobs
    from openeo_dedl.execution.versions import processes_version_of

    user = client.get("/openeo/1.2/me", headers=auth).json()["user_id"]
    assert processes_version_of(jobs.get(user, ids["/openeo/1.3"]).process) == "2.0.0-rc.2"
    assert processes_version_of(jobs.get(user, ids["/openeo/1.2"]).process) == "2.0.0-rc.1"
    # A PATCH takes the version of the API it came in on.
    resp = client.patch(
        f"/openeo/1.2/jobs/{ids['/openeo/1.3']}",
        json={"process": {"process_graph": graph}},
        headers=auth,
    )
    assert resp.status_code == 204, resp.text
    assert processes_version_of(jobs.get(user, ids["/openeo/1.3"]).process) == "2.0.0-rc.1"
