"""The openEO Web Editor's requests, replayed with its JS client against a real server
(tests/js/editor_replay.cjs): what it asks, in its order, and that what comes back lets a user
build a graph (every process), run a batch job, read its logs and preview its GeoTIFF on the map
(HEAD and byte ranges, readable from another origin)."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import rasterio
import requests

from tests.support.graphs import bolzano_ndvi_mean

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

SCRIPT = Path(__file__).with_name("editor_replay.cjs")
API = "/openeo/1.2"

# NDVI near Bolzano averaged over the first June dates, as GeoTIFF: what a user would drag
# together in the editor (load_collection, ndvi, reduce_dimension with mean, save_result).
GRAPH = bolzano_ndvi_mean(680600, 5151000, "GTiff")

# What the editor sends from connecting to opening the Jobs panel (store/index.js connect and
# discover; the login dialog asks /credentials/oidc only where the capabilities list it).
DISCOVERY = [
    "GET /.well-known/openeo",
    f"GET {API}/",
    f"GET {API}/credentials/basic",
    f"GET {API}/collections",
    f"GET {API}/processes?limit=50",
    f"GET {API}/file_formats",
    f"GET {API}/service_types",
    f"GET {API}/udf_runtimes",
    f"GET {API}/me",
    f"GET {API}/process_graphs",
    f"GET {API}/jobs",
]


def _exposed(headers: dict) -> set[str]:
    return {h.strip().lower() for h in headers.get("access-control-expose-headers", "").split(",")}


@pytest.fixture(scope="module")
def replay(node_modules, js_server, tmp_path_factory) -> dict:
    graph_file = tmp_path_factory.mktemp("editor") / "graph.json"
    graph_file.write_text(json.dumps(GRAPH))
    proc = subprocess.run(
        ["node", str(SCRIPT), js_server, str(graph_file)],
        env={**os.environ, "NODE_PATH": str(node_modules)},
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    # The client joins its base URL ("/openeo/1.2/") and paths with a doubled slash; the server
    # merges them (app.MergeSlashesMiddleware): compare the paths as the routes see them.
    doc["requests"] = [re.sub("/{2,}", "/", r) for r in doc["requests"]]
    return doc


def test_the_editor_sees_every_process_and_collection(replay, js_server):
    import openeo

    assert replay["requests"][: len(DISCOVERY)] == DISCOVERY
    # Only HTTP Basic is offered, and no OIDC provider list is asked for.
    assert replay["providers"] == ["basic"]
    assert not any("/credentials/oidc" in r for r in replay["requests"])
    assert replay["user_id"] == "demo"

    # The processes it needs to build a graph are in the one page it reads (?limit=50).
    processes = replay["processes"]
    assert {"load_collection", "reduce_dimension", "save_result", "mean", "ndvi"} <= set(processes)
    con = openeo.connect(js_server).authenticate_basic("demo", "demo")
    assert sorted(processes) == sorted(p["id"] for p in con.list_processes())
    assert len(processes) > 50
    assert replay["collections"] == con.list_collection_ids()
    assert "SENTINEL2_L2A" in replay["collections"]


def test_the_editor_runs_a_job_and_reads_its_results_and_logs(replay):
    job_id = replay["job_id"]
    after = replay["requests"][len(DISCOVERY) :]
    # Created (and described, as the client does), then started.
    assert after[:3] == [
        f"POST {API}/jobs",
        f"GET {API}/jobs/{job_id}",
        f"POST {API}/jobs/{job_id}/results",
    ]
    polls = [r for r in after if r == f"GET {API}/jobs/{job_id}"]
    assert polls, after
    assert f"GET {API}/jobs/{job_id}/results" in after
    assert any(r.startswith(f"GET {API}/jobs/{job_id}/logs") for r in after), after
    assert replay["job_status"] == "finished", replay["logs"]
    ((asset),) = replay["assets"]
    assert asset["type"] == "image/tiff; application=geotiff"
    messages = [entry["message"] for entry in replay["logs"]]
    assert any(m.startswith("Job finished") for m in messages), messages


def test_the_map_preview_reads_the_geotiff_by_ranges(replay, tmp_path):
    reads = replay["reads"]
    href = reads["href"]
    whole = requests.get(href, timeout=30)
    assert whole.status_code == 200
    size = len(whole.content)
    assert size > 1024

    head = reads["head"]
    assert head["status"] == 200 and head["bytes"] == 0
    assert head["headers"]["content-length"] == str(size)
    assert head["headers"]["accept-ranges"] == "bytes"
    assert {"content-length", "accept-ranges", "content-range"} <= _exposed(head["headers"])

    preflight = reads["preflight"]
    assert preflight["status"] == 200
    assert "range" in preflight["headers"]["access-control-allow-headers"].lower()

    for name, first, last in (("first", 0, 1023), ("last", size - 512, size - 1)):
        part = reads[name]
        assert part["status"] == 206, (name, part["headers"])
        assert part["headers"]["content-range"] == f"bytes {first}-{last}/{size}"
        assert "content-range" in _exposed(part["headers"])
        assert base64.b64decode(part["base64"]) == whole.content[first : last + 1]
    assert reads["beyond"]["status"] == 416
    assert reads["beyond"]["headers"]["content-range"] == f"bytes */{size}"

    # GDAL reads it the way map viewers do: by ranges of the signed URL, never the whole file.
    local = tmp_path / "result.tif"
    local.write_bytes(whole.content)
    env = rasterio.Env(GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR", GDAL_HTTP_MAX_RETRY="0")
    with env, rasterio.open(f"/vsicurl/{href}") as remote, rasterio.open(local) as src:
        assert (remote.height, remote.width) == (src.height, src.width) == (60, 60)
        assert remote.crs == src.crs
        np.testing.assert_array_equal(remote.read(), src.read())
        assert np.isfinite(src.read(1)).mean() > 0.5
