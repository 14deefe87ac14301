"""Site labels and partitions of a process graph.

A first, simple placement: ``load_collection`` runs at its collection's site; a node whose
inputs all come from one site runs there; where sites meet, the node runs at the site of its
un-reduced inputs (they are the large ones), so that only reduced cubes cross sites. The
cost-based planner refines this rule; the partition structure stays.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

from openeo_dedl.planning.graph import FlatGraph

# Processes whose output is much smaller than their input: once data passed one, it may move.
REDUCING_PROCESSES = frozenset(
    {
        "reduce_dimension",
        "reduce_spatial",
        "aggregate_temporal",
        "aggregate_temporal_period",
        "aggregate_spatial",
        "resample_spatial",
        "resample_cube_spatial",
        "resample_cube_temporal",
    }
)


@dataclass(frozen=True)
class Partition:
    """Connected work of one site, run as one unit."""

    id: str
    site: str
    nodes: tuple[str, ...]
    # Nodes of this partition whose values other partitions (or the user) need.
    outputs: tuple[str, ...]
    # Nodes of other partitions whose values this partition needs.
    inputs: tuple[str, ...]


@dataclass(frozen=True)
class Transfer:
    """A partition output moving from one site to another."""

    node: str
    from_partition: str
    to_partition: str
    from_site: str
    to_site: str


@dataclass(frozen=True)
class Plan:
    node_sites: Mapping[str, str]
    partitions: tuple[Partition, ...]  # in dependency order
    transfers: tuple[Transfer, ...]
    result_node: str
    result_site: str

    def to_dict(self) -> dict:
        return {
            "result_node": self.result_node,
            "result_site": self.result_site,
            "node_sites": dict(self.node_sites),
            "partitions": [asdict(p) for p in self.partitions],
            "transfers": [asdict(t) for t in self.transfers],
        }


def _choose_site(candidates: dict[str, float], default_site: str) -> str:
    best = max(candidates.values())
    tied = sorted(s for s, w in candidates.items() if w == best)
    return default_site if default_site in tied else tied[0]


def assign_sites(
    graph: FlatGraph, collection_sites: Mapping[str, Sequence[str]], default_site: str
) -> dict[str, str]:
    """The site of every node of the top-level graph (callbacks go with their parent node)."""
    order = graph.topological_order()
    sites: dict[str, str] = {}
    reduced: dict[str, bool] = {}
    for node_id in order:
        pid = graph.process_id(node_id)
        producers = graph.producers(node_id)
        if pid == "load_collection":
            cid = graph.arguments(node_id).get("id")
            options = collection_sites.get(cid) if isinstance(cid, str) else None
            sites[node_id] = options[0] if options else default_site
            reduced[node_id] = False
            continue
        weights: dict[str, float] = defaultdict(float)
        for p in producers:
            if p in sites:
                # An un-reduced input weighs like a hundred reduced ones.
                weights[sites[p]] += 1.0 if reduced[p] else 100.0
        if weights:
            sites[node_id] = _choose_site(weights, default_site)
        reduced[node_id] = pid in REDUCING_PROCESSES or all(reduced[p] for p in producers)
    # Nodes fed by no data (constants, arrays) go where their first consumer runs.
    for node_id in reversed(order):
        if node_id not in sites:
            consumers = [c for c in graph.consumers(node_id) if c in sites]
            sites[node_id] = sites[consumers[0]] if consumers else default_site
    return sites


def plan_process_graph(
    process_graph: dict | FlatGraph,
    collection_sites: Mapping[str, Sequence[str]],
    default_site: str,
) -> Plan:
    """Place and partition a flat process graph.

    Partitions are keyed by (site, stage), where a node's stage counts the site changes on the
    longest path leading to it: an edge between sites always goes to a later stage and an edge
    within a site never to an earlier one, so the partition graph is acyclic by construction.
    """
    graph = process_graph if isinstance(process_graph, FlatGraph) else FlatGraph(process_graph)
    sites = assign_sites(graph, collection_sites, default_site)
    order = graph.topological_order()
    stage: dict[str, int] = {}
    for node_id in order:
        stage[node_id] = max(
            (stage[p] + (sites[p] != sites[node_id]) for p in graph.producers(node_id)), default=0
        )
    # Pull nodes forward to their consumers' stage when those all run at the same site, so that
    # e.g. a load feeding a later cross-site merge joins the merge's partition.
    for node_id in reversed(order):
        consumers = graph.consumers(node_id)
        if consumers and all(sites[c] == sites[node_id] for c in consumers):
            stage[node_id] = min(stage[c] for c in consumers)
    groups: dict[tuple[int, str], list[str]] = defaultdict(list)
    for node_id in order:
        groups[(stage[node_id], sites[node_id])].append(node_id)
    keys = sorted(groups)
    partition_of = {n: f"p{i}" for i, key in enumerate(keys) for n in groups[key]}

    partitions = []
    transfers = []
    for i, key in enumerate(keys):
        pid = f"p{i}"
        members = groups[key]
        member_set = set(members)
        inputs = sorted({p for n in members for p in graph.producers(n) if p not in member_set})
        outputs = [
            n
            for n in members
            if n == graph.result_node
            or not graph.consumers(n)
            or any(c not in member_set for c in graph.consumers(n))
        ]
        partitions.append(Partition(pid, key[1], tuple(members), tuple(outputs), tuple(inputs)))
        for producer in inputs:
            transfers.append(
                Transfer(
                    node=producer,
                    from_partition=partition_of[producer],
                    to_partition=pid,
                    from_site=sites[producer],
                    to_site=key[1],
                )
            )
    transfers = [t for t in transfers if t.from_site != t.to_site]
    return Plan(
        node_sites=sites,
        partitions=tuple(partitions),
        transfers=tuple(transfers),
        result_node=graph.result_node,
        result_site=sites[graph.result_node],
    )
