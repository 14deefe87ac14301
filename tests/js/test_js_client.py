"""The openEO JavaScript client (@openeo/js-client, what the Web Editor uses) against a real
server: connect, basic auth, collections and processes (all pages), a synchronous result and a
batch job, each compared with what the Python client gets.

Needs Node.js and npm (see tests/js/conftest.py).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.support.graphs import bolzano_ndvi_mean

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

SCRIPT = Path(__file__).with_name("client_check.cjs")

# NDVI near Bolzano, averaged over the first June dates, as JSON: small, and computed from data.
GRAPH = bolzano_ndvi_mean(680100, 5151500, "JSON")


def test_js_client_lists_runs_and_batches(node_modules, connect_url, api_version, tmp_path):
    import openeo

    graph_file = tmp_path / "graph.json"
    graph_file.write_text(json.dumps(GRAPH))
    proc = subprocess.run(
        ["node", str(SCRIPT), connect_url, str(graph_file)],
        env={**os.environ, "NODE_PATH": str(node_modules)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    js = json.loads(proc.stdout)

    con = openeo.connect(connect_url).authenticate_basic("demo", "demo")
    assert js["api_version"] == con.capabilities().api_version() == api_version
    # Since 1.3 the JS client sends its token as a plain JWT (the server lists that class).
    assert js["plain_token"] == (api_version != "1.2.0")
    assert js["collections"] == con.list_collection_ids()
    assert sorted(js["processes"]) == sorted(p["id"] for p in con.list_processes())
    assert js["sync_type"] == "application/json"

    expected = con.execute({"process_graph": GRAPH})
    assert js["sync_result"]["dims"] == expected["dims"] == ["y", "x"]
    values = np.array(js["sync_result"]["data"], dtype=float)
    assert values.shape == (10, 10) and np.isfinite(values).all()
    np.testing.assert_allclose(values, np.array(expected["data"], dtype=float))

    assert js["job_status"] == "finished"
    np.testing.assert_allclose(np.array(js["batch_result"]["data"], dtype=float), values)
    assert con.job(js["job_id"]).status() == "finished"
