"""A run's events become job logs and usage: every transfer with its bytes and seconds."""

from __future__ import annotations

from openeo_dedl.execution.control import RunEvent
from openeo_dedl.jobs.progress import JobProgress, usage_metrics

TRANSFER = {"node": "mean", "from_site": "lumi", "to_site": "central", "bytes": 17039}


def _progress(logs: list):
    return JobProgress(
        log=lambda level, message, **kw: logs.append((level, message, kw.get("data"))),
        set_progress=lambda percent, **fields: None,
        still_running=lambda: True,
        cancel=lambda: None,
    )


def test_transfers_are_logged_and_kept_with_bytes_and_seconds():
    logs: list = []
    progress = _progress(logs)
    progress(RunEvent("transfer", {**TRANSFER, "seconds": 1.94}))
    (level, message, data) = logs[-1]
    assert (
        message == "17.0 kB moved from site lumi to site central in 1.94 s (output of node mean)."
    )
    assert data["bytes"] == 17039 and data["seconds"] == 1.94

    # What a failed or canceled job keeps as its usage.
    usage = progress.usage()
    assert usage["transfers"] == [{**TRANSFER, "seconds": 1.94}]
    metrics = usage_metrics(usage, wall_seconds=3.0)
    assert metrics["network"] == {"value": 17039, "unit": "b"}
    assert metrics["network_duration"] == {"value": 1.94, "unit": "seconds"}


def test_usage_of_a_finished_run_sums_the_transfer_seconds():
    raw = {
        "cross_site_bytes": {"value": 30, "unit": "bytes"},
        "transfers": [
            {**TRANSFER, "bytes": 10, "seconds": 0.5},
            {**TRANSFER, "bytes": 20, "seconds": 0.25},
        ],
        "site_seconds": {"central": {"value": 2.0, "unit": "seconds"}},
    }
    metrics = usage_metrics(raw, wall_seconds=None)
    assert metrics["network_duration"] == {"value": 0.75, "unit": "seconds"}
    assert all(set(m) == {"value", "unit"} for m in metrics.values())
