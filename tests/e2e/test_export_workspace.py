"""Workspaces extension against a real server: ``export_workspace`` copies results of batch
jobs and synchronous runs to a configured workspace (a local directory), into the user's own
folder only; ``GET /workspace_providers``, ``/workspaces``, ``/workspaces/{id}``."""

from __future__ import annotations

import json

import pytest
import requests

from tests.support.graphs import small_flood_max
from tests.support.waiting import wait_for_value

# The 1.3 extensions, tested where clients that declare them look.
API = "/openeo/1.3"


def _graph(workspace: str = "shared", merge: str | None = None) -> dict:
    graph = small_flood_max()
    del graph["save"]["result"]
    arguments = {"data": {"from_node": "save"}, "workspace": workspace}
    if merge is not None:
        arguments["merge"] = merge
    graph["export"] = {"process_id": "export_workspace", "arguments": arguments, "result": True}
    return graph


@pytest.fixture(scope="module")
def server(extensions_server):
    return extensions_server


def _run_job(server, headers, graph) -> dict:
    resp = requests.post(
        f"{server}{API}/jobs",
        json={"process": {"process_graph": graph}},
        headers=headers,
        timeout=30,
    )
    assert resp.status_code == 201, resp.text
    job_id = resp.headers["OpenEO-Identifier"]
    assert requests.post(f"{server}{API}/jobs/{job_id}/results", headers=headers, timeout=30).ok
    return wait_for_value(
        lambda: requests.get(f"{server}{API}/jobs/{job_id}", headers=headers, timeout=10).json(),
        lambda job: job["status"] in ("finished", "error"),
        timeout=300,
        what="job not done",
        every=0.5,
    )


def test_export_workspace_is_a_listed_process(server):
    processes = requests.get(f"{server}{API}/processes", timeout=30).json()["processes"]
    spec = next(p for p in processes if p["id"] == "export_workspace")
    assert [p["name"] for p in spec["parameters"]] == ["data", "workspace", "merge"]


def test_workspaces_are_listed(server, alice, exports_dir):
    providers = requests.get(f"{server}{API}/workspace_providers", timeout=10).json()
    assert list(providers["providers"]) == ["file"]
    assert providers["providers"]["file"]["parameters"] == {}
    listed = requests.get(f"{server}{API}/workspaces", headers=alice, timeout=10)
    assert listed.status_code == 200
    assert listed.json()["workspaces"] == [
        {"id": "shared", "title": "Shared results", "type": "file", "status": "ready"}
    ]
    assert requests.get(f"{server}{API}/workspaces", timeout=10).status_code == 401
    one = requests.get(f"{server}{API}/workspaces/SHARED", headers=alice, timeout=10).json()
    assert one["url"] == f"file://{exports_dir.resolve()}/users/alice"
    missing = requests.get(f"{server}{API}/workspaces/nope", headers=alice, timeout=10)
    assert missing.status_code == 404 and missing.json()["code"] == "WorkspaceNotFound"


def test_batch_results_are_exported_and_merged(server, alice, exports_dir):
    for _ in range(2):
        job = _run_job(server, alice, _graph(merge="flood/max"))
        assert job["status"] == "finished", job
    folder = exports_dir / "users" / "alice" / "flood" / "max"
    collection = json.loads((folder / "collection.json").read_text())
    assert collection["type"] == "Collection" and len(collection["assets"]) == 2
    for name, asset in collection["assets"].items():
        assert asset["type"] == "application/json"
        saved = json.loads((folder / name).read_text())
        assert saved  # the reduced cube as JSON, as /result would send it
    logs = requests.get(f"{server}{API}/jobs/{job['id']}/logs", headers=alice, timeout=10).json()
    assert any("Exported to workspace shared: flood/max/" in e["message"] for e in logs["logs"])


def test_a_sync_export_gets_its_own_folder(server, alice, exports_dir):
    resp = requests.post(
        f"{server}{API}/result",
        json={"process": {"process_graph": _graph()}},
        headers=alice,
        timeout=300,
    )
    assert resp.status_code == 200, resp.text
    folders = list((exports_dir / "users" / "alice").glob("export-*"))
    assert len(folders) == 1
    (asset,) = json.loads((folders[0] / "collection.json").read_text())["assets"]
    assert json.loads((folders[0] / asset).read_text()) == resp.json()


@pytest.mark.parametrize(
    ("graph", "status", "code"),
    [
        (_graph(merge="../bob/stolen"), 400, "ProcessParameterInvalid"),
        (_graph(merge="/tmp/x"), 400, "ProcessParameterInvalid"),
        (_graph(workspace="elsewhere"), 404, "WorkspaceNotFound"),
    ],
)
def test_exports_outside_the_users_folder_are_refused(
    server, alice, exports_dir, graph, status, code
):
    for path in ("/result", "/jobs"):
        resp = requests.post(
            f"{server}{API}{path}",
            json={"process": {"process_graph": graph}},
            headers=alice,
            timeout=30,
        )
        assert (resp.status_code, resp.json()["code"]) == (status, code), (path, resp.text)
    assert not (exports_dir / "users" / "bob").exists()
