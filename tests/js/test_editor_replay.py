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

# NDVI near Bolzano averaged over the first June dates, as GeoTIFF: what a user would drag
# together in the editor (load_collection, ndvi, reduce_dimension with mean, save_result).
GRAPH = bolzano_ndvi_mean(680600, 5151000, "GTiff")


def discovery(api: str, api_version: str) -> list[str]:
    """What the editor sends from connecting to opening the Jobs panel (store/index.js connect
    and discover; the login dialog asks /credentials/oidc only where the capabilities list
    it, and UDF runtimes too): on 1.3 from the bare host (its well-known document), on 1.2
    from the versioned URL (no well-known there: the client connects directly)."""
    well_known = "/.well-known/openeo" if api_version != "1.2.0" else f"{api}/.well-known/openeo"
    udfs = [f"GET {api}/udf_runtimes"] if api_version == "1.2.0" else []
    return [
        f"GET {well_known}",
        f"GET {api}/",
        f"GET {api}/credentials/basic",
        f"GET {api}/collections",
        f"GET {api}/processes?limit=50",
        f"GET {api}/file_formats",
        f"GET {api}/service_types",
        *udfs,
        f"GET {api}/me",
        f"GET {api}/process_graphs",
        f"GET {api}/jobs",
    ]


def _exposed(headers: dict) -> set[str]:
    return {h.strip().lower() for h in headers.get("access-control-expose-headers", "").split(",")}


@pytest.fixture(scope="module")
def replay(node_modules, connect_url, api_version, tmp_path_factory) -> dict:
    graph_file = tmp_path_factory.mktemp("editor") / "graph.json"
    graph_file.write_text(json.dumps(GRAPH))
    proc = subprocess.run(
        ["node", str(SCRIPT), connect_url, str(graph_file)],
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
    doc["api"] = "/openeo/" + ".".join(api_version.split(".")[:2])
    doc["discovery"] = discovery(doc["api"], api_version)
    return doc


def test_the_editor_sees_every_process_and_collection(replay, connect_url):
    import openeo

    assert replay["requests"][: len(replay["discovery"])] == replay["discovery"]
    # Only HTTP Basic is offered, and no OIDC provider list is asked for.
    assert replay["providers"] == ["basic"]
    assert not any("/credentials/oidc" in r for r in replay["requests"])
    assert replay["user_id"] == "demo"

    # The processes it needs to build a graph are in the one page it reads (?limit=50).
    processes = replay["processes"]
    assert {"load_collection", "reduce_dimension", "save_result", "mean", "ndvi"} <= set(processes)
    con = openeo.connect(connect_url).authenticate_basic("demo", "demo")
    assert sorted(processes) == sorted(p["id"] for p in con.list_processes())
    assert len(processes) > 50
    assert replay["collections"] == con.list_collection_ids()
    assert "SENTINEL2_L2A" in replay["collections"]


def test_the_editor_runs_a_job_and_reads_its_results_and_logs(replay):
    job_id, api = replay["job_id"], replay["api"]
    after = replay["requests"][len(replay["discovery"]) :]
    # Created (and described, as the client does), then started.
    assert after[:3] == [
        f"POST {api}/jobs",
        f"GET {api}/jobs/{job_id}",
        f"POST {api}/jobs/{job_id}/results",
    ]
    polls = [r for r in after if r == f"GET {api}/jobs/{job_id}"]
    assert polls, after
    assert f"GET {api}/jobs/{job_id}/results" in after
    assert any(r.startswith(f"GET {api}/jobs/{job_id}/logs") for r in after), after
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
