"""Turning a run's events into job logs, progress and partial usage."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from openeo_dedl.execution.events import (
    Computed,
    Computing,
    PartitionFinished,
    PartitionStarted,
    Planned,
    RunEvent,
    WorkerLost,
)
from openeo_dedl.execution.usage import PartitionRecord, ReuseRecord, TransferRecord, Usage
from openeo_dedl.formats import human_bytes

# Progress (percent) after planning, and the part of the scale the partitions fill.
PLANNED_PERCENT = 5.0
PARTITIONS_PERCENT = 85.0
WRITING_PERCENT = 95.0


Log = Callable[..., None]


def transfer_text(transfer: TransferRecord) -> str:
    """A log line for one cross-site transfer: its bytes and how long it took."""
    return (
        f"{human_bytes(transfer.bytes)} moved from site {transfer.from_site} to site "
        f"{transfer.to_site} in {transfer.seconds or 0.0:.2f} s "
        f"(output of node {transfer.node})."
    )


class JobProgress:
    """Listens to one run: writes log lines and progress, and sums what the run used.

    ``log(level, message, data=...)`` and ``set_progress(percent, **fields)`` are the job's
    store operations; ``still_running()`` tells whether the job is still wanted (it is asked on
    every event, so a cancel from another server process reaches the run too).
    """

    def __init__(
        self,
        log: Log,
        set_progress: Callable[..., None],
        still_running: Callable[[], bool],
        cancel: Callable[[], None],
    ):
        self._log, self._set_progress = log, set_progress
        self._still_running, self._cancel = still_running, cancel
        self._lock = threading.Lock()
        self._usage = Usage()

    def __call__(self, event: RunEvent) -> None:
        match event:
            case Planned():
                self._planned(event.plan)
            case PartitionStarted():
                self._partition_started(event)
            case PartitionFinished():
                self._partition_finished(event)
            case TransferRecord():
                self._transfer(event)
            case ReuseRecord():
                with self._lock:
                    self._usage.reused.append(event)
                self._log(
                    "info",
                    f"{event.note} (node {event.node} at site {event.site}).",
                    data=event.to_dict(),
                )
            case Computing(site=site, node=node):
                self._log(
                    "debug",
                    f"Site {site} is computing node {node}.",
                    data={"site": site, "node": node},
                )
            case Computed():
                self._computed(event)
            case WorkerLost():
                self._worker_lost(event)
        if not self._still_running():
            self._cancel()

    def _planned(self, plan: dict[str, Any]) -> None:
        sites = sorted({p["site"] for p in plan.get("partitions", [])})
        estimated = plan.get("estimated_bytes", {})
        summary = {
            "result_site": plan.get("result_site"),
            "partitions": [
                {"id": p["id"], "site": p["site"], "nodes": p.get("nodes", [])}
                for p in plan.get("partitions", [])
            ],
            "transfers": plan.get("transfers", []),
            "estimated_bytes": estimated,
        }
        self._log(
            "info",
            f"Planned {len(summary['partitions'])} partition(s) at site(s) {', '.join(sites)}; "
            f"about {human_bytes(estimated.get('planned') or 0)} cross sites "
            f"(everything at one site: {human_bytes(estimated.get('naive') or 0)}).",
            data=summary,
        )
        self._set_progress(PLANNED_PERCENT, execution_plan=plan)

    def _partition_started(self, event: PartitionStarted) -> None:
        self._log(
            "info",
            f"Partition {event.partition} started at site {event.site} "
            f"({len(event.nodes)} node(s)).",
            data={"partition": event.partition, "site": event.site, "nodes": event.nodes},
        )

    def _partition_finished(self, event: PartitionFinished) -> None:
        partition, site, seconds = event.partition, event.site, event.seconds
        with self._lock:
            self._usage.add_seconds(site, seconds)
            self._usage.partitions.append(PartitionRecord(partition, site, seconds))
        self._log(
            "info",
            f"Partition {partition} finished at site {site} in {seconds:.2f} s "
            f"({event.done} of {event.total}).",
            data={"partition": partition, "site": site, "nodes": event.nodes, "seconds": seconds},
        )
        self._set_progress(PLANNED_PERCENT + PARTITIONS_PERCENT * event.done / max(event.total, 1))

    def _transfer(self, record: TransferRecord) -> None:
        with self._lock:
            self._usage.transfers.append(record)
        self._log("info", transfer_text(record), data={**record.to_dict(), "site": record.to_site})

    def _worker_lost(self, event: WorkerLost) -> None:
        where = f"Site {event.site}" if event.site else "A site"
        self._log(
            "warning",
            f"{where} lost {len(event.workers)} Dask worker(s) during the run "
            f"({', '.join(event.workers)}); Dask runs their tasks again on the remaining "
            f"{event.remaining} worker(s).",
            data={"site": event.site, "workers": event.workers, "remaining": event.remaining},
        )

    def _computed(self, event: Computed) -> None:
        self._log(
            "debug",
            f"Site {event.site} computed node {event.node} in {event.seconds:.2f} s "
            f"({human_bytes(event.bytes)}).",
            data={
                "site": event.site,
                "node": event.node,
                "seconds": event.seconds,
                "bytes": event.bytes,
            },
        )

    def usage(self) -> Usage:
        """What the run used so far (for failed/canceled runs): a copy."""
        with self._lock:
            return Usage(
                dict(self._usage.site_seconds),
                list(self._usage.transfers),
                list(self._usage.partitions),
            )
