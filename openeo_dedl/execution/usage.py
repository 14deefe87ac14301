"""What a run used: seconds per site, every cross-site transfer, every partition, every kept
value re-used (records).

:class:`Usage` is built by the runner (and, for runs that end early, from a job's events by
``jobs/progress.py``). Its JSON form (:meth:`Usage.to_dict`, openEO's ``{value, unit}`` entries
plus our figures) is what results carry between processes, what the job store keeps and what
the API sends; :meth:`Usage.from_dict` reads it back, :meth:`Usage.metrics` gives openEO's
``usage`` of a job.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class TransferRecord:
    """One value that crossed sites: its node, where from and to, bytes and seconds taken."""

    node: str
    from_site: str
    to_site: str
    bytes: int
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (also a job log line's data)."""
        return asdict(self)


@dataclass(frozen=True)
class ReuseRecord:
    """A kept value a run used instead of computing it: its partition, node, site, key and
    when the kept value was made (RFC 3339)."""

    partition: str
    node: str
    site: str
    key: str
    created: str

    @property
    def note(self) -> str:
        """The plan's and the log's words for it."""
        return f"re-used partition {self.partition} from {self.created}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (also a job log line's data), with the note."""
        return {**asdict(self), "note": self.note}


@dataclass(frozen=True)
class PartitionRecord:
    """One partition's run at its site; ``nodes``, ``started`` and ``ended`` (seconds since the
    run started) when the runner measured it, not when a job's events told it."""

    id: str
    site: str
    seconds: float
    nodes: tuple[str, ...] | None = None
    started: float | None = None
    ended: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, without the figures not known."""
        d: dict[str, Any] = {"id": self.id, "site": self.site}
        if self.nodes is not None:
            d["nodes"] = list(self.nodes)
        d["seconds"] = self.seconds
        for name in ("started", "ended"):
            if getattr(self, name) is not None:
                d[name] = getattr(self, name)
        return d


@dataclass
class Usage:
    """What a run used: seconds per site, every cross-site transfer and partition run."""

    site_seconds: dict[str, float] = field(default_factory=dict)
    transfers: list[TransferRecord] = field(default_factory=list)
    partitions: list[PartitionRecord] = field(default_factory=list)
    # Site -> Dask workers of its cluster, for the sites the run asked a size of.
    site_workers: dict[str, int] = field(default_factory=dict)
    reused: list[ReuseRecord] = field(default_factory=list)
    # What the run cost in the billing plan's currency; no plan here charges yet.
    costs: float | None = None

    @property
    def bytes_moved(self) -> int:
        """Bytes that crossed sites."""
        return sum(t.bytes for t in self.transfers)

    @property
    def transfer_seconds(self) -> float:
        """Seconds all cross-site transfers took."""
        return sum(t.seconds or 0.0 for t in self.transfers)

    def add_seconds(self, site: str, seconds: float) -> None:
        """Count ``seconds`` of work at ``site``."""
        self.site_seconds[site] = self.site_seconds.get(site, 0.0) + seconds

    def to_dict(self) -> dict[str, Any]:
        """openEO ``usage`` plus our figures (bytes crossing sites, seconds per site)."""
        out: dict[str, Any] = {
            "duration": {"value": round(sum(self.site_seconds.values()), 3), "unit": "seconds"},
            "cross_site_bytes": {"value": self.bytes_moved, "unit": "bytes"},
            "site_seconds": {
                site: {"value": round(s, 3), "unit": "seconds"}
                for site, s in self.site_seconds.items()
            },
            "transfers": [t.to_dict() for t in self.transfers],
            "partitions": [p.to_dict() for p in self.partitions],
            **({"site_workers": dict(self.site_workers)} if self.site_workers else {}),
            "reused": [r.to_dict() for r in self.reused],
        }
        if self.costs is not None:
            out["costs"] = self.costs
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> Usage:
        """The usage of :meth:`to_dict`'s form (missing parts are empty)."""
        raw = raw or {}
        partitions = []
        for p in raw.get("partitions", []):
            nodes = p.get("nodes")
            partitions.append(
                PartitionRecord(
                    id=p["id"],
                    site=p["site"],
                    seconds=p.get("seconds", 0.0),
                    nodes=None if nodes is None else tuple(nodes),
                    started=p.get("started"),
                    ended=p.get("ended"),
                )
            )
        return cls(
            site_seconds={s: m["value"] for s, m in raw.get("site_seconds", {}).items()},
            transfers=[
                TransferRecord(
                    t["node"], t["from_site"], t["to_site"], t["bytes"], t.get("seconds") or 0.0
                )
                for t in raw.get("transfers", [])
            ],
            partitions=partitions,
            site_workers=dict(raw.get("site_workers", {})),
            reused=[
                ReuseRecord(r["partition"], r["node"], r["site"], r["key"], r["created"])
                for r in raw.get("reused", [])
            ],
            costs=raw.get("costs"),
        )

    def metrics(self, wall_seconds: float | None) -> dict[str, Any]:
        """openEO ``usage`` of a job (every entry ``{value, unit}``): ``duration``, the job's
        wall time; ``network``: bytes that crossed sites; ``network_duration``: seconds those
        transfers took; ``site:<name>``: seconds the job ran at each site."""
        out: dict[str, Any] = {}
        if wall_seconds is not None:
            out["duration"] = {"value": round(wall_seconds, 3), "unit": "seconds"}
        out["network"] = {"value": self.bytes_moved, "unit": "b"}
        out["network_duration"] = {"value": round(self.transfer_seconds, 3), "unit": "seconds"}
        for site, seconds in sorted(self.site_seconds.items()):
            out[f"site:{site}"] = {"value": seconds, "unit": "seconds"}
        return out
