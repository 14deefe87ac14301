"""The hostile-input findings (issues 12 and 17) against a real server: every one is answered
quickly with a 4xx openEO error (or, for a valid graph, its result), never a 500 or a hang.

A real server (not the TestClient) so that a request that would freeze it, as
``power(10, 1000000000)`` did, fails the test by its timeout instead of hanging the suite.
"""

from __future__ import annotations

import json
import time

import pytest
import requests

from tests.support.servers import start_server, stop_server

# Generous for a loaded two-core machine; the checks themselves take milliseconds.
ANSWER_SECONDS = 10


@pytest.fixture(scope="module")
def server(tmp_path_factory, demo_catalog_dir):
    data_dir = tmp_path_factory.mktemp("limits-server")
    proc, url, log_path = start_server(data_dir, demo_catalog_dir)
    yield url
    stop_server(proc)


@pytest.fixture(scope="module")
def api(server) -> str:
    return f"{server}/openeo/1.2"


@pytest.fixture(scope="module")
def auth(api) -> dict[str, str]:
    resp = requests.get(f"{api}/credentials/basic", auth=("demo", "demo"), timeout=30)
    return {"Authorization": f"Bearer basic//{resp.json()['access_token']}"}


def body(graph: dict) -> str:
    return json.dumps({"process": {"process_graph": graph}})


def one(pid: str, **arguments) -> str:
    return body({"a": {"process_id": pid, "arguments": arguments, "result": True}})


# A 5 x 5 pixel load (CORINE is 100 m in UTM 32N) and its spatial extent.
EXTENT = {"west": 9.7, "south": 44.9, "east": 9.706, "north": 44.904}


def load_graph(result: bool = True, **arguments) -> dict:
    args = {"id": "CORINE_LAND_COVER", "spatial_extent": dict(EXTENT), "temporal_extent": None}
    args.update(arguments)
    node = {"process_id": "load_collection", "arguments": args}
    return {"load": {**node, "result": True} if result else node}


def with_extent(**changes) -> str:
    return body(load_graph(spatial_extent={**EXTENT, **changes}))


def resample(**arguments) -> str:
    graph = load_graph(result=False)
    graph["r"] = {
        "process_id": "resample_spatial",
        "arguments": {"data": {"from_node": "load"}, **arguments},
        "result": True,
    }
    return body(graph)


def deep(opening: str, inner: str, closing: str, levels: int = 10_000) -> str:
    value = opening * levels + inner + closing * levels
    return (
        '{"process": {"process_graph": {"a": {"process_id": "add", "arguments": {"x": 1, "y": '
        + value
        + '}, "result": true}}}}'
    )


def nested_array_apply(levels: int) -> str:
    cb = {"x": {"process_id": "add", "arguments": {"x": {"from_parameter": "x"}, "y": 1}}}
    cb["x"]["result"] = True
    for _ in range(levels):
        cb = {
            "x": {
                "process_id": "array_apply",
                "arguments": {"data": [1], "process": {"process_graph": cb}},
                "result": True,
            }
        }
    return body(cb)


def chain(n: int) -> str:
    graph = {
        f"n{i}": {
            "process_id": "add",
            "arguments": {"x": {"from_node": f"n{i - 1}"} if i else 1, "y": 1},
        }
        for i in range(n)
    }
    graph[f"n{n - 1}"]["result"] = True
    return body(graph)


def computed(pid: str, **arguments) -> str:
    """``pid`` with arguments computed at run time: ``{"add": [x, y]}`` becomes a node
    ``add(x, y)`` and a reference to it (the static checks cannot see the value)."""
    graph: dict = {}
    args = {}
    for name, value in arguments.items():
        if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("add", "divide"):
            op, (x, y) = next(iter(value.items()))
            graph[f"v_{name}"] = {"process_id": op, "arguments": {"x": x, "y": y}}
            args[name] = {"from_node": f"v_{name}"}
        else:
            args[name] = value
    graph["a"] = {"process_id": pid, "arguments": args, "result": True}
    return body(graph)


def text_of_a_computed_array() -> str:
    """text_concat of 2000 strings of 1000 characters that array_create makes at run time."""
    graph = {
        "parts": {
            "process_id": "array_create",
            "arguments": {"data": ["x" * 1000], "repeat": 2000},
        },
        "t": {
            "process_id": "text_concat",
            "arguments": {"data": {"from_node": "parts"}},
            "result": True,
        },
    }
    return body(graph)


def resample_computed_resolution() -> str:
    graph = load_graph(result=False)
    graph["res"] = {"process_id": "divide", "arguments": {"x": 1, "y": 1e9}}
    graph["r"] = {
        "process_id": "resample_spatial",
        "arguments": {"data": {"from_node": "load"}, "resolution": {"from_node": "res"}},
        "result": True,
    }
    return body(graph)


def kernel_computed() -> str:
    graph = load_graph(result=False)
    graph["k"] = {"process_id": "array_create", "arguments": {"data": [[1] * 201], "repeat": 3}}
    graph["r"] = {
        "process_id": "apply_kernel",
        "arguments": {"data": {"from_node": "load"}, "kernel": {"from_node": "k"}},
        "result": True,
    }
    return body(graph)


BANDS_STRING = body(load_graph(bands="land_cover"))
RESULT_YES = body({"a": {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": "yes"}})
SIXTY_THOUSAND = body(
    {f"n{i}": {"process_id": "add", "arguments": {"x": i, "y": 1}} for i in range(60_000)}
    | {"r": {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": True}}
)

# (request body, expected status, expected code); status 200 for valid graphs that must run.
FINDINGS = {
    "power(10, 1e9)": (one("power", base=10, p=1_000_000_000), 400, "ProcessGraphComplexity"),
    "resample_spatial(1e-9) of a 5x5 load": (
        resample(resolution=1e-9),
        400,
        "ProcessGraphComplexity",
    ),
    "array_create(repeat=1e8)": (
        one("array_create", data=[1], repeat=10**8),
        400,
        "ProcessGraphComplexity",
    ),
    "5000-digit integer": (
        '{"process": {"process_graph": {"a": {"process_id": "add", "arguments": {"x": '
        + "9" * 5000
        + ', "y": 1}, "result": true}}}}',
        400,
        "ProcessGraphComplexity",
    ),
    "400-digit bbox number": (
        body(load_graph()).replace('"east": 9.706', '"east": ' + "1" * 400),
        400,
        "ProcessGraphComplexity",
    ),
    "10000-level nested arrays": (deep("[", "", "]"), 400, "JsonInvalid"),
    "10000-level nested objects": (deep('{"a": ', "1", "}"), 400, "JsonInvalid"),
    "array_apply nested 300 deep": (nested_array_apply(300), 400, "JsonInvalid"),
    "array_apply nested 31 deep": (nested_array_apply(31), 400, "ProcessGraphComplexity"),
    "crs EPSG:999999": (with_extent(crs="EPSG:999999"), 400, "ProcessParameterInvalid"),
    "crs garbage!!": (with_extent(crs="garbage!!"), 400, "ProcessParameterInvalid"),
    "crs -5": (with_extent(crs=-5), 400, "ProcessParameterInvalid"),
    "crs JSON object": (with_extent(crs={"type": "name"}), 400, "ProcessParameterInvalid"),
    "resample_spatial(projection=garbage)": (
        resample(resolution=10, projection="garbage"),
        400,
        "ProcessParameterInvalid",
    ),
    "date_shift by 10^12 years": (
        one("date_shift", date="2020-01-01", value=10**12, unit="year"),
        400,
        "ProcessParameterInvalid",
    ),
    "array_create(repeat=10^12)": (
        one("array_create", data=[1], repeat=10**12),
        400,
        "ProcessGraphComplexity",
    ),
    "north: 1000": (with_extent(north=1000), 400, "ProcessParameterInvalid"),
    "bands as a string": (BANDS_STRING, 400, "ProcessParameterInvalid"),
    '"result": "yes"': (RESULT_YES, 400, "ProcessGraphInvalid"),
    "1e400": (
        '{"process": {"process_graph": {"a": {"process_id": "add", "arguments": {"x": 1e400, '
        '"y": 1}, "result": true}}}}',
        400,
        "ProcessParameterInvalid",
    ),
    "resample_spatial(resolution=-1)": (resample(resolution=-1), 400, "ProcessParameterInvalid"),
    "60000-node graph": (SIXTY_THOUSAND, 400, "ProcessGraphComplexity"),
    "2000-node chain": (chain(2000), 200, None),
    # Values computed while the graph runs: the processes check them before computing.
    "power of a computed integer": (
        computed("power", base={"add": [5, 5]}, p=1_000_000_000),
        400,
        "ProcessGraphComplexity",
    ),
    "power of floats overflowing": (
        one("power", base=10.0, p=1e9),
        400,
        "ProcessParameterInvalid",
    ),
    "array_create with a computed repeat": (
        computed("array_create", data=[1], repeat={"add": [10**8, 1]}),
        400,
        "ProcessGraphComplexity",
    ),
    "text_concat of a computed array": (text_of_a_computed_array(), 400, "ProcessGraphComplexity"),
    "date_shift by computed 10^12 years": (
        computed("date_shift", date="2020-01-01", value={"add": [10**12, 1]}, unit="year"),
        400,
        "ProcessParameterInvalid",
    ),
    "apply_kernel with a computed 201-wide kernel": (
        kernel_computed(),
        400,
        "ProcessGraphComplexity",
    ),
    "resample_spatial to a computed 1e-9": (
        resample_computed_resolution(),
        400,
        "ProcessGraphComplexity",
    ),
}


def check_answer(resp: requests.Response, status: int, code: str | None, elapsed: float) -> None:
    assert elapsed < ANSWER_SECONDS, f"answered after {elapsed:.1f} s"
    assert resp.status_code == status, resp.text[:500]
    if code is not None:
        error = resp.json()
        assert error["code"] == code, error
        assert set(error) >= {"id", "code", "message", "links"}


@pytest.mark.parametrize("name", FINDINGS)
def test_result_answers_each_finding_quickly_and_without_a_500(api, auth, name):
    raw, status, code = FINDINGS[name]
    started = time.monotonic()
    resp = requests.post(
        f"{api}/result",
        data=raw,
        headers={**auth, "Content-Type": "application/json"},
        timeout=ANSWER_SECONDS * 3,
    )
    check_answer(resp, status, code, time.monotonic() - started)
    if code == "ProcessGraphComplexity" and "limits." in resp.json()["message"]:
        assert " = " in resp.json()["message"]  # names the limit's value


STATIC = {
    name: case
    for name, case in FINDINGS.items()
    if case[1] == 400 and not name.startswith(("power of", "array_create with", "text_concat of"))
    and "computed" not in name
}  # fmt: skip


@pytest.mark.parametrize("name", STATIC)
def test_validation_reports_the_same_errors(api, auth, name):
    """/validation takes the process itself; it answers 200 with the error in ``errors``,
    except for bodies that are not acceptable JSON (JsonInvalid, too large integers)."""
    raw, _, code = FINDINGS[name]
    raw = raw.replace('{"process": ', "", 1)[:-1]
    started = time.monotonic()
    resp = requests.post(
        f"{api}/validation",
        data=raw,
        headers={**auth, "Content-Type": "application/json"},
        timeout=ANSWER_SECONDS * 3,
    )
    elapsed = time.monotonic() - started
    assert elapsed < ANSWER_SECONDS
    if code == "JsonInvalid" or "digit" in name:  # the body itself is refused
        check_answer(resp, 400, code, elapsed)
    else:
        assert resp.status_code == 200, resp.text[:500]
        assert code in [e["code"] for e in resp.json()["errors"]], resp.json()


def test_the_server_still_answers_an_ordinary_request(api, auth):
    resp = requests.post(
        f"{api}/result",
        data=one("add", x=1, y=2),
        headers={**auth, "Content-Type": "application/json"},
        timeout=60,
    )
    assert resp.status_code == 200 and resp.json() == 3


def test_the_backend_applies_the_configured_limits(tmp_path, demo_catalog_dir):
    from openeo_dedl.backend import Backend
    from openeo_dedl.config import Settings
    from openeo_dedl.planning import limits

    settings = Settings(
        data_dir=tmp_path, demo_catalog_dir=demo_catalog_dir, limits={"max_nodes": 7}
    )
    backend = Backend(settings)
    try:
        errors = backend.prepare(json.loads(chain(8))["process"]).errors
        assert [e.code for e in errors] == ["ProcessGraphComplexity"]
        assert "limits.max_nodes = 7" in errors[0].message
        assert backend.prepare(json.loads(chain(7))["process"]).errors == ()
    finally:
        backend.close()
        limits.configure(limits.GraphLimits())  # the process-wide default for other tests
