"""The static limits of process graphs (planning/limits.py), through validate_process_graph."""

from __future__ import annotations

import json

import pytest

from openeo_dedl.config import LimitsConfig, Settings
from openeo_dedl.planning import limits as limits_module
from openeo_dedl.planning import validate_process_graph
from openeo_dedl.planning.limits import GraphLimits, check_limits

SPECS = {
    pid: {"id": pid, "parameters": [{"name": n, "optional": True} for n in params]}
    for pid, params in {
        "add": ["x", "y"],
        "power": ["base", "p"],
        "array_create": ["data", "repeat"],
        "array_apply": ["data", "process"],
        "text_concat": ["data", "separator"],
        "resample_spatial": ["data", "resolution", "projection"],
        "apply_kernel": ["data", "kernel"],
        "date_shift": ["date", "value", "unit"],
        "load_collection": ["id", "spatial_extent", "temporal_extent", "bands"],
        "filter_bbox": ["data", "extent"],
        "apply": ["data", "process"],
    }.items()
}


def one(pid: str, **arguments) -> dict:
    return {"a": {"process_id": pid, "arguments": arguments, "result": True}}


def load(**spatial) -> dict:
    extent = {"west": 9.7, "south": 44.9, "east": 9.71, "north": 44.91, **spatial}
    return {"process_id": "load_collection", "arguments": {"id": "C", "spatial_extent": extent}}


def codes(graph: dict, limits: GraphLimits | None = None) -> list[str]:
    return [e.code for e in validate_process_graph(graph, SPECS, limits=limits)]


def nested_callbacks(levels: int) -> dict:
    cb = {"x": {"process_id": "add", "arguments": {"x": {"from_parameter": "x"}}, "result": True}}
    for _ in range(levels):
        cb = {
            "x": {
                "process_id": "array_apply",
                "arguments": {"data": [1], "process": {"process_graph": cb}},
                "result": True,
            }
        }
    return cb


def deep_array(levels: int) -> list:
    value: list = []
    for _ in range(levels):
        value = [value]
    return value


def chain(n: int) -> dict:
    graph = {
        f"n{i}": {"process_id": "add", "arguments": {"x": {"from_node": f"n{i - 1}"}, "y": 1}}
        for i in range(1, n)
    }
    graph["n0"] = {"process_id": "add", "arguments": {"x": 1, "y": 1}}
    graph[f"n{n - 1}"]["result"] = True
    return graph


TOO_LARGE = {
    "nodes": ({f"n{i}": {"process_id": "add"} for i in range(60_000)}, "max_nodes"),
    "callback depth": (nested_callbacks(31), "max_callback_depth"),
    "json depth": (one("add", x=deep_array(10_000)), "max_json_depth"),
    "array length": (one("add", x=[0] * 1_000_001), "max_array_length"),
    "string length": (one("add", x="a" * 1_000_001), "max_string_length"),
    "integer": (one("add", x=10**5000, y=1), "max_integer_bits"),
    "bbox integer": (
        {"l": {**load(east=int("1" * 400)), "result": True}},
        "max_integer_bits",
    ),
    "power": (one("power", base=10, p=1_000_000_000), "max_integer_bits"),
    "array_create": (one("array_create", data=[1], repeat=10**8), "max_array_length"),
    "array_create 10^12": (one("array_create", data=[1, 2], repeat=10**12), "max_array_length"),
    "text_concat": (one("text_concat", data=["a" * 600_000] * 2), "max_string_length"),
    "resample": (
        {
            "l": load(),
            "r": {
                "process_id": "resample_spatial",
                "arguments": {"data": {"from_node": "l"}, "resolution": 1e-9},
                "result": True,
            },
        },
        "max_resample_pixels",
    ),
    "kernel": (one("apply_kernel", data=None, kernel=[[1] * 201] * 3), "max_kernel_size"),
}  # fmt: skip


@pytest.mark.parametrize("name", TOO_LARGE)
def test_exceeded_limits_are_complexity_errors_naming_the_limit(name):
    graph, limit = TOO_LARGE[name]
    errors = validate_process_graph(graph, SPECS)
    assert [e.code for e in errors] == ["ProcessGraphComplexity"], errors
    assert f"limits.{limit} = {getattr(GraphLimits(), limit)}" in errors[0].message
    assert errors[0].status == 400


def bbox_load(**spatial) -> dict:
    return {"l": {**load(**spatial), "result": True}}


MALFORMED = {
    "crs EPSG:999999": (bbox_load(crs="EPSG:999999"), "ProcessParameterInvalid"),
    "crs garbage": (bbox_load(crs="garbage!!"), "ProcessParameterInvalid"),
    "crs -5": (bbox_load(crs=-5), "ProcessParameterInvalid"),
    "crs object": (bbox_load(crs={"type": "name"}), "ProcessParameterInvalid"),
    "crs init file": (bbox_load(crs="+init=/etc/passwd:x"), "ProcessParameterInvalid"),
    "north 1000": (bbox_load(north=1000), "ProcessParameterInvalid"),
    "west -200": (bbox_load(west=-200), "ProcessParameterInvalid"),
    "bands string": (
        {"l": {**load(), "arguments": {**load()["arguments"], "bands": "B1"}, "result": True}},
        "ProcessParameterInvalid",
    ),
    "bands numbers": (
        {"l": {**load(), "arguments": {**load()["arguments"], "bands": [1]}, "result": True}},
        "ProcessParameterInvalid",
    ),
    "result yes": (
        {"a": {"process_id": "add", "arguments": {"x": 1}, "result": "yes"}},
        "ProcessGraphInvalid",
    ),
    "1e400": (one("add", x=json.loads("1e400"), y=1), "ProcessParameterInvalid"),
    "NaN in an array": (one("add", x=[1.0, float("nan")]), "ProcessParameterInvalid"),
    "resolution -1": (one("resample_spatial", data=None, resolution=-1), "ProcessParameterInvalid"),
    "projection garbage": (
        one("resample_spatial", data=None, resolution=10, projection="garbage"),
        "ProcessParameterInvalid",
    ),
    "date_shift 10^12 years": (
        one("date_shift", date="2020-01-01", value=10**12, unit="year"),
        "ProcessParameterInvalid",
    ),
    "filter_bbox south > north": (
        one("filter_bbox", data=None, extent={"west": 0, "east": 1, "south": 5, "north": 4}),
        "ProcessParameterInvalid",
    ),
}


@pytest.mark.parametrize("name", MALFORMED)
def test_malformed_values_are_400s(name):
    graph, code = MALFORMED[name]
    assert code in codes(graph)


WITHIN = {
    "chain of 2000": chain(2000),
    "callbacks 30 deep": nested_callbacks(30),
    "power 2^1000": one("power", base=2, p=1000),
    "power of floats": one("power", base=10.0, p=1e9),  # a float overflow, found at run time
    "array_create 1000": one("array_create", data=[1, 2], repeat=1000),
    "resample 10 m": {
        "l": load(),
        "r": {
            "process_id": "resample_spatial",
            "arguments": {"data": {"from_node": "l"}, "resolution": 10, "projection": 32632},
            "result": True,
        },
    },
    "projected bbox": bbox_load(west=600000, south=5e6, east=601000, north=5.001e6, crs=32632),
    "bbox with parameters": bbox_load(north={"from_parameter": "n"}),
    "date_shift 100 years": one("date_shift", date="2020-01-01", value=-100, unit="year"),
    "kernel 5x5": one("apply_kernel", data=None, kernel=[[1] * 5] * 5),
}


@pytest.mark.parametrize("name", WITHIN)
def test_graphs_within_the_limits_pass(name):
    assert check_limits(WITHIN[name]) == []


def test_the_limits_are_those_of_the_settings():
    assert GraphLimits.from_config(LimitsConfig()) == GraphLimits()
    settings = Settings(limits={"max_nodes": 10, "max_integer_bits": 64})
    limits = GraphLimits.from_config(settings.limits)
    assert limits.max_nodes == 10 and limits.max_integer_bits == 64
    assert codes(chain(11), limits) == ["ProcessGraphComplexity"]
    assert codes(chain(10), limits) == []
    assert codes(one("add", x=2**70), limits) == ["ProcessGraphComplexity"]


def test_configure_sets_the_default_of_validation():
    try:
        limits_module.configure(GraphLimits(max_nodes=3))
        assert codes(chain(4)) == ["ProcessGraphComplexity"]
    finally:
        limits_module.configure(GraphLimits())
    assert codes(chain(4)) == []


class CountingGraph(dict):
    """A flat graph that counts the look-ups of its nodes."""

    lookups = 0

    def get(self, key, default=None):
        CountingGraph.lookups += 1
        return super().get(key, default)

    def __getitem__(self, key):
        CountingGraph.lookups += 1
        return super().__getitem__(key)


def resample_chain(n: int) -> dict:
    """A load and n - 1 resample_spatial, each on the previous: every one looks for the
    load's extent up the chain (quadratic if the look-ups were not shared)."""
    graph = {"n0": load()}
    for i in range(1, n):
        graph[f"n{i}"] = {
            "process_id": "resample_spatial",
            "arguments": {"data": {"from_node": f"n{i - 1}"}, "resolution": 10},
        }
    graph[f"n{n - 1}"]["result"] = True
    return graph


def test_the_checks_are_linear_in_the_size_of_the_graph():
    """Counted, not timed: node look-ups per node stay constant as the graph grows."""
    per_node = []
    for n in (250, 500, 1000, 2000, 4000):
        graph = CountingGraph(resample_chain(n))
        CountingGraph.lookups = 0
        assert check_limits(graph) == []
        per_node.append(CountingGraph.lookups / n)
    assert max(per_node) <= 3, per_node
    assert max(per_node) - min(per_node) < 0.1, per_node


def test_a_5_mb_graph_is_checked_in_one_pass_over_its_values():
    graph = {
        f"n{i}": {"process_id": "add", "arguments": {"x": [1.5] * 100 + [123456] * 50, "y": "abc"}}
        for i in range(4000)
    }
    assert len(json.dumps(graph)) > 3_000_000
    assert check_limits(graph) == []
