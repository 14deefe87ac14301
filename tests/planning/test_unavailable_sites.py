"""Planning while a site is down: loads go to replicas, or the plan names the missing site."""

from __future__ import annotations

import pytest

from openeo_dedl.errors import SiteUnavailable
from openeo_dedl.planning import ItemFacts, plan_process_graph, without_sites
from tests.planning.helpers import BBOX, day, facts, load, reduce, save

GRAPH = {"l": load("A"), "r": reduce("l", "t", "mean"), "s": save("r")}


def test_a_replicated_collection_is_read_at_a_replica_while_its_first_site_is_down():
    collection = facts("A", "lumi", "leonardo")
    assert plan_process_graph(GRAPH, {"A": collection}, "central").node_sites["l"] == "lumi"
    plan = plan_process_graph(GRAPH, {"A": without_sites(collection, {"lumi"})}, "central")
    assert plan.node_sites["l"] == plan.node_sites["r"] == "leonardo"
    assert "lumi" not in {p.site for p in plan.partitions}


def test_items_keep_only_their_available_sites():
    items = (ItemFacts(("lumi", "leonardo"), BBOX, day(0)), ItemFacts(("leonardo",), BBOX, day(1)))
    collection = facts("A", "lumi", "leonardo", items=items)
    narrowed = without_sites(collection, {"lumi"})
    assert narrowed.sites == ("leonardo",)
    assert [i.sites for i in narrowed.items] == [("leonardo",), ("leonardo",)]
    # Every item now at leonardo: one load there, not a split.
    plan = plan_process_graph(GRAPH, {"A": narrowed}, "central")
    assert not plan.splits and plan.node_sites["l"] == "leonardo"


@pytest.mark.parametrize(
    "items",
    [None, (ItemFacts(("lumi",), BBOX, day(0)), ItemFacts(("leonardo",), BBOX, day(1)))],
    ids=["collection", "item"],
)
def test_data_held_only_at_a_down_site_names_that_site(items):
    sites = ("lumi",) if items is None else ("lumi", "leonardo")
    with pytest.raises(SiteUnavailable, match="'lumi' is unavailable"):
        without_sites(facts("A", *sites, items=items), {"lumi"})


def test_nothing_down_changes_nothing():
    collection = facts("A", "lumi")
    assert without_sites(collection, set()) is collection
