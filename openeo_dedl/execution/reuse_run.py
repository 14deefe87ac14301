"""A run's re-use of kept partition results: which values it looks up, and running a partition
from what was kept (the keys and the choice of values are pure: ``planning/reuse.py``)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import xarray as xr

from openeo_dedl.execution.reuse import Kept, ReuseStore, created_text
from openeo_dedl.execution.subgraph import input_parameter
from openeo_dedl.execution.usage import ReuseRecord
from openeo_dedl.planning import CollectionFacts, Partition, Plan
from openeo_dedl.planning.reuse import node_keys, reuse_points

logger = logging.getLogger(__name__)

Evaluate = Callable[[Partition, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class PlanReuse:
    """The kept values one run looks up and keeps: per partition, its points with their keys."""

    store: ReuseStore
    points: Mapping[str, Mapping[str, str]]  # partition id -> {node: key}

    @classmethod
    def for_plan(
        cls, plan: Plan, facts: Mapping[str, CollectionFacts], store: ReuseStore
    ) -> PlanReuse:
        keys = node_keys(plan.graph, facts)
        points = {
            pid: {n: keys[n] for n in nodes if keys.get(n) is not None}
            for pid, nodes in reuse_points(plan).items()
        }
        return cls(store, {pid: p for pid, p in points.items() if p})  # type: ignore[misc]

    def run_partition(
        self,
        partition: Partition,
        inputs: dict[str, Any],
        evaluate: Evaluate,
        compute: Callable[[Any], Any],
        record: Callable[[ReuseRecord], None],
    ) -> dict[str, Any]:
        """The values of ``partition``'s outputs: kept values where there are, the rest
        computed from them (``evaluate``), and what was computed kept (``compute`` runs a
        write on the site's workers). ``record`` hears of every kept value used."""
        points = self.points.get(partition.id, {})
        values: dict[str, Any] = {}
        for node, key in points.items():
            kept = self.store.lookup(partition.site, key)
            if kept is not None:
                values[node] = kept.value
                record(_record(partition, node, kept))
        missing = [n for n in points if n not in values]
        if missing:
            computed = evaluate(_rest(partition, values, missing), _with(inputs, values))
            for node, value in computed.items():
                if isinstance(value, xr.DataArray):
                    kept = self.store.keep(partition.site, points[node], value, compute)
                    value = value if kept is None else kept.value
                values[node] = value
        rest = [o for o in partition.outputs if o not in values]
        if rest:
            values.update(evaluate(_rest(partition, values, rest), _with(inputs, values)))
        return {o: values[o] for o in partition.outputs}


def _record(partition: Partition, node: str, kept: Kept) -> ReuseRecord:
    record = ReuseRecord(partition.id, node, partition.site, kept.key, created_text(kept))
    logger.info("%s (node %s at site %s)", record.note, node, partition.site)
    return record


def _rest(partition: Partition, known: Mapping[str, Any], outputs: list[str]) -> Partition:
    """``partition`` computing ``outputs`` with the ``known`` values coming in as inputs."""
    return replace(
        partition,
        nodes=tuple(n for n in partition.nodes if n not in known),
        outputs=tuple(outputs),
        inputs=(*partition.inputs, *known),
    )


def _with(inputs: dict[str, Any], known: Mapping[str, Any]) -> dict[str, Any]:
    return {**inputs, **{input_parameter(n): v for n, v in known.items()}}
