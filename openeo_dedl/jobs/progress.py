"""Turning a run's events into job logs, progress and partial usage."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from openeo_dedl.execution.control import RunEvent
from openeo_dedl.formats import human_bytes

# Progress (percent) after planning, and the part of the scale the partitions fill.
PLANNED_PERCENT = 5.0
PARTITIONS_PERCENT = 85.0
WRITING_PERCENT = 95.0


Log = Callable[..., None]


def transfer_text(transfer: dict[str, Any]) -> str:
    """A log line for one cross-site transfer: its bytes and how long it took."""
    return (
        f"{human_bytes(transfer['bytes'])} moved from site {transfer['from_site']} to site "
        f"{transfer['to_site']} in {transfer.get('seconds') or 0.0:.2f} s "
        f"(output of node {transfer['node']})."
    )


def transfer_seconds(usage: dict[str, Any] | None) -> float:
    """Seconds all cross-site transfers of a run took (the runner's usage shape)."""
    return sum(t.get("seconds") or 0.0 for t in (usage or {}).get("transfers", []))


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
        self.site_seconds: dict[str, float] = {}
        self.bytes_moved = 0
        self.transfers: list[dict[str, Any]] = []
        self.partitions: list[dict[str, Any]] = []

    def __call__(self, event: RunEvent) -> None:
        handler = getattr(self, f"_on_{event.kind}", None)
        if handler is not None:
            handler(**event.data)
        if not self._still_running():
            self._cancel()

    def _on_planned(self, plan: dict[str, Any]) -> None:
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

    def _on_partition_started(self, partition: str, site: str, nodes: list[str], total: int):
        self._log(
            "info",
            f"Partition {partition} started at site {site} ({len(nodes)} node(s)).",
            data={"partition": partition, "site": site, "nodes": nodes},
        )

    def _on_partition_finished(
        self, partition: str, site: str, nodes: list[str], seconds: float, done: int, total: int
    ) -> None:
        with self._lock:
            self.site_seconds[site] = self.site_seconds.get(site, 0.0) + seconds
            self.partitions.append({"id": partition, "site": site, "seconds": seconds})
        self._log(
            "info",
            f"Partition {partition} finished at site {site} in {seconds:.2f} s "
            f"({done} of {total}).",
            data={"partition": partition, "site": site, "nodes": nodes, "seconds": seconds},
        )
        self._set_progress(PLANNED_PERCENT + PARTITIONS_PERCENT * done / max(total, 1))

    def _on_transfer(self, node: str, from_site: str, to_site: str, bytes: int, seconds: float):
        record = {
            "node": node,
            "from_site": from_site,
            "to_site": to_site,
            "bytes": bytes,
            "seconds": seconds,
        }
        with self._lock:
            self.bytes_moved += bytes
            self.transfers.append(record)
        self._log("info", transfer_text(record), data={**record, "site": to_site})

    def _on_computing(self, site: str, node: str) -> None:
        self._log(
            "debug",
            f"Site {site} is computing node {node}.",
            data={"site": site, "node": node},
        )

    def _on_worker_lost(self, site: str | None, workers: list[str], remaining: int) -> None:
        where = f"Site {site}" if site else "A site"
        self._log(
            "warning",
            f"{where} lost {len(workers)} Dask worker(s) during the run "
            f"({', '.join(workers)}); Dask runs their tasks again on the remaining "
            f"{remaining} worker(s).",
            data={"site": site, "workers": workers, "remaining": remaining},
        )

    def _on_computed(self, site: str, node: str, seconds: float, bytes: int) -> None:
        self._log(
            "debug",
            f"Site {site} computed node {node} in {seconds:.2f} s ({human_bytes(bytes)}).",
            data={"site": site, "node": node, "seconds": seconds, "bytes": bytes},
        )

    def usage(self) -> dict[str, Any]:
        """What the run used so far, in the runner's usage shape (for failed/canceled runs)."""
        with self._lock:
            return {
                "duration": {"value": round(sum(self.site_seconds.values()), 3), "unit": "seconds"},
                "cross_site_bytes": {"value": self.bytes_moved, "unit": "bytes"},
                "site_seconds": {
                    s: {"value": round(v, 3), "unit": "seconds"}
                    for s, v in self.site_seconds.items()
                },
                "transfers": list(self.transfers),
                "partitions": list(self.partitions),
            }


def usage_metrics(raw: dict[str, Any] | None, wall_seconds: float | None) -> dict[str, Any]:
    """openEO ``usage`` (every entry ``{value, unit}``) from the runner's usage dict.

    ``duration``: the job's wall time; ``network``: bytes that crossed sites;
    ``network_duration``: seconds those transfers took; ``site:<name>``: seconds the job ran at
    each site.
    """
    raw = raw or {}
    out: dict[str, Any] = {}
    if wall_seconds is not None:
        out["duration"] = {"value": round(wall_seconds, 3), "unit": "seconds"}
    moved = raw.get("cross_site_bytes", {}).get("value")
    if moved is not None:
        out["network"] = {"value": moved, "unit": "b"}
    if "transfers" in raw:
        out["network_duration"] = {"value": round(transfer_seconds(raw), 3), "unit": "seconds"}
    for site, metric in sorted(raw.get("site_seconds", {}).items()):
        out[f"site:{site}"] = {"value": metric["value"], "unit": "seconds"}
    return out
