"""What a run reports while it runs: one record type per event (see ``control.RunControl``).

Listeners (``jobs/progress.py``) tell events apart by their type; a cross-site transfer is
reported as its :class:`~openeo_dedl.execution.usage.TransferRecord`, a kept value re-used as its
:class:`~openeo_dedl.execution.usage.ReuseRecord`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from openeo_dedl.execution.usage import ReuseRecord, TransferRecord


@dataclass(frozen=True)
class Planned:
    """The run's plan (``Plan.to_dict()``), before anything runs."""

    plan: dict[str, Any]


@dataclass(frozen=True)
class RunStarted:
    """The partitions start: how many, at which sites."""

    partitions: int
    sites: list[str]


@dataclass(frozen=True)
class PartitionStarted:
    """A partition starts at its site (``total``: partitions of the run)."""

    partition: str
    site: str
    nodes: list[str]
    total: int


@dataclass(frozen=True)
class PartitionFinished:
    """A partition finished at its site, ``done`` of ``total`` so far."""

    partition: str
    site: str
    nodes: list[str]
    seconds: float
    done: int
    total: int


@dataclass(frozen=True)
class Computing:
    """A site's cluster starts computing an output."""

    site: str
    node: str


@dataclass(frozen=True)
class Computed:
    """A site's cluster computed an output: seconds and bytes."""

    site: str
    node: str
    seconds: float
    bytes: int


@dataclass(frozen=True)
class WorkerLost:
    """A site's cluster lost Dask workers during the run; Dask recomputes on the others."""

    site: str | None
    workers: list[str]
    remaining: int


RunEvent = (
    Planned
    | RunStarted
    | PartitionStarted
    | PartitionFinished
    | TransferRecord
    | ReuseRecord
    | Computing
    | Computed
    | WorkerLost
)
