"""Static validation of process graphs against process specs."""

from __future__ import annotations

from openeo_dedl.errors import CollectionNotFound
from openeo_dedl.execution.registry import available_specs
from openeo_dedl.planning import validate_process_graph


def codes(pg, **kw):
    return [e.code for e in validate_process_graph(pg, available_specs(), **kw)]


def test_valid_graph_has_no_errors():
    pg = {"a": {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": True}}
    assert codes(pg) == []


def test_unknown_process_missing_and_unknown_arguments():
    pg = {
        "a": {"process_id": "no_such_process", "arguments": {}},
        "b": {"process_id": "add", "arguments": {"x": 1, "z": 3}, "result": True},
    }
    assert sorted(codes(pg)) == [
        "ProcessParameterRequired",
        "ProcessParameterUnsupported",
        "ProcessUnsupported",
    ]


def test_errors_inside_callbacks_are_found():
    pg = {
        "a": {
            "process_id": "array_apply",
            "arguments": {
                "data": [1, 2],
                "process": {
                    "process_graph": {
                        "x": {"process_id": "frobnicate", "arguments": {}, "result": True}
                    }
                },
            },
            "result": True,
        }
    }
    assert codes(pg) == ["ProcessUnsupported"]


def test_unknown_collection_is_reported():
    pg = {
        "l": {
            "process_id": "load_collection",
            "arguments": {"id": "NOPE", "spatial_extent": None, "temporal_extent": None},
            "result": True,
        }
    }

    def exists(cid):
        return CollectionNotFound(f"Collection '{cid}' does not exist.")

    assert codes(pg, collection_exists=exists) == ["CollectionNotFound"]


def test_disabled_processes_are_not_offered():
    specs = available_specs()
    assert "run_udf" not in specs
    assert {"load_collection", "save_result", "reduce_dimension", "mask"} <= set(specs)


def test_planner_only_names_are_refused_in_user_graphs():
    from openeo_dedl.planning import ITEM_SITE_ARGUMENT, MERGE_PROCESS

    load = {
        "process_id": "load_collection",
        "arguments": {
            "id": "X",
            "spatial_extent": None,
            "temporal_extent": None,
            ITEM_SITE_ARGUMENT: "lumi",
        },
    }
    merge = {
        "process_id": MERGE_PROCESS,
        "arguments": {"cube1": {"from_node": "l"}, "cube2": {"from_node": "l"}},
        "result": True,
    }
    assert sorted(codes({"l": load, "m": merge})) == [
        "ProcessParameterUnsupported",
        "ProcessUnsupported",
    ]
    from openeo_dedl.planning.internal import PARTIAL_MEAN_PROCESS

    partial = {
        "process_id": PARTIAL_MEAN_PROCESS,
        "arguments": {"data": {"from_node": "l"}, "dimension": "t"},
        "result": True,
    }
    assert "ProcessUnsupported" in codes({"l": load, "p": partial})


def _applied(reference) -> dict:
    return {
        "l": {
            "process_id": "load_collection",
            "arguments": {"id": "C", "spatial_extent": None, "temporal_extent": None},
        },
        "a": {
            "process_id": "apply",
            "arguments": {
                "data": reference,
                "process": {
                    "process_graph": {
                        "r": {
                            "process_id": "absolute",
                            "arguments": {"x": {"from_parameter": "x"}},
                            "result": True,
                        }
                    }
                },
            },
            "result": True,
        },
    }


def test_malformed_references_are_invalid_not_crashes_or_literals():
    import pytest

    from openeo_dedl.errors import ProcessGraphInvalid
    from openeo_dedl.planning import FlatGraph

    for reference in ({"from_node": ["l"]}, {"from_node": 5}, {"from_node": None}):
        assert codes(_applied(reference)) == ["ProcessGraphInvalid"], reference
        with pytest.raises(ProcessGraphInvalid, match="must be a string"):
            FlatGraph(_applied(reference))
    # An extra key would make the reference a literal and drop the dependency on 'l'.
    extra = {"from_node": "l", "x": 1}
    assert codes(_applied(extra)) == ["ProcessGraphInvalid"]
    with pytest.raises(ProcessGraphInvalid, match="extra keys"):
        FlatGraph(_applied(extra))
    # Inside a callback too.
    pg = _applied({"from_node": "l"})
    pg["a"]["arguments"]["process"]["process_graph"]["r"]["arguments"]["x"] = {"from_node": ["r"]}
    assert codes(pg) == ["ProcessGraphInvalid"]
    assert codes(_applied({"from_node": "l"})) == []


def test_malformed_references_with_user_processes_are_invalid():
    from openeo_dedl.planning.inline import inline_calls

    udp = {
        "id": "u",
        "parameters": [{"name": "v", "schema": {}}],
        "process_graph": {
            "r": {"process_id": "absolute", "arguments": {"x": {"from_parameter": "v"}}}
        },
    }
    udp["process_graph"]["r"]["result"] = True
    pg = {
        "k": {"process_id": "add", "arguments": {"x": 1, "y": 2}},
        "c": {"process_id": "u", "arguments": {"v": {"from_node": ["k"]}}, "result": True},
    }
    resolved = inline_calls({"process_graph": pg}, {"u": udp})
    assert codes(resolved["process_graph"]) == ["ProcessGraphInvalid"]
