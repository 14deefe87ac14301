"""The process store on both databases; checking and inlining calls without HTTP."""

from __future__ import annotations

import pytest

from openeo_dedl.errors import OpenEOError
from openeo_dedl.planning.inline import MAX_INLINED_NODES, call_errors, inline_calls
from openeo_dedl.storage.db import Database
from openeo_dedl.storage.process_store import UserProcessStore
from tests.udps.test_process_graphs import double


@pytest.fixture
def store(database_url):
    db = Database(database_url)
    db.migrate()
    yield UserProcessStore(db)
    db.dispose()


def test_store_keeps_processes_per_user(store):
    store.put("alice", "double", double())
    store.put("alice", "add", double("add", 1))
    store.put("bob", "double", double(factor=7))
    assert list(store.all("alice")) == ["add", "double"]
    assert store.get("alice", "double")["process_graph"]["m"]["arguments"]["y"] == 2
    assert store.get("bob", "double")["process_graph"]["m"]["arguments"]["y"] == 7
    store.put("alice", "double", double(factor=3))
    assert store.get("alice", "double")["process_graph"]["m"]["arguments"]["y"] == 3
    assert store.delete("alice", "double") is True
    assert store.delete("alice", "double") is False
    assert store.get("alice", "double") is None
    assert store.get("bob", "double") is not None
    assert store.all("carol") == {}


def _call(pid, **args):
    return {"process_id": pid, "arguments": args or {"x": 1}, "result": True}


def test_resolve_inlines_calls_in_callbacks_too():
    udps = {"double": double()}
    process = {
        "process_graph": {
            "apply": {
                "process_id": "apply",
                "arguments": {
                    "data": [1, 2],
                    "process": {
                        "process_graph": {
                            "d": _call("double", x={"from_parameter": "x"}),
                        }
                    },
                },
                "result": True,
            }
        }
    }
    resolved = inline_calls(process, udps)
    inner = resolved["process_graph"]["apply"]["arguments"]["process"]["process_graph"]
    assert [n["process_id"] for n in inner.values()] == ["multiply"]
    # Nothing calls a user process: the very same object comes back.
    plain = {"process_graph": {"a": _call("add", x=1, y=2)}}
    assert inline_calls(plain, udps) is plain


def test_exponential_expansion_is_refused_before_inlining():
    # Each level calls the one below ten times: 10^6 nodes if it were inlined.
    udps = {"l0": double("l0")}
    for level in range(1, 7):
        nodes = {f"c{i}": {"process_id": f"l{level - 1}", "arguments": {"x": 1}} for i in range(10)}
        nodes["c0"]["result"] = True
        udps[f"l{level}"] = {"parameters": [], "process_graph": nodes}
    errors = call_errors(
        {
            "top": _call(
                "l6",
            )
        },
        udps,
    )
    assert [e.code for e in errors] == ["ProcessGraphComplexity"]
    assert str(MAX_INLINED_NODES) in errors[0].message


def test_unknown_arguments_deep_inside_are_found():
    udps = {
        "double": double(),
        "outer": {
            "parameters": [],
            "process_graph": {"c": _call("double", x=1, z=2)},
        },
    }
    errors = call_errors({"top": _call("outer", **{})}, udps)
    assert "ProcessParameterUnsupported" in [e.code for e in errors]
    with pytest.raises(OpenEOError):
        inline_calls({"process_graph": {"top": {"process_id": "outer", "arguments": {}}}}, udps)


def test_concurrent_first_saves_of_one_process_do_not_fail(store):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda f: store.put("carol", "p", double(factor=f)), range(16)))
    assert list(store.all("carol")) == ["p"]
