"""The one walk over process-graph JSON (planning/walk.py): every part of the backend agrees on
what a reference and a callback are, so dependencies, renaming and substitution agree."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from openeo_dedl.execution.registry import available_specs
from openeo_dedl.planning import Environment, FlatGraph, Invalid, Prepared, prepare
from openeo_dedl.planning.walk import (
    graphs,
    is_callback,
    is_literal,
    iter_references,
    objects,
    parameter_names,
    rebuild,
    renamed,
    replace_references,
)
from tests.support.graphs import cpu_bound_graph

NODE_IDS = st.sampled_from(["a", "b", "c"])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.sampled_from(["s", "t"]))


def _json(children):
    callback_graph = st.dictionaries(
        st.sampled_from(["n", "m"]),
        st.fixed_dictionaries({"process_id": st.just("add"), "arguments": children}),
        min_size=1,
    )
    return st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(["x", "y", "z"]), children, max_size=3),
        st.builds(lambda graph: {"process_graph": graph}, callback_graph),
    )


VALUES = st.recursive(
    st.one_of(
        SCALARS,
        st.builds(lambda n: {"from_node": n}, NODE_IDS),
        st.builds(lambda p: {"from_parameter": p}, st.sampled_from(["p", "q"])),
    ),
    _json,
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(VALUES)
def test_renaming_replaces_exactly_the_dependencies(value):
    dependencies = set(iter_references(value))
    replaced = replace_references(value, {n: {"from_parameter": f"in_{n}"} for n in "abc"})
    # Every dependency became a parameter, nothing else changed its references.
    assert set(iter_references(replaced)) == set()
    assert parameter_names(replaced) == parameter_names(value) | {f"in_{n}" for n in dependencies}
    assert rebuild(value) == value
    assert replace_references(value, renamed({})) == value
    # Literal exactly when there is neither a reference nor a callback.
    has_reference = any(set(o) & {"from_node", "from_parameter"} for o in objects(value))
    assert is_literal(value) == (not has_reference and "process_graph" not in repr(value))


def test_callbacks_have_their_own_nodes_and_references_are_not_callbacks():
    callback = {
        "process_graph": {"n": {"process_id": "add", "arguments": {"x": {"from_node": "z"}}}}
    }
    value = {"x": [{"from_node": "a"}, callback], "y": {"from_parameter": "p"}}
    assert list(iter_references(value)) == ["a"]
    assert is_callback(callback)
    # The parser takes an object with from_parameter for a parameter, whatever else it holds.
    assert not is_callback({"from_parameter": "p", "process_graph": {}})
    renamed_value = replace_references(value, renamed({"a": "a2", "z": "z2"}))
    assert renamed_value == {"x": [{"from_node": "a2"}, callback], "y": {"from_parameter": "p"}}
    nested = {"t": {"process_id": "apply", "arguments": {"process": callback}}}
    assert list(graphs(nested)) == [nested, callback["process_graph"]]


def _environment() -> Environment:
    return Environment(
        specs=available_specs(),
        sites=("central",),
        result_site="central",
        collection_error=lambda cid: None,
        collection_facts=lambda cid: None,
    )


def test_a_callback_whose_graph_is_not_an_object_is_refused_before_the_run():
    # Before: valid, and the run failed on it with an AttributeError (a 500).
    for graph in (5, None, ["n"]):
        pg = cpu_bound_graph(2, repeat=2)
        pg["a"]["arguments"]["process"] = {"process_graph": graph}
        prepared = prepare({"process_graph": pg}, {}, _environment())
        assert isinstance(prepared, Invalid), graph
        assert [e.status for e in prepared.errors] == [400]


def test_a_valid_callback_still_prepares():
    pg = cpu_bound_graph(2, repeat=2)
    assert isinstance(prepare({"process_graph": pg}, {}, _environment()), Prepared)
    assert FlatGraph(pg).producers("a") == ["c"]
