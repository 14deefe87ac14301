"""A run's events become job logs and usage: every transfer with its bytes and seconds."""

from __future__ import annotations

from openeo_dedl.execution.events import (
    Computed,
    Computing,
    PartitionFinished,
    PartitionStarted,
    Planned,
    RunStarted,
    WorkerLost,
)
from openeo_dedl.execution.usage import PartitionRecord, TransferRecord, Usage
from openeo_dedl.jobs.progress import JobProgress

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
    progress(TransferRecord(**TRANSFER, seconds=1.94))
    (level, message, data) = logs[-1]
    assert (
        message == "17.0 kB moved from site lumi to site central in 1.94 s (output of node mean)."
    )
    assert data["bytes"] == 17039 and data["seconds"] == 1.94

    # What a failed or canceled job keeps as its usage.
    usage = progress.usage()
    assert usage.transfers == [TransferRecord(**TRANSFER, seconds=1.94)]
    metrics = usage.metrics(wall_seconds=3.0)
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
    metrics = Usage.from_dict(raw).metrics(wall_seconds=None)
    assert metrics["network_duration"] == {"value": 0.75, "unit": "seconds"}
    assert all(set(m) == {"value", "unit"} for m in metrics.values())


def test_each_event_type_has_its_log_line_and_progress():
    logs: list = []
    percents: list = []
    progress = JobProgress(
        log=lambda level, message, **kw: logs.append((level, message)),
        set_progress=lambda percent, **fields: percents.append(percent),
        still_running=lambda: True,
        cancel=lambda: None,
    )
    plan = {"partitions": [{"id": "p0", "site": "lumi"}], "estimated_bytes": {"planned": 0}}
    progress(Planned(plan))
    progress(RunStarted(partitions=1, sites=["lumi"]))  # nothing to tell
    progress(PartitionStarted(partition="p0", site="lumi", nodes=["a", "b"], total=1))
    progress(Computing(site="lumi", node="b"))
    progress(Computed(site="lumi", node="b", seconds=0.5, bytes=2000))
    progress(WorkerLost(site="lumi", workers=["w1"], remaining=1))
    progress(PartitionFinished("p0", "lumi", ["a", "b"], seconds=1.25, done=1, total=1))
    assert [level for level, _ in logs] == ["info", "info", "debug", "debug", "warning", "info"]
    assert logs[1][1] == "Partition p0 started at site lumi (2 node(s))."
    assert logs[3][1] == "Site lumi computed node b in 0.50 s (2.0 kB)."
    assert percents[-1] == 90.0
    usage = progress.usage()
    assert usage.site_seconds == {"lumi": 1.25}
    assert usage.partitions == [PartitionRecord("p0", "lumi", 1.25)]
    assert usage.to_dict()["partitions"] == [{"id": "p0", "site": "lumi", "seconds": 1.25}]


def test_usage_reads_back_what_it_writes():
    usage = Usage(
        site_seconds={"lumi": 1.5, "central": 0.25},
        transfers=[TransferRecord("m", "lumi", "central", 100, 0.5)],
        partitions=[PartitionRecord("p0", "lumi", 1.5, ("l", "m"), 0.0, 1.5)],
    )
    raw = usage.to_dict()
    assert raw["cross_site_bytes"] == {"value": 100, "unit": "bytes"}
    assert raw["partitions"][0]["nodes"] == ["l", "m"]
    assert Usage.from_dict(raw) == usage
    assert Usage.from_dict(raw).metrics(wall_seconds=2.0) == {
        "duration": {"value": 2.0, "unit": "seconds"},
        "network": {"value": 100, "unit": "b"},
        "network_duration": {"value": 0.5, "unit": "seconds"},
        "site:central": {"value": 0.25, "unit": "seconds"},
        "site:lumi": {"value": 1.5, "unit": "seconds"},
    }
    costly = Usage(costs=1.5)
    assert costly.to_dict()["costs"] == 1.5 and Usage.from_dict(costly.to_dict()) == costly
