"""From a flat process graph and collection facts to a :class:`Plan` (pure, no I/O).

Steps: inline user-defined processes → label loads (replicas, item-level splits; see split.py) →
estimate every node's output size (estimate.py) → place every node (place.py) → cut the graph
into partitions (connected nodes of one site, in dependency order, none deeper than
``MAX_PARTITION_DEPTH``) → list the transfers between sites with their estimated bytes.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

import networkx as nx

from openeo_dedl.planning.estimate import Estimate, Estimator
from openeo_dedl.planning.facts import CollectionFacts
from openeo_dedl.planning.graph import FlatGraph
from openeo_dedl.planning.internal import PARTIAL_MEAN_PROCESS
from openeo_dedl.planning.options import AUTO
from openeo_dedl.planning.place import place
from openeo_dedl.planning.split import SplitLoad, label_loads
from openeo_dedl.planning.traits import traits_of

# The runner parses and runs each partition as one graph with openeo-pg-parser-networkx, through
# nested calls; why that needs a bound on the longest path is documented with the parser's other
# workarounds in execution/pg_adapter.py (MAX_CHAIN_DEPTH, which must stay above this).
MAX_PARTITION_DEPTH = 100


@dataclass(frozen=True)
class Partition:
    """Connected work of one site, run as one unit."""

    id: str
    site: str
    nodes: tuple[str, ...]  # in topological order
    # Nodes of this partition whose values other partitions (or the user) need.
    outputs: tuple[str, ...]
    # Nodes of other partitions whose values this partition needs.
    inputs: tuple[str, ...]


@dataclass(frozen=True)
class Transfer:
    """A partition output that must reach another site (moved once, however many use it)."""

    node: str
    from_partition: str
    to_partitions: tuple[str, ...]
    from_site: str
    to_site: str
    bytes: int  # estimated


@dataclass(frozen=True)
class Plan:
    """Where every node runs, in which partitions, and what moves between sites."""

    node_sites: Mapping[str, str]
    partitions: tuple[Partition, ...]  # in dependency order
    transfers: tuple[Transfer, ...]
    result_node: str
    result_site: str  # where the result node runs, i.e. where the result is saved
    # The graph that runs: the user's graph after inlining user processes and splitting loads.
    graph: FlatGraph = field(repr=False, compare=False)
    node_bytes: Mapping[str, int] = field(default_factory=dict, repr=False)
    planned_bytes: int = 0  # estimated bytes crossing sites (sum of the transfers)
    naive_bytes: int = 0  # estimate for shipping all raw inputs to one site (naive_site)
    naive_site: str = ""
    strategy: str = "cost"
    load_options: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    splits: tuple[SplitLoad, ...] = ()
    # Collection -> {provider id in ``federation:backends`` -> the site it gave} (the DEDL's
    # ids, such as ``dedt_lumi``, mapped by ``provider_sites``), for the loaded collections.
    providers: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # The facts it was planned with, by collection id: the items (and their versions, which
    # key re-usable results) of what the loads read.
    facts: Mapping[str, CollectionFacts] = field(default_factory=dict, repr=False, compare=False)

    def to_dict(self) -> dict:
        """JSON-ready form (for the CLI, usage and, later, ``GET /jobs/{id}/estimate``)."""
        part_bytes = {
            p.id: sum(self.node_bytes.get(n, 0) for n in p.outputs) for p in self.partitions
        }
        return {
            "result_node": self.result_node,
            "result_site": self.result_site,
            "strategy": self.strategy,
            "estimated_bytes": {
                "planned": self.planned_bytes,
                "naive": self.naive_bytes,
                "naive_site": self.naive_site,
            },
            "node_sites": dict(self.node_sites),
            "partitions": [
                {**asdict(p), "output_bytes": part_bytes[p.id]} for p in self.partitions
            ],
            "transfers": [asdict(t) for t in self.transfers],
            "loads": [
                {"node": n, "sites": list(s), "site": self.node_sites[n]}
                for n, s in self.load_options.items()
            ],
            "splits": [s.to_dict() for s in self.splits],
            "providers": {cid: dict(p) for cid, p in self.providers.items()},
            "node_bytes": dict(self.node_bytes),
        }


def _as_facts(collections: Mapping[str, CollectionFacts | Sequence[str]]):
    return {
        cid: value if isinstance(value, CollectionFacts) else CollectionFacts.at(cid, *value)
        for cid, value in collections.items()
    }


def _candidate_sites(
    sites: Sequence[str] | None,
    facts: Mapping[str, CollectionFacts],
    options: Mapping[str, tuple[str, ...]],
    result_site: str,
) -> list[str]:
    ordered: dict[str, None] = dict.fromkeys(sites or ())
    ordered.setdefault(result_site)
    for opts in options.values():
        for s in opts:
            ordered.setdefault(s)
    return list(ordered)


def estimate_sizes(
    graph: FlatGraph, order: Sequence[str], estimator: Estimator
) -> dict[str, Estimate]:
    """Every node's output estimate, producers first."""
    estimates: dict[str, Estimate] = {}
    for node_id in order:
        inputs = {p: estimates[p] for p in graph.producers(node_id)}
        estimates[node_id] = estimator.estimate(
            graph.process_id(node_id), graph.arguments(node_id), inputs
        )
    return estimates


def plan_process_graph(
    process_graph: dict | FlatGraph,
    collections: Mapping[str, CollectionFacts | Sequence[str]],
    result_site: str,
    *,
    sites: Sequence[str] | None = None,
    max_depth: int = MAX_PARTITION_DEPTH,
    strategy: str = AUTO,
) -> Plan:
    """Place and partition a flat process graph.

    ``collections`` maps collection id → :class:`CollectionFacts` (or just its sites);
    ``result_site`` is where results are delivered (ties go there; unknown collections run
    there); ``sites`` lists all sites in order of preference (default: those that occur);
    ``strategy`` is the placement strategy (``planning/options.py``).
    """
    if not isinstance(process_graph, FlatGraph):
        process_graph = FlatGraph(process_graph)
    facts = _as_facts(collections)
    estimator = Estimator(facts)
    labels = label_loads(process_graph, facts, estimator, result_site)
    graph = labels.graph
    order = graph.topological_order()
    estimates = estimate_sizes(graph, order, estimator)
    sizes = _capped({n: e.nbytes for n, e in estimates.items()}, graph)
    candidates = _candidate_sites(sites, facts, labels.options, result_site)
    placement = place(graph, order, sizes, labels.options, candidates, result_site, strategy)
    partitions = make_partitions(graph, order, placement.sites, max_depth)
    transfers = make_transfers(graph, partitions, placement.sites, sizes)
    return Plan(
        node_sites=placement.sites,
        partitions=partitions,
        transfers=transfers,
        result_node=graph.result_node,
        result_site=placement.sites[graph.result_node],
        graph=graph,
        node_bytes={n: _int(b) for n, b in sizes.items()},
        planned_bytes=sum(t.bytes for t in transfers),
        naive_bytes=_int(placement.naive_bytes),
        naive_site=placement.naive_site,
        strategy=placement.strategy,
        load_options=dict(labels.options),
        splits=labels.splits,
    )


def plan_single_site(graph: FlatGraph, site: str, max_depth: int = MAX_PARTITION_DEPTH) -> Plan:
    """Everything of ``graph`` (as planned, e.g. ``Plan.graph``) at one site: the reference a
    partitioned plan must agree with, and a way to run a graph without placement."""
    order = graph.topological_order()
    sites = dict.fromkeys(order, site)
    partitions = make_partitions(graph, order, sites, max_depth)
    return Plan(
        node_sites=sites,
        partitions=partitions,
        transfers=(),
        result_node=graph.result_node,
        result_site=site,
        graph=graph,
        strategy=f"single-site:{site}",
    )


def _int(value: float) -> int:
    return int(math.ceil(value)) if math.isfinite(value) else 2**63 - 1


def _capped(sizes: Mapping[str, float], graph: FlatGraph) -> dict[str, float]:
    """Reductions never grow their data: cap each one at its largest input. (Not a split
    load's partial mean: a sum and a count per element can be more than a short series.)"""
    capped = dict(sizes)
    for node_id, size in sizes.items():
        pid = graph.process_id(node_id)
        if traits_of(pid).pinned and pid != PARTIAL_MEAN_PROCESS:
            inputs = [sizes[p] for p in graph.producers(node_id)]
            if inputs:
                capped[node_id] = min(size, max(inputs))
    return capped


def make_partitions(
    graph: FlatGraph,
    order: Sequence[str],
    node_sites: Mapping[str, str],
    max_depth: int = MAX_PARTITION_DEPTH,
) -> tuple[Partition, ...]:
    """Partitions of placed nodes: connected, one site, acyclic, in dependency order.

    A node's *stage* counts the site changes on the longest path to it; nodes whose consumers
    all run at their site move up to their consumers' stage (so a load feeding a later merge
    joins the merge's partition). An edge between sites always goes to a later stage and an
    edge within a site never to an earlier one, so groups of equal (stage, site) form an
    acyclic quotient graph. Each group is then cut by depth into layers of at most
    ``max_depth`` nodes on any path (edges never go to an earlier layer), and each layer into
    its connected components.
    """
    position = {n: i for i, n in enumerate(order)}
    key = _layer_keys(graph, order, node_sites, max_depth)
    members, find = _components(graph, order, key, position)

    quotient = nx.DiGraph()
    quotient.add_nodes_from(members)
    for node_id in order:
        for p in graph.producers(node_id):
            a, b = find(p), find(node_id)
            if a != b:
                quotient.add_edge(a, b)
    ranked = list(
        nx.lexicographical_topological_sort(
            quotient, key=lambda r: (key[r][0], key[r][1], position[r])
        )
    )
    part_of = {n: f"p{i}" for i, root in enumerate(ranked) for n in members[root]}
    partitions = []
    for i, root in enumerate(ranked):
        nodes = members[root]
        pid = f"p{i}"
        inputs = sorted(
            {p for n in nodes for p in graph.producers(n) if part_of[p] != pid},
            key=position.__getitem__,
        )
        outputs = [
            n
            for n in nodes
            if n == graph.result_node
            or not graph.consumers(n)
            or any(part_of[c] != pid for c in graph.consumers(n))
        ]
        partitions.append(
            Partition(pid, node_sites[nodes[0]], tuple(nodes), tuple(outputs), tuple(inputs))
        )
    return tuple(partitions)


def _layer_keys(
    graph: FlatGraph, order: Sequence[str], node_sites: Mapping[str, str], max_depth: int
) -> dict[str, tuple[int, int, str]]:
    """(stage, depth layer, site) of every node (see :func:`make_partitions`)."""
    stage: dict[str, int] = {}
    for node_id in order:
        stage[node_id] = max(
            (stage[p] + (node_sites[p] != node_sites[node_id]) for p in graph.producers(node_id)),
            default=0,
        )
    for node_id in reversed(order):
        consumers = graph.consumers(node_id)
        if consumers and all(node_sites[c] == node_sites[node_id] for c in consumers):
            stage[node_id] = min(stage[c] for c in consumers)

    depth: dict[str, int] = {}
    key: dict[str, tuple[int, int, str]] = {}
    for node_id in order:
        group = (stage[node_id], node_sites[node_id])
        depth[node_id] = 1 + max(
            (depth[p] for p in graph.producers(node_id) if (stage[p], node_sites[p]) == group),
            default=0,
        )
        key[node_id] = (group[0], (depth[node_id] - 1) // max_depth, group[1])
    return key


def _components(
    graph: FlatGraph,
    order: Sequence[str],
    key: Mapping[str, tuple[int, int, str]],
    position: Mapping[str, int],
) -> tuple[dict[str, list[str]], Callable[[str], str]]:
    """Connected components within each key (union-find over the edges inside a key): the
    members of each (by its earliest node, in order) and the representative of a node."""
    parent = {n: n for n in order}

    def find(n: str) -> str:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for node_id in order:
        for p in graph.producers(node_id):
            if key[p] == key[node_id]:
                a, b = find(p), find(node_id)
                if a != b:
                    # Keep the earliest node as the representative: stable partition order.
                    if position[a] < position[b]:
                        parent[b] = a
                    else:
                        parent[a] = b
    members: dict[str, list[str]] = defaultdict(list)
    for node_id in order:
        members[find(node_id)].append(node_id)
    return members, find


def make_transfers(
    graph: FlatGraph,
    partitions: Sequence[Partition],
    node_sites: Mapping[str, str],
    sizes: Mapping[str, float],
) -> tuple[Transfer, ...]:
    """One transfer per (partition output, other site that needs it)."""
    part_of = {n: p.id for p in partitions for n in p.nodes}
    needed: dict[tuple[str, str], list[str]] = {}
    for p in partitions:
        for node in p.inputs:
            if node_sites[node] != p.site:
                needed.setdefault((node, p.site), []).append(p.id)
    return tuple(
        Transfer(
            node=node,
            from_partition=part_of[node],
            to_partitions=tuple(to),
            from_site=node_sites[node],
            to_site=site,
            bytes=_int(sizes[node]),
        )
        for (node, site), to in needed.items()
    )
