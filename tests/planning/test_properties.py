"""Properties of every plan, over random graphs of real processes on collections at random sites."""

from __future__ import annotations

import networkx as nx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openeo_dedl.planning import ITEM_SITE_ARGUMENT, MAX_PARTITION_DEPTH, Plan, plan_process_graph
from openeo_dedl.planning.place import pinned_load
from tests.planning.graphs import SITES, HypothesisChooser, RandomChooser, random_setup

PROPERTY_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def check_plan(plan: Plan, max_depth: int = MAX_PARTITION_DEPTH) -> None:
    graph = plan.graph
    nodes = set(graph.nodes)

    # Every node is placed once: one site, exactly one partition, of that site.
    assert set(plan.node_sites) == nodes
    listed = [n for p in plan.partitions for n in p.nodes]
    assert sorted(listed) == sorted(nodes)
    part_of = {n: p for p in plan.partitions for n in p.nodes}
    for p in plan.partitions:
        assert all(plan.node_sites[n] == p.site for n in p.nodes)

    # Partitions are connected, acyclic, in topological order and shallow enough to parse.
    index = {p.id: i for i, p in enumerate(plan.partitions)}
    quotient = nx.DiGraph()
    for u, v in graph.dag.edges:
        if part_of[u].id != part_of[v].id:
            assert index[part_of[u].id] < index[part_of[v].id], (u, v)
            quotient.add_edge(part_of[u].id, part_of[v].id)
            assert u in part_of[v].inputs and u in part_of[u].outputs
    assert nx.is_directed_acyclic_graph(quotient)
    for p in plan.partitions:
        sub = graph.dag.subgraph(p.nodes)
        assert nx.is_weakly_connected(sub)
        assert nx.dag_longest_path_length(sub) + 1 <= max_depth

    # Transfers: exactly the partition inputs that come from another site, each once per site.
    needed = {
        (n, p.site) for p in plan.partitions for n in p.inputs if plan.node_sites[n] != p.site
    }
    assert {(t.node, t.to_site) for t in plan.transfers} == needed
    assert len(plan.transfers) == len(needed)
    for t in plan.transfers:
        assert t.from_site == plan.node_sites[t.node] != t.to_site
        assert t.bytes == plan.node_bytes[t.node]
    assert plan.planned_bytes == sum(t.bytes for t in plan.transfers)

    # The plan never moves more than shipping every raw input to one site.
    assert plan.planned_bytes <= plan.naive_bytes

    # Loads run where their data is; a per-site part of a split load at its own site.
    for node, options in plan.load_options.items():
        assert plan.node_sites[node] in options
        item_site = graph.arguments(node).get(ITEM_SITE_ARGUMENT)
        if item_site is not None:
            assert plan.node_sites[node] == item_site

    # No un-reduced load output crosses a site when reductions follow it (and only reductions,
    # which together are smaller than the load): they run at the load's site.
    moved = {t.node for t in plan.transfers}
    for load in plan.load_options:
        consumers = graph.consumers(load)
        if not consumers or not all(
            pinned_load(graph, c, plan.load_options) == load and graph.producers(c) == [load]
            for c in consumers
        ):
            continue
        reduced = sum(plan.node_bytes[c] for c in consumers if graph.consumers(c))
        if reduced <= plan.node_bytes[load]:
            assert load not in moved, load
            assert all(plan.node_sites[c] == plan.node_sites[load] for c in consumers)

    # The cost-based plan keeps every reduction that directly follows a load at its site.
    if plan.strategy == "cost":
        for node in graph.nodes:
            load = pinned_load(graph, node, plan.load_options)
            if load is not None:
                assert plan.node_sites[node] == plan.node_sites[load]


@PROPERTY_SETTINGS
@given(st.data())
def test_random_graphs_give_valid_plans(data):
    pick = HypothesisChooser(data)
    pg, facts = random_setup(pick, pick.integer(2, 40))
    plan = plan_process_graph(pg, facts, pick.choice(SITES), sites=SITES)
    check_plan(plan)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_shallow_partition_limit_holds_for_random_graphs(data):
    pick = HypothesisChooser(data)
    pg, facts = random_setup(pick, pick.integer(10, 60))
    depth = pick.integer(2, 6)
    check_plan(plan_process_graph(pg, facts, "central", sites=SITES, max_depth=depth), depth)


def test_large_random_graphs_plan_correctly():
    for seed in range(3):
        pg, facts = random_setup(RandomChooser(seed), 600, n_collections=8)
        plan = plan_process_graph(pg, facts, "central", sites=SITES)
        assert len(plan.graph.nodes) >= 600
        check_plan(plan)


def test_the_checks_can_fail():
    """A plan that ships a raw load to a reduction elsewhere breaks the checks."""
    import dataclasses

    import pytest

    pg, facts = random_setup(RandomChooser(1), 30)
    plan = plan_process_graph(pg, facts, "central", sites=SITES)
    check_plan(plan)
    load = next(iter(plan.load_options))
    other = next(s for s in SITES if s != plan.node_sites[load])
    broken = dataclasses.replace(plan, node_sites={**plan.node_sites, load: other})
    with pytest.raises(AssertionError):
        check_plan(broken)
