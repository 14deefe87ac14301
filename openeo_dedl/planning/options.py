"""A run's processing options (openEO's Processing Parameters extension), as the planner and
the executor use them: where the planner may place the work, how many Dask workers each site's
cluster gets, the least level of the log lines kept.

Pure: which values are allowed (sites, per-user limits) is checked by
``execution/options.py``; this is the checked record and its JSON form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# The placement strategies: "auto", the cheapest of the cost-based plan and every
# single-site plan (the default); "cost", the cost-based plan only; "single-site:<S>",
# everything at S but the loads of data S does not hold.
AUTO = "auto"
COST = "cost"
SINGLE_SITE = "single-site:"
LOG_LEVELS = ("error", "warning", "info", "debug")


@dataclass(frozen=True)
class RunOptions:
    """The checked processing options of one run (defaults: what a run gets unasked)."""

    placement: str = AUTO
    # Site -> Dask workers of its cluster for this run; a site not named keeps its setting.
    workers: Mapping[str, int] = field(default_factory=dict)
    log_level: str = "info"

    @property
    def single_site(self) -> str | None:
        """The site of a ``single-site:<S>`` placement, else None."""
        if self.placement.startswith(SINGLE_SITE):
            return self.placement[len(SINGLE_SITE) :]
        return None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form kept with a queued run (only what differs from the defaults)."""
        out: dict[str, Any] = {}
        if self.placement != AUTO:
            out["placement"] = self.placement
        if self.workers:
            out["workers"] = dict(self.workers)
        if self.log_level != "info":
            out["log_level"] = self.log_level
        return out

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> RunOptions:
        """The options of :meth:`to_dict`'s form (already checked when they were stored)."""
        raw = raw or {}
        return cls(
            placement=raw.get("placement", AUTO),
            workers={str(k): int(v) for k, v in (raw.get("workers") or {}).items()},
            log_level=raw.get("log_level", "info"),
        )
