"""Properties of every plan, over random graphs of real processes on collections at random sites."""

from __future__ import annotations

import networkx as nx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openeo_dedl.planning import (
    ITEM_SITE_ARGUMENT,
    MAX_PARTITION_DEPTH,
    MERGE_PROCESS,
    Plan,
    plan_process_graph,
)
from openeo_dedl.planning.internal import PARTIAL_MEAN_PROCESS
from openeo_dedl.planning.place import pinned_load
from tests.planning.graphs import (
    SITES,
    HypothesisChooser,
    RandomChooser,
    apply_callback,
    callback,
    random_facts,
    random_setup,
)

PROPERTY_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def check_placed_once(plan: Plan) -> None:
    """Every node is placed once: one site, exactly one partition, of that site."""
    nodes = set(plan.graph.nodes)
    assert set(plan.node_sites) == nodes, "every node has a site"
    listed = [n for p in plan.partitions for n in p.nodes]
    assert sorted(listed) == sorted(nodes), "every node is in exactly one partition"
    for p in plan.partitions:
        assert all(plan.node_sites[n] == p.site for n in p.nodes), "a partition has one site"


def check_partitions(plan: Plan, max_depth: int = MAX_PARTITION_DEPTH) -> None:
    """Partitions are connected, acyclic, in topological order and shallow enough to parse."""
    graph = plan.graph
    part_of = {n: p for p in plan.partitions for n in p.nodes}
    index = {p.id: i for i, p in enumerate(plan.partitions)}
    quotient = nx.DiGraph()
    for u, v in graph.dag.edges:
        if part_of[u].id != part_of[v].id:
            assert index[part_of[u].id] < index[part_of[v].id], ("topological order", u, v)
            quotient.add_edge(part_of[u].id, part_of[v].id)
            assert u in part_of[v].inputs and u in part_of[u].outputs, ("inputs/outputs", u, v)
    assert nx.is_directed_acyclic_graph(quotient), "partitions are acyclic"
    for p in plan.partitions:
        sub = graph.dag.subgraph(p.nodes)
        assert nx.is_weakly_connected(sub), ("partition is connected", p.id)
        assert nx.dag_longest_path_length(sub) + 1 <= max_depth, ("partition too deep", p.id)


def check_transfers(plan: Plan) -> None:
    """Transfers: exactly the partition inputs that come from another site, each once per site."""
    needed = {
        (n, p.site) for p in plan.partitions for n in p.inputs if plan.node_sites[n] != p.site
    }
    assert {(t.node, t.to_site) for t in plan.transfers} == needed, "transfers are the inputs"
    assert len(plan.transfers) == len(needed), "each transfer once"
    for t in plan.transfers:
        assert t.from_site == plan.node_sites[t.node] != t.to_site, ("transfer sites", t)
        assert t.bytes == plan.node_bytes[t.node], ("transfer bytes", t)
    assert plan.planned_bytes == sum(t.bytes for t in plan.transfers), "planned bytes"


def check_naive_bound(plan: Plan) -> None:
    """The plan never moves more than shipping every raw input to one site."""
    assert plan.planned_bytes <= plan.naive_bytes, "planned bytes exceed the naive baseline"


def check_loads(plan: Plan) -> None:
    """Loads run where their data is; a per-site part of a split load at its own site."""
    for node, options in plan.load_options.items():
        assert plan.node_sites[node] in options, ("load away from its data", node)
        item_site = plan.graph.arguments(node).get(ITEM_SITE_ARGUMENT)
        if item_site is not None:
            assert plan.node_sites[node] == item_site, ("split part away from its site", node)


def check_reduced_loads(plan: Plan) -> None:
    """No un-reduced load output crosses a site when reductions follow it (and only reductions,
    which together are smaller than the load): they run at the load's site."""
    graph = plan.graph
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
            assert load not in moved, ("raw load crosses sites before its reduction", load)
            assert all(plan.node_sites[c] == plan.node_sites[load] for c in consumers), (
                "reduction away from its load",
                load,
            )


def check_pinned(plan: Plan) -> None:
    """The cost-based plan keeps every reduction that directly follows a load at its site."""
    if plan.strategy != "cost":
        return
    for node in plan.graph.nodes:
        load = pinned_load(plan.graph, node, plan.load_options)
        if load is not None:
            assert plan.node_sites[node] == plan.node_sites[load], ("pinned reduction", node)


def _is_reduction_over_time(plan: Plan, node: str) -> bool:
    pid = plan.graph.process_id(node)
    if pid == PARTIAL_MEAN_PROCESS:
        return True
    return pid == "reduce_dimension" and plan.graph.arguments(node).get("dimension") in (
        "t",
        "time",
    )


def _reducer_of(arguments: dict) -> str | None:
    graph = (arguments.get("reducer") or {}).get("process_graph") or {}
    nodes = list(graph.values())
    if len(nodes) == 1 and set(nodes[0].get("arguments", {})) == {"data"}:
        return nodes[0].get("process_id")
    return None


# Reductions over time whose per-site parts combine exactly (see planning/split.py), by split kind.
DECOMPOSABLE = {
    "temporal": {"min", "max", "sum", "mean"},
    "spatial": {"min", "max", "sum", "mean", "median", "first", "last"},
}
# Steps the planner copies per site for both kinds of splits (per pixel, NaN stays NaN).
SIMPLE_APPLY = {"multiply", "absolute", "sqrt", "add", "subtract"}


def _simple_step(plan: Plan, node: str) -> bool:
    graph = plan.graph
    pid, args = graph.process_id(node), graph.arguments(node)
    if pid == "filter_bands":
        return True
    if pid == "apply":
        callback = (args.get("process") or {}).get("process_graph") or {}
        return bool(callback) and all(n["process_id"] in SIMPLE_APPLY for n in callback.values())
    return (
        pid == "reduce_dimension"
        and args.get("dimension") == "bands"
        and (_reducer_of(args) in {"min", "max", "mean"})
    )


def _float_part(plan: Plan, part: str, facts) -> bool:
    coll = facts.get(plan.graph.arguments(part).get("id")) if facts else None
    if coll is None:
        return False
    names = plan.graph.arguments(part).get("bands") or [b.name for b in coll.bands]
    # Float bands, and integer bands with a nodata value (loaded as floats with NaN).
    return all(
        coll.band(n) is not None
        and (coll.band(n).dtype.startswith("float") or coll.band(n).nodata is not None)
        for n in names
    )


def check_split_parts(plan: Plan, facts=None) -> None:
    """No raw split part crosses sites when a decomposable reduction over time follows it
    (directly or after per-pixel steps that can run per site): neither a part's load, nor the
    steps before the reduction, nor the merged raw cube move, when the reduction is not larger
    than what it reduces. Splits by area count when ``facts`` tell that the bands are missing
    (NaN) outside a part's area: floats, or integers with a nodata value (integer parts without
    one hold 0 there and merge first)."""
    graph = plan.graph
    moved = {t.node for t in plan.transfers}
    for split in plan.splits:
        if not split.merge_node:
            continue
        if split.kind == "spatial" and not _float_part(plan, split.parts[0][1], facts):
            continue
        raw: set[str] = set()
        reductions: list[str] = []
        merges: set[str] = set()
        for _, part in split.parts:
            path = [part]
            while True:
                (consumer,) = graph.consumers(path[-1])
                if graph.process_id(consumer) == MERGE_PROCESS:
                    merges.add(consumer)
                    break
                path.append(consumer)
            if _is_reduction_over_time(plan, path[-1]):
                reductions.append(path[-1])
                path = path[:-1]
            raw.update(path)
        if not reductions:
            # Merged before any reduction: is a decomposable one following the merge?
            node, after = split.merge_node, [split.merge_node]
            while len(graph.consumers(node)) == 1 and _simple_step(plan, graph.consumers(node)[0]):
                node = graph.consumers(node)[0]
                after.append(node)
            consumers = graph.consumers(node)
            if len(consumers) != 1 or not _is_reduction_over_time(plan, consumers[0]):
                continue
            if _reducer_of(graph.arguments(consumers[0])) not in DECOMPOSABLE[split.kind]:
                continue
            reductions.append(consumers[0])
            raw.update(merges, after)
        if max(plan.node_bytes[r] for r in reductions) <= min(plan.node_bytes[n] for n in raw):
            assert not moved & raw, ("raw split part crosses sites", sorted(moved & raw))


def check_plan(plan: Plan, max_depth: int = MAX_PARTITION_DEPTH, facts=None) -> None:
    """Every property of a plan; ``facts`` (collection facts) make more of them checkable."""
    check_placed_once(plan)
    check_partitions(plan, max_depth)
    check_transfers(plan)
    check_naive_bound(plan)
    check_loads(plan)
    check_reduced_loads(plan)
    check_pinned(plan)
    check_split_parts(plan, facts)


@PROPERTY_SETTINGS
@given(st.data())
def test_random_graphs_give_valid_plans(data):
    pick = HypothesisChooser(data)
    pg, facts = random_setup(pick, pick.integer(2, 40))
    plan = plan_process_graph(pg, facts, pick.choice(SITES), sites=SITES)
    check_plan(plan, facts=facts)


def split_then_reduce(pick) -> tuple[dict, dict]:
    """A load of a collection whose items are spread over sites (by time or by area), a few
    per-pixel steps, a reduction over time, maybe combined with a second collection."""
    layout = pick.choice(["items_by_time", "items_by_area"])
    facts = {"S": random_facts(pick, "S", layout), "O": random_facts(pick, "O", "one")}
    bands = [b.name for b in facts["S"].bands]
    nodes: dict = {}

    def add(process_id: str, **arguments) -> str:
        node_id = f"n{len(nodes)}"
        nodes[node_id] = {"process_id": process_id, "arguments": arguments}
        return node_id

    extent = None
    if pick.integer(0, 1):
        extent = {"west": 10.0, "south": 40.0, "east": 11.5, "north": 41.0}
    cube = add("load_collection", id="S", spatial_extent=extent, temporal_extent=None)
    has_bands = True
    for _ in range(pick.integer(0, 3)):
        op = pick.choice(["filter_bands", "apply", "reduce_bands"] if has_bands else ["apply"])
        data = {"from_node": cube}
        if op == "filter_bands":
            cube = add("filter_bands", data=data, bands=bands[:1])
        elif op == "apply":
            fn = pick.choice(["multiply", "absolute", "sqrt"])
            cube = add("apply", data=data, process=apply_callback(fn))
        else:
            cube = add("reduce_dimension", data=data, dimension="bands", reducer=callback("max"))
            has_bands = False
    fn = pick.choice(["mean", "max", "min", "sum", "median"])
    cube = add("reduce_dimension", data={"from_node": cube}, dimension="t", reducer=callback(fn))
    if pick.integer(0, 1):
        other = add("load_collection", id="O", spatial_extent=None, temporal_extent=None)
        other = add(
            "reduce_dimension", data={"from_node": other}, dimension="t", reducer=callback("max")
        )
        cube = add(
            "resample_cube_spatial",
            data={"from_node": other},
            target={"from_node": cube},
            method="near",
        )
    save = add("save_result", data={"from_node": cube}, format="netCDF")
    nodes[save]["result"] = True
    return nodes, facts


@PROPERTY_SETTINGS
@given(st.data())
def test_split_loads_followed_by_reductions_give_valid_plans(data):
    pick = HypothesisChooser(data)
    pg, facts = split_then_reduce(pick)
    plan = plan_process_graph(pg, facts, pick.choice(SITES), sites=SITES)
    assert plan.splits
    check_plan(plan, facts=facts)


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
    """Each property's check fails on a plan broken in the way it guards against."""
    import dataclasses

    import pytest

    from openeo_dedl.planning import Transfer
    from tests.planning.helpers import facts, items_by_day, load, node, reduce, save

    collections = {
        "C": facts("C", "lumi", items=items_by_day(["lumi"] * 5 + ["leonardo"] * 5)),
        "O": facts("O", "central"),
    }
    graph = {
        "l": load("C"),
        "f": node("filter_bands", data="@l", bands=["b1"]),
        "r": reduce("f", "t", "max"),
        "o": load("O", bands=["b1"]),
        "or": reduce("o", "t", "max"),
        "m": node("merge_cubes", cube1="@r", cube2="@or"),
        "s": save("m"),
    }
    plan = plan_process_graph(graph, collections, "central", sites=SITES)
    check_plan(plan, facts=collections)
    assert plan.strategy == "cost" and plan.splits and plan.transfers
    assert plan.node_sites["o"] == plan.node_sites["or"] == "central"
    part = dict(plan.splits[0].parts)["lumi"]

    def broken(**changes):
        return dataclasses.replace(plan, **changes)

    def sites(**moves):
        return {**plan.node_sites, **moves}

    raw_part_moves = Transfer(part, "p0", ("p1",), "lumi", "central", plan.node_bytes[part])
    cases = [
        (check_placed_once, broken(node_sites={k: v for k, v in sites().items() if k != "m"})),
        (check_partitions, broken(partitions=tuple(reversed(plan.partitions)))),
        (check_transfers, broken(transfers=plan.transfers[1:])),
        (check_naive_bound, broken(naive_bytes=plan.planned_bytes - 1)),
        (check_loads, broken(node_sites=sites(o="lumi"))),
        (check_reduced_loads, broken(node_sites=sites(**{"or": "lumi"}))),
        (check_pinned, broken(node_sites=sites(**{"or": "leonardo"}))),
        (check_split_parts, broken(transfers=(*plan.transfers, raw_part_moves))),
    ]
    for check, bad in cases:
        with pytest.raises(AssertionError):
            check(bad)
        with pytest.raises(AssertionError):
            check_plan(bad, facts=collections)
