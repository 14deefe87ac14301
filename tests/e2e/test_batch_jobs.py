"""Batch jobs on a real server with the real openEO Python client: run and download, logs,
cancel a running job, and a server restart while a job waits in the queue."""

from __future__ import annotations

import contextlib

import openeo
import pytest

from tests.e2e import scenarios
from tests.support.graphs import slow_graph
from tests.support.servers import start_server
from tests.support.waiting import wait_for_value

pytestmark = pytest.mark.e2e


def _wait(job, states: set[str], timeout: float = 180.0) -> str:
    return wait_for_value(job.status, lambda s: s in states, timeout, job.job_id, every=0.3)


def _wait_log(job, text: str, timeout: float = 180.0) -> None:
    wait_for_value(job.logs, lambda logs: any(text in e["message"] for e in logs), timeout,
                   text, every=0.3)  # fmt: skip


def test_two_site_job_runs_and_downloads(versioned_connection, demo_catalog_dir, tmp_path):
    connection = versioned_connection
    bbox, start, end = scenarios.flood_window(connection)
    cube = scenarios.two_site_graph(connection, bbox, start, end).save_result("GTiff")
    job = connection.create_job(cube, title="flooded precipitation")
    job.start_and_wait(print=lambda *_: None, max_poll_interval=1)
    assert job.describe()["progress"] == 100

    results = job.get_results()
    metadata = results.get_metadata()
    assert metadata["properties"]["openeo:status"] == "finished"
    (asset,) = metadata["assets"].values()
    assert asset["proj:code"].startswith("EPSG:") and asset["file:size"] > 0
    downloaded = results.download_files(tmp_path / "out")
    (tif,) = [p for p in downloaded if p.suffix == ".tif"]
    assert tif.stat().st_size == asset["file:size"]
    scenarios.check_two_site_result(tif, demo_catalog_dir, bbox, start, end)

    logs = job.logs()
    sites = {(e.get("data") or {}).get("site") for e in logs}
    assert {"central", "lumi"} <= sites, [e["message"] for e in logs]
    assert any("moved from site lumi to site central" in e["message"] for e in logs)
    described = job.describe()
    usage = described["usage"]
    assert usage["network"]["value"] > 0
    assert {"site:central", "site:lumi"} <= set(usage)
    # API 1.3 tells when the job was queued and started.
    newest = connection.capabilities().api_version() == "1.3.0"
    assert ({"queued", "started"} <= set(described)) == newest


def test_failed_job_shows_its_error(connection):
    # An invalid process is no job: refused when created, as /result refuses it.
    with pytest.raises(openeo.rest.OpenEoApiError) as refused:
        connection.create_job({"a": {"process_id": "nope", "arguments": {}, "result": True}})
    assert refused.value.code == "ProcessUnsupported"
    # A collection the catalog does not hold (yet) is the exception: the job fails at start.
    missing = connection.create_job(
        {"load": {"process_id": "load_collection", "arguments": {"id": "NOPE",
         "spatial_extent": None, "temporal_extent": None}, "result": True}}
    )  # fmt: skip
    with pytest.raises(openeo.rest.JobFailedException):
        missing.start_and_wait(print=lambda *_: None, max_poll_interval=1)
    assert missing.logs(level="error")[-1]["code"] == "CollectionNotFound"
    # A process valid when the job was created fails when it runs if it became invalid since:
    # the user-defined process it calls was deleted.
    udp = connection.save_user_defined_process(
        "gone_before_the_run",
        {"a": {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": True}},
    )
    job = connection.create_job(
        {"c": {"process_id": "gone_before_the_run", "arguments": {}, "result": True}}
    )
    udp.delete()
    with pytest.raises(openeo.rest.JobFailedException):
        job.start_and_wait(print=lambda *_: None, max_poll_interval=1)
    errors = job.logs(level="error")
    assert errors and errors[-1]["code"] == "ProcessUnsupported"


def test_cancel_a_running_job(connection):
    job = connection.create_job(slow_graph(), title="slow", log_level="debug")
    job.start()
    _wait_log(job, "is computing node")
    job.stop()
    assert job.status() == "canceled"
    _wait_log(job, "Stopped: the work on the sites was canceled.", timeout=60)
    assert job.status() == "canceled"


def test_restart_while_a_job_is_queued(tmp_path, demo_catalog_dir):
    # One worker: the slow job runs, the second one waits in the queue.
    env = {"OPENEO_DEDL_WORKERS__EMBEDDED": "1"}
    proc, url, log_path = start_server(tmp_path, demo_catalog_dir, **env)
    try:
        con = openeo.connect(url).authenticate_basic("demo", "demo")
        slow = con.create_job(slow_graph(), title="slow", log_level="debug")
        slow.start()
        _wait(slow, {"running"})
        quick = con.create_job(
            con.load_collection("S1_SSM", temporal_extent=["2020-01-01", "2020-03-01"])
            .reduce_dimension(dimension="t", reducer="mean")
            .save_result("GTiff"),
            title="queued",
        )
        quick.start()
        assert quick.status() == "queued"
    finally:
        # Graceful stop (SIGTERM): running jobs are interrupted and queued again.
        proc.terminate()
        proc.wait(timeout=120)
    proc, url, log_path = start_server(tmp_path, demo_catalog_dir, **env)
    try:
        con = openeo.connect(url).authenticate_basic("demo", "demo")
        quick, slow = con.job(quick.job_id), con.job(slow.job_id)
        assert _wait(quick, {"finished", "error"}) == "finished", quick.logs()
        files = quick.get_results().download_files(tmp_path / "quick")
        assert any(p.suffix == ".tif" and p.stat().st_size > 0 for p in files)
        interrupted = [e for e in slow.logs(level="warning") if e.get("code") == "JobInterrupted"]
        assert interrupted, slow.logs()
        slow.stop()
        assert slow.status() in ("created", "canceled")
    finally:
        proc.terminate()
        proc.wait(timeout=120)


def _kill_tree(proc) -> None:
    """SIGKILL the server and the cluster processes it started: a crash, nothing cleaned up."""
    import psutil

    children = psutil.Process(proc.pid).children(recursive=True)
    proc.kill()
    proc.wait(timeout=30)
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
    psutil.wait_procs(children, timeout=30)


def test_crash_while_a_job_runs(tmp_path, demo_catalog_dir):
    env = {"OPENEO_DEDL_WORKERS__EMBEDDED": "1"}
    proc, url, _ = start_server(tmp_path, demo_catalog_dir, **env)
    try:
        con = openeo.connect(url).authenticate_basic("demo", "demo")
        job = con.create_job(slow_graph(), title="crashed", log_level="debug")
        job.start()
        _wait_log(job, "is computing node")
    finally:
        _kill_tree(proc)
    proc, url, _ = start_server(tmp_path, demo_catalog_dir, **env)
    try:
        con = openeo.connect(url).authenticate_basic("demo", "demo")
        job = con.job(job.job_id)
        # Not lost, not stuck in `running` by nobody: queued again, with the reason in its log.
        interrupted = [e for e in job.logs(level="warning") if e.get("code") == "JobInterrupted"]
        assert interrupted, job.logs()
        assert "run 1 of at most 2" in interrupted[0]["message"]
        assert _wait(job, {"running"}) == "running"
        job.stop()
        assert job.status() == "canceled"
    finally:
        proc.terminate()
        proc.wait(timeout=120)
