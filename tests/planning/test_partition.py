"""Site labels and partitions of the simple planner."""

from __future__ import annotations

import networkx as nx
import pytest

from openeo_dedl.errors import ProcessGraphInvalid, ProcessGraphMissing
from openeo_dedl.planning import FlatGraph, plan_process_graph

SITES = {"ERA5": ["lumi"], "FLOOD": ["central"], "SSM": ["leonardo"]}


def load(cid: str) -> dict:
    return {"process_id": "load_collection", "arguments": {"id": cid}}


def reduce_t(node: str) -> dict:
    return {
        "process_id": "reduce_dimension",
        "arguments": {
            "data": {"from_node": node},
            "dimension": "t",
            "reducer": {
                "process_graph": {
                    "m": {
                        "process_id": "mean",
                        "arguments": {"data": {"from_parameter": "data"}},
                        "result": True,
                    }
                }
            },
        },
    }


def save(node: str) -> dict:
    return {
        "process_id": "save_result",
        "arguments": {"data": {"from_node": node}, "format": "GTiff"},
        "result": True,
    }


def test_single_site_graph_is_one_partition():
    pg = {"l": load("ERA5"), "r": reduce_t("l"), "s": save("r")}
    plan = plan_process_graph(pg, SITES, "central")
    assert plan.node_sites == {"l": "lumi", "r": "lumi", "s": "lumi"}
    assert len(plan.partitions) == 1
    assert plan.transfers == ()
    assert plan.result_site == "lumi"


def test_reduced_input_moves_to_the_unreduced_one():
    pg = {
        "era5": load("ERA5"),
        "era5_mean": reduce_t("era5"),
        "flood": load("FLOOD"),
        "mask": {
            "process_id": "mask",
            "arguments": {"data": {"from_node": "flood"}, "mask": {"from_node": "era5_mean"}},
        },
        "s": save("mask"),
    }
    plan = plan_process_graph(pg, SITES, "leonardo")
    assert plan.node_sites["era5_mean"] == "lumi"
    assert plan.node_sites["mask"] == "central"
    assert [(t.node, t.from_site, t.to_site) for t in plan.transfers] == [
        ("era5_mean", "lumi", "central")
    ]
    # Partitions come in dependency order.
    order = [p.site for p in plan.partitions]
    assert order.index("lumi") < order.index("central")


def test_tie_goes_to_default_site_when_it_is_a_candidate():
    pg = {
        "a": load("ERA5"),
        "b": load("FLOOD"),
        "m": {
            "process_id": "merge_cubes",
            "arguments": {"cube1": {"from_node": "a"}, "cube2": {"from_node": "b"}},
            "result": True,
        },
    }
    assert plan_process_graph(pg, SITES, "lumi").node_sites["m"] == "lumi"
    assert plan_process_graph(pg, SITES, "central").node_sites["m"] == "central"


def test_constant_nodes_follow_their_consumer():
    pg = {
        "a": load("SSM"),
        "k": {"process_id": "add", "arguments": {"x": 1, "y": 2}},
        "m": {
            "process_id": "multiply",
            "arguments": {"x": {"from_node": "a"}, "y": {"from_node": "k"}},
            "result": True,
        },
    }
    plan = plan_process_graph(pg, SITES, "central")
    assert plan.node_sites == {"a": "leonardo", "k": "leonardo", "m": "leonardo"}


def test_partition_graph_is_acyclic_when_sites_alternate():
    # lumi -> central -> lumi with a direct lumi -> lumi edge around central.
    pg = {
        "a": load("ERA5"),
        "ar": reduce_t("a"),
        "b": load("FLOOD"),
        "c": {
            "process_id": "merge_cubes",
            "arguments": {"cube1": {"from_node": "b"}, "cube2": {"from_node": "ar"}},
        },
        "cr": reduce_t("c"),
        "a2": load("ERA5"),
        "d": {
            "process_id": "merge_cubes",
            "arguments": {"cube1": {"from_node": "a2"}, "cube2": {"from_node": "cr"}},
        },
        "e": {
            "process_id": "merge_cubes",
            "arguments": {"cube1": {"from_node": "d"}, "cube2": {"from_node": "a"}},
            "result": True,
        },
    }
    plan = plan_process_graph(pg, SITES, "central")
    part_of = {n: p.id for p in plan.partitions for n in p.nodes}
    quotient = nx.DiGraph()
    quotient.add_nodes_from(p.id for p in plan.partitions)
    for node, spec in pg.items():
        for ref in FlatGraph(pg).producers(node):
            if part_of[ref] != part_of[node]:
                quotient.add_edge(part_of[ref], part_of[node])
        assert spec  # every node placed exactly once:
    assert sorted(part_of) == sorted(pg)
    assert nx.is_directed_acyclic_graph(quotient)
    ids = [p.id for p in plan.partitions]
    assert all(ids.index(u) < ids.index(v) for u, v in quotient.edges)


@pytest.mark.parametrize(
    ("graph", "error"),
    [
        ({}, ProcessGraphMissing),
        ({"a": {"process_id": "add", "arguments": {"x": 1, "y": 2}}}, ProcessGraphInvalid),
        (
            {"a": {"process_id": "add", "arguments": {"x": {"from_node": "zz"}}, "result": True}},
            ProcessGraphInvalid,
        ),
        (
            {
                "a": {"process_id": "absolute", "arguments": {"x": {"from_node": "b"}}},
                "b": {
                    "process_id": "absolute",
                    "arguments": {"x": {"from_node": "a"}},
                    "result": True,
                },
            },
            ProcessGraphInvalid,
        ),
    ],
)
def test_invalid_graphs_are_rejected(graph, error):
    with pytest.raises(error):
        FlatGraph(graph)
