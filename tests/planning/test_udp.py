"""User-defined processes are inlined before planning (planning/inline.py, planning/prepare.py)."""

from __future__ import annotations

import pytest

from openeo_dedl.errors import ProcessGraphInvalid
from openeo_dedl.execution.registry import available_specs
from openeo_dedl.planning import Environment, Prepared, prepare
from openeo_dedl.planning.inline import inline_user_processes
from tests.planning.helpers import facts, load, node, reduce, save

# max over time of the input cube, scaled by ``factor`` (default 2).
SCALED_MAX = {
    "id": "scaled_max",
    "parameters": [{"name": "data"}, {"name": "factor", "default": 2, "optional": True}],
    "process_graph": {
        "m": reduce("x", "t", "max"),
        "x": {
            "process_id": "filter_bands",
            "arguments": {"data": {"from_parameter": "data"}, "bands": ["b1"]},
        },
        "s": {
            "process_id": "apply",
            "arguments": {
                "data": {"from_node": "m"},
                "process": {
                    "process_graph": {
                        "r": {
                            "process_id": "multiply",
                            "arguments": {
                                "x": {"from_parameter": "x"},
                                "y": {"from_parameter": "factor"},
                            },
                            "result": True,
                        }
                    }
                },
            },
            "result": True,
        },
    },
}


def test_calls_are_replaced_by_the_process_nodes():
    graph = {
        "l": load("C"),
        "u": {"process_id": "scaled_max", "arguments": {"data": {"from_node": "l"}}},
        "out": save("u"),
    }
    inlined = inline_user_processes(graph, {"scaled_max": SCALED_MAX})
    assert set(inlined) == {"l", "u__x", "u__m", "u__s", "out"}
    assert inlined["u__x"]["arguments"]["data"] == {"from_node": "l"}
    assert inlined["u__m"]["arguments"]["data"] == {"from_node": "u__x"}
    assert inlined["out"]["arguments"]["data"] == {"from_node": "u__s"}
    callback = inlined["u__s"]["arguments"]["process"]["process_graph"]["r"]["arguments"]
    # The callback's own parameter stays, the user process's parameter gets its default.
    assert callback == {"x": {"from_parameter": "x"}, "y": 2}
    assert [n for n, v in inlined.items() if v.get("result")] == ["out"]


def test_nested_user_processes_and_result_calls():
    twice = {
        "parameters": [{"name": "data"}],
        "process_graph": {
            "a": {
                "process_id": "scaled_max",
                "arguments": {"data": {"from_parameter": "data"}, "factor": 3},
                "result": True,
            },
        },
    }
    graph = {"l": load("C"), "t": {**node("twice", data="@l"), "result": True}}
    inlined = inline_user_processes(graph, {"scaled_max": SCALED_MAX, "twice": twice})
    assert inlined["t__a__s"]["result"] is True
    factor = inlined["t__a__s"]["arguments"]["process"]["process_graph"]["r"]["arguments"]["y"]
    assert factor == 3


def test_planning_sees_the_inlined_graph():
    graph = {
        "l": load("C", spatial_extent=None, temporal_extent=None),
        "u": {"process_id": "scaled_max", "arguments": {"data": {"from_node": "l"}}},
        "out": save("u"),
    }
    environment = Environment(
        specs=available_specs(),
        sites=("central", "lumi"),
        result_site="central",
        collection_error=lambda cid: None,
        collection_facts=lambda cid: facts(cid, "lumi"),
    )
    prepared = prepare({"process_graph": graph}, {"scaled_max": SCALED_MAX}, environment)
    assert isinstance(prepared, Prepared), prepared
    plan = prepared.plan()
    assert set(plan.node_sites) == {"l", "u__x", "u__m", "u__s", "out"}
    assert set(plan.node_sites.values()) == {"lumi"}


def test_recursive_user_processes_are_refused():
    loop = {"process_graph": {"a": {"process_id": "loop", "arguments": {}, "result": True}}}
    with pytest.raises(ProcessGraphInvalid):
        inline_user_processes(
            {"x": {"process_id": "loop", "arguments": {}, "result": True}}, {"loop": loop}
        )


def test_predefined_namespace_is_not_a_user_process():
    graph = {
        "a": {"process_id": "scaled_max", "namespace": "backend", "arguments": {}, "result": True}
    }
    assert inline_user_processes(graph, {"scaled_max": SCALED_MAX}) == graph
