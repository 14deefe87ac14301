"""Large graphs run in time linear in their size, and give the right values.

Linearity is shown by counting, not timing: the Python function calls made while one graph is
parsed and run (``sys.setprofile`` sees every call and every resumption of a generator, so an
iteration over all edges per node shows up), for a graph and for one twice its size.
"""

from __future__ import annotations

import json
import sys

import pytest

from openeo_dedl.backend import Backend
from openeo_dedl.config import Settings
from openeo_dedl.execution import registry as process_registry
from openeo_dedl.execution.pg_adapter import MAX_CHAIN_DEPTH
from openeo_dedl.execution.runner import evaluate_graph
from openeo_dedl.planning.partition import MAX_PARTITION_DEPTH
from tests.execution.shapes import array, chain, tree


def evaluate(graph: dict):
    return evaluate_graph(graph, lambda: process_registry.build_registry({}), {})


def counted_calls(graph: dict) -> tuple[int, object]:
    """Python calls made while ``graph`` is parsed and run (one partition), and its value."""
    calls = 0

    def profile(frame, event, arg):
        nonlocal calls
        if event == "call":
            calls += 1

    sys.setprofile(profile)
    try:
        value = evaluate(graph)
    finally:
        sys.setprofile(None)
    return calls, value


def ladder(depth: int) -> tuple[dict, int]:
    """Two nodes per level, each adding both nodes of the level before: every node is shared,
    so there are 2**depth paths to the result. The value is 2**depth."""
    graph = {"a0": {"process_id": "add", "arguments": {"x": 1, "y": 0}}}
    graph["b0"] = {"process_id": "add", "arguments": {"x": 0, "y": 1}}
    for i in range(1, depth):
        both = {"x": {"from_node": f"a{i - 1}"}, "y": {"from_node": f"b{i - 1}"}}
        graph[f"a{i}"] = {"process_id": "add", "arguments": dict(both)}
        graph[f"b{i}"] = {"process_id": "add", "arguments": dict(both)}
    last = {"x": {"from_node": f"a{depth - 1}"}, "y": {"from_node": f"b{depth - 1}"}}
    graph["r"] = {"process_id": "add", "arguments": last, "result": True}
    return graph, 2**depth


@pytest.fixture(scope="module", autouse=True)
def _warm():
    # Imports and the first registry out of the counts.
    evaluate(chain(3)[0])


@pytest.mark.parametrize("build", [array, tree, chain], ids=["array", "tree", "chain"])
def test_parsing_and_running_one_partition_is_linear(build):
    # Chains stay within one partition's depth here; array and tree are wide, not deep.
    small, large = (40, 80) if build is chain else (400, 800)
    calls_small, value_small = counted_calls(build(small)[0])
    calls_large, value_large = counted_calls(build(large)[0])
    assert (value_small, value_large) == (build(small)[1], build(large)[1])
    # Linear: twice the nodes, about twice the calls (a quadratic step gives about 4x).
    assert calls_large / calls_small < 2.3, (calls_small, calls_large)


def test_shared_nodes_are_parsed_and_run_once_not_once_per_path():
    calls_small, value_small = counted_calls(ladder(6)[0])
    calls_large, value_large = counted_calls(ladder(12)[0])
    assert (value_small, value_large) == (ladder(6)[1], ladder(12)[1])
    # Twice the nodes (2 * depth + 1), not 64 times the paths.
    assert calls_large / calls_small < 2.3, (calls_small, calls_large)


def test_a_chain_as_deep_as_the_adapter_allows_gives_its_value():
    assert MAX_PARTITION_DEPTH <= MAX_CHAIN_DEPTH
    graph, expected = chain(MAX_CHAIN_DEPTH)
    assert evaluate(graph) == expected


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    b = Backend(Settings(data_dir=tmp_path_factory.mktemp("data")))
    yield b
    b.close()


@pytest.mark.parametrize("build", [chain, array, tree], ids=["chain", "array", "tree"])
def test_5000_node_graphs_run_and_give_the_closed_form(backend, tmp_path, build):
    graph, expected = build(5000)
    result = backend.run_sync({"process_graph": graph}, tmp_path)
    assert json.loads(result.path.read_text()) == expected
    if build is chain:  # cut into partitions no deeper than the limit, run in order
        assert len(result.usage.partitions) == 5000 // MAX_PARTITION_DEPTH


def test_partitions_with_several_outputs_are_parsed_once_and_give_each_output(backend, tmp_path):
    # b_i = i and a_i = a_(i-1) + b_(i-1): cut by depth, each partition hands both chains on.
    depth = 2 * MAX_PARTITION_DEPTH + 50
    graph = {
        "a0": {"process_id": "add", "arguments": {"x": 0, "y": 0}},
        "b0": {"process_id": "add", "arguments": {"x": 0, "y": 0}},
    }
    for i in range(1, depth):
        previous = {"x": {"from_node": f"a{i - 1}"}, "y": {"from_node": f"b{i - 1}"}}
        graph[f"a{i}"] = {"process_id": "add", "arguments": previous}
        graph[f"b{i}"] = {
            "process_id": "add",
            "arguments": {"x": {"from_node": f"b{i - 1}"}, "y": 1},
        }
    graph[f"a{depth - 1}"]["result"] = True
    result = backend.run_sync({"process_graph": graph}, tmp_path)
    assert json.loads(result.path.read_text()) == (depth - 1) * (depth - 2) // 2
    assert len(result.usage.partitions) == 3
