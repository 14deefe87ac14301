"""What a newcomer sees of a freshly started server: its first answers and its log.

Each test here starts its own server (the shared ``server`` fixture may already have answered
requests, which would hide what a first request waits for).
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
import requests

from tests.e2e.scenarios import ERA5_HALF_CELL, flood_window, grown
from tests.support.servers import start_server, stop_server

# Wall-clock bounds: run alone (`make test`), not beside other tests.
pytestmark = pytest.mark.serial

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def fresh_server(tmp_path_factory, demo_catalog_dir):
    """(base URL, log path) of a server that has answered nothing but its readiness check."""
    data_dir = tmp_path_factory.mktemp("fresh-server")
    proc, url, log_path = start_server(data_dir, demo_catalog_dir)
    yield url, log_path
    stop_server(proc)


def _token(url: str) -> dict:
    answer = requests.get(f"{url}/openeo/1.2/credentials/basic", auth=("demo", "demo"), timeout=30)
    answer.raise_for_status()
    return {"Authorization": f"Bearer basic//{answer.json()['access_token']}"}


def _two_site_graph(url: str) -> dict:
    """Precipitation summed at lumi over part of the flood window (filter_temporal), masked
    by the flood at central: two local clusters start, dates are filtered."""
    import openeo

    connection = openeo.connect(url).authenticate_basic("demo", "demo")
    bbox, start, end = flood_window(connection)
    flood = connection.load_collection(
        "GFM_FLOOD", spatial_extent=bbox, temporal_extent=[start, end], bands=["flood_extent"]
    ).reduce_dimension(dimension="t", reducer="max")
    precip = (
        connection.load_collection(
            "ERA5_LAND",
            # The ERA5 cells the box touches (a load selects pixel centres).
            spatial_extent=grown(bbox, ERA5_HALF_CELL),
            temporal_extent=[start, end],
            bands=["total_precipitation"],
        )
        .filter_temporal(start, f"{start[:8]}28")
        .reduce_dimension(dimension="t", reducer="sum")
    )
    masked = precip.resample_cube_spatial(target=flood, method="near").mask(
        flood.apply(lambda x: x == 0)
    )
    return {"process_graph": masked.save_result("GTiff").flat_graph()}


def test_first_validation_after_start_is_fast(fresh_server):
    """The process registry is loaded while the server starts, not on the first validation
    (that took 5-8 s on a loaded machine: importing openeo-processes-dask and its specs)."""
    url, _ = fresh_server
    body = json.loads((EXAMPLES / "flood_pakistan.json").read_text())
    start = time.monotonic()
    answer = requests.post(f"{url}/openeo/1.2/validation", json=body, timeout=60)
    first = time.monotonic() - start
    assert answer.status_code == 200, answer.text
    assert answer.json()["errors"] == []
    assert first < 2.0, f"the first POST /validation took {first:.2f} s"


def test_each_request_is_logged_once(fresh_server):
    """One line per request (uvicorn's access log repeated every line of ours)."""
    url, log_path = fresh_server
    missing, known = f"NO_SUCH_{uuid.uuid4().hex}", "ERA5_LAND"
    assert requests.get(f"{url}/openeo/1.2/collections/{missing}", timeout=30).status_code == 404
    assert requests.get(f"{url}/openeo/1.2/collections/{known}", timeout=30).status_code == 200
    time.sleep(0.5)  # the log line is written after the response
    log = log_path.read_text().splitlines()
    for path, status in ((missing, 404), (known, 200)):
        lines = [line for line in log if f"/collections/{path} " in line]
        assert len(lines) == 1, "\n".join(lines)
        assert f"GET /openeo/1.2/collections/{path} -> {status}" in lines[0]


def test_a_run_on_two_sites_logs_no_warnings(fresh_server):
    """Starting a local Dask cluster per site and filtering dates warn about nothing: no
    "Port 8787 is already in use" (each scheduler asked for the dashboard port) and no
    "no explicit representation of timezones" (tz-aware dates given to numpy)."""
    url, log_path = fresh_server
    answer = requests.post(
        f"{url}/openeo/1.2/result",
        json={"process": _two_site_graph(url)},
        headers=_token(url),
        timeout=600,
    )
    assert answer.status_code == 200, answer.text
    usage = json.loads(answer.headers["OpenEO-DEDL-Usage"])
    assert {(t["from_site"], t["to_site"]) for t in usage["transfers"]} == {("lumi", "central")}
    log = log_path.read_text()
    assert "starting local Dask cluster" in log
    warnings = [line for line in log.splitlines() if "Warning" in line]
    assert warnings == []
