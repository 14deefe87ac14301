"""Keys of re-usable values (pure): what changes a key and what does not."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, datetime

from openeo_dedl.planning import CollectionFacts, FlatGraph, ItemFacts
from openeo_dedl.planning.reuse import node_keys

FACTS = {
    "C": CollectionFacts(
        id="C",
        sites=("lumi",),
        bbox=(0.0, 0.0, 10.0, 10.0),
        items=tuple(
            ItemFacts(
                sites=("lumi",),
                bbox=(0.0, 0.0, 10.0, 10.0),
                time=datetime(2022, 1, d, tzinfo=UTC),
                id=f"item-{d}",
            )
            for d in (1, 2, 3)
        ),
    )
}


def _graph(start="2022-01-01", reducer="mean", geometries=None) -> dict:
    return {
        "load": {
            "process_id": "load_collection",
            "arguments": {
                "id": "C",
                "spatial_extent": {"west": 0, "south": 0, "east": 5, "north": 5},
                "temporal_extent": [start, "2022-01-03"],
            },
        },
        "red": {
            "process_id": "reduce_dimension",
            "arguments": {
                "data": {"from_node": "load"},
                "dimension": "t",
                "reducer": {
                    "process_graph": {
                        "m": {
                            "process_id": reducer,
                            "arguments": {"data": {"from_parameter": "data"}},
                            "result": True,
                        }
                    }
                },
            },
        },
        "agg": {
            "process_id": "aggregate_spatial",
            "arguments": {
                "data": {"from_node": "red"},
                "geometries": geometries or {"type": "Point", "coordinates": [1, 1]},
                "reducer": "sum",
            },
            "result": True,
        },
    }


def _keys(graph: dict, facts=FACTS) -> dict:
    return node_keys(FlatGraph(graph), facts)


def test_renamed_nodes_and_changed_consumers_keep_the_key():
    keys = _keys(_graph())
    renamed = _graph()
    renamed["other"] = renamed.pop("red")
    renamed["agg"]["arguments"]["data"] = {"from_node": "other"}
    renamed["agg"]["arguments"]["reducer"] = "mean"
    assert _keys(renamed)["other"] == keys["red"]
    assert _keys(renamed)["agg"] != keys["agg"]


def test_changed_extents_callbacks_and_item_versions_change_the_key():
    keys = _keys(_graph())
    assert _keys(_graph(start="2022-01-02"))["red"] != keys["red"]
    assert _keys(_graph(reducer="max"))["red"] != keys["red"]
    items = list(FACTS["C"].items)
    items[1] = replace(items[1], updated="2026-12-01T00:00:00Z")
    updated = {"C": replace(FACTS["C"], items=tuple(items))}
    assert _keys(_graph(), updated)["red"] != keys["red"]
    # An item the load does not read (outside its time) does not count.
    items = list(FACTS["C"].items)
    items[2] = replace(items[2], updated="2026-12-01T00:00:00Z")
    outside = {"C": replace(FACTS["C"], items=tuple(items))}
    assert _keys(_graph(), outside)["red"] == keys["red"]


def test_user_files_and_unknown_items_give_no_key():
    assert _keys(_graph(geometries="regions/a.geojson"))["agg"] is None
    assert _keys(_graph(), {"C": replace(FACTS["C"], items=None)})["red"] is None
    no_ids = {"C": replace(FACTS["C"], items=tuple(replace(i, id=None) for i in FACTS["C"].items))}
    assert _keys(copy.deepcopy(_graph()), no_ids)["load"] is None
