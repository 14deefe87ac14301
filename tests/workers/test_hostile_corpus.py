"""A corpus of hostile requests against a real server: each answer is a quick 4xx openEO error.

The server (``openeo-dedl serve`` with its worker processes) gets every request below; each
must be answered with an openEO error JSON and a 4xx status within its time bound (requests
refused before any work: ``FAST`` seconds), no request reaches a listener on 127.0.0.1, and the
API process's memory after the corpus is within 20 % of what it was before (a watchdog fails
the run at once if the server's processes together pass ``MEMORY_BOUND``).
"""

from __future__ import annotations

import http.server
import json
import time

import psutil
import pytest
import requests

from tests.support.servers import descendants, server_env, serving, start_api, stop_server
from tests.support.users import API, login_url

# Wall-clock bounds: run alone (`make test`), not beside other tests.
pytestmark = pytest.mark.serial

# The goal is a refusal within a second (issue 12); the largest bodies (a 5 MB graph, a 4 MB
# array) take 0.9-1.03 s to upload and parse on this 2-core machine during a full test run, so
# the test allows half a second more: it guards against work being done, not against noise.
FAST = 1.5
# Found only when the process runs (values computed at run time, files that may not exist,
# hosts that only DNS tells about): POST /jobs may create these jobs (they fail when started);
# every other case is refused at creation too (literal kernels, dates, geometries and locations
# the run would refuse: planning/literals.py). An unknown collection is accepted at creation on
# purpose (catalogs change; see jobs/service.py).
RUN_TIME_ONLY = {"array-create-computed", "undefined-parameter", "unknown-collection"}
# Resident memory of the server and its worker processes together, at most.
MEMORY_BOUND = 6 * 1024**3

POLYGON = {
    "type": "Polygon",
    "coordinates": [[[67.2, 26.2], [67.8, 26.2], [67.8, 26.8], [67.2, 26.8], [67.2, 26.2]]],
}
EXTENT = {"west": 67.0, "south": 26.0, "east": 68.0, "north": 27.0}


def _load(**arguments) -> dict:
    base = {
        "id": "ERA5_LAND",
        "spatial_extent": EXTENT,
        "temporal_extent": ["2022-08-15", "2022-08-20"],
        "bands": ["total_precipitation"],
    }
    return {"process_id": "load_collection", "arguments": {**base, **arguments}}


def _one(process_id: str, result: bool = True, **arguments) -> dict:
    return {"n": {"process_id": process_id, "arguments": arguments, "result": result}}


def _on_load(process_id: str, load: dict | None = None, **arguments) -> dict:
    return {
        "l": load or _load(),
        "n": {
            "process_id": process_id,
            "arguments": {"data": {"from_node": "l"}, **arguments},
            "result": True,
        },
    }


def _nested_callbacks(depth: int) -> bytes:
    """array_apply callbacks ``depth`` deep, as JSON text (json.dumps recurses too deep)."""
    graph = (
        '{"x": {"process_id": "absolute", "arguments": {"x": {"from_parameter": "x"}}, '
        '"result": true}}'
    )
    for _ in range(depth):
        graph = ('{"a": {"process_id": "array_apply", "arguments": {"data": [1, 2], '
                 f'"process": {{"process_graph": {graph}}}}}, "result": true}}}}')  # fmt: skip
    return _raw(graph)


def _chain_cycle() -> dict:
    return {
        "a": {"process_id": "add", "arguments": {"x": {"from_node": "b"}, "y": 1}},
        "b": {"process_id": "add", "arguments": {"x": {"from_node": "a"}, "y": 1}, "result": True},
    }


def _raw(graph_text: str) -> bytes:
    return (f'{{"process": {{"process_graph": {graph_text}}}}}').encode()


def _body(graph: dict) -> bytes:
    return json.dumps({"process": {"process_graph": graph}}).encode()


def _agg(geometries) -> bytes:
    return _body(
        _on_load(
            "aggregate_spatial",
            geometries=geometries,
            reducer={
                "process_graph": {
                    "m": {
                        "process_id": "mean",
                        "arguments": {"data": {"from_parameter": "data"}},
                        "result": True,
                    }
                }
            },
        )
    )


def corpus(port: int, data_dir: str) -> list[tuple[str, bytes, dict]]:
    """(name, body, headers) of every hostile request; ``port`` is the listener's."""
    wide = {f"n{i}": {"process_id": "add", "arguments": {"x": i, "y": 1}} for i in range(60_000)}
    wide["n0"]["result"] = True
    json_headers = {"Content-Type": "application/json"}
    cases: list[tuple[str, bytes, dict]] = [
        # -- numbers and sizes that blow up
        ("power-huge-int", _body(_one("power", base=10, p=1_000_000_000)), {}),
        ("power-huge-base", _body(_one("power", base=2**60, p=2**40)), {}),
        (
            "power-nested",
            _body(
                {
                    "a": {"process_id": "power", "arguments": {"base": 10, "p": 100_000}},
                    "b": {
                        "process_id": "power",
                        "arguments": {"base": {"from_node": "a"}, "p": 1000},
                        "result": True,
                    },
                }
            ),
            {},
        ),  # fmt: skip
        (
            "int-5000-digits",
            _raw(
                '{"a": {"process_id": "add", "arguments": {"x": %s, "y": 1},'
                ' "result": true}}' % ("9" * 5000)
            ),
            {},
        ),  # fmt: skip
        (
            "bbox-400-digits",
            _raw(
                json.dumps({"l": {**_load(), "result": True}}).replace(
                    '"west": 67.0', '"west": ' + "6" * 400
                )
            ),
            {},
        ),  # fmt: skip
        (
            "number-1e400",
            _raw('{"a": {"process_id": "add", "arguments": {"x": 1e400, "y": 1}, "result": true}}'),
            {},
        ),  # fmt: skip
        (
            "nested-arrays-10000",
            _raw(
                '{"a": {"process_id": "add", "arguments": {"x": %s, '
                '"y": 1}, "result": true}}' % ("[" * 10_000 + "1" + "]" * 10_000)
            ),
            {},
        ),  # fmt: skip
        (
            "nested-objects-10000",
            _raw(
                '{"a": {"process_id": "add", "arguments": {"x": %s, '
                '"y": 1}, "result": true}}' % ('{"a":' * 10_000 + "1" + "}" * 10_000)
            ),
            {},
        ),  # fmt: skip
        ("callbacks-300-deep", _nested_callbacks(300), {}),
        ("callbacks-40-deep", _nested_callbacks(40), {}),
        ("array-create-1e12", _body(_one("array_create", data=[1], repeat=10**12)), {}),
        ("array-create-1e8", _body(_one("array_create", data=[1], repeat=10**8)), {}),
        (
            "array-create-computed",
            _body(
                {
                    "r": {"process_id": "multiply", "arguments": {"x": 100_000, "y": 100_000}},
                    "c": {
                        "process_id": "array_create",
                        "arguments": {"data": [1, 2], "repeat": {"from_node": "r"}},
                        "result": True,
                    },
                }
            ),
            {},
        ),  # fmt: skip
        (
            "text-concat-huge",
            _body(
                {
                    "c": {
                        "process_id": "array_create",
                        "arguments": {"data": ["x" * 1000], "repeat": 900_000},
                    },
                    "t": {
                        "process_id": "text_concat",
                        "arguments": {"data": {"from_node": "c"}},
                        "result": True,
                    },
                }
            ),
            {},
        ),  # fmt: skip
        ("string-literal-2MB", _body(_one("text_length", data="x" * 2_000_000)), {}),
        (
            "array-literal-2M",
            _raw(
                '{{"a": {{"process_id": "sum", "arguments": {{"data": [{}]}},'
                ' "result": true}}}}'.format(",".join(["1"] * 2_000_000))
            ),
            {},
        ),
        ("nodes-60000", _body(wide), {}),
        ("resample-1e-9", _body(_on_load("resample_spatial", resolution=1e-9)), {}),
        ("resample-negative", _body(_on_load("resample_spatial", resolution=-1)), {}),
        (
            "resample-projection-garbage",
            _body(_on_load("resample_spatial", projection="garbage")),
            {},
        ),  # fmt: skip
        (
            "resample-projection-999999",
            _body(_on_load("resample_spatial", projection=999999)),
            {},
        ),  # fmt: skip
        (
            "date-shift-1e12-years",
            _body(_one("date_shift", date="2020-01-01", value=10**12, unit="year")),
            {},
        ),  # fmt: skip
        (
            "date-shift-bad-date",
            _body(_one("date_shift", date="not a date", value=1, unit="day")),
            {},
        ),  # fmt: skip
        ("kernel-huge", _body(_on_load("apply_kernel", kernel=[[1] * 2001] * 3)), {}),
        ("kernel-even", _body(_on_load("apply_kernel", kernel=[[1, 1], [1, 1]])), {}),
        # -- extents and parameters that are wrong
        (
            "crs-999999",
            _body(
                {"l": {**_load(spatial_extent={**EXTENT, "crs": "EPSG:999999"}), "result": True}}
            ),
            {},
        ),  # fmt: skip
        (
            "crs-garbage",
            _body({"l": {**_load(spatial_extent={**EXTENT, "crs": "garbage!!"}), "result": True}}),
            {},
        ),  # fmt: skip
        (
            "crs-negative",
            _body({"l": {**_load(spatial_extent={**EXTENT, "crs": -5}), "result": True}}),
            {},
        ),  # fmt: skip
        (
            "crs-object",
            _body({"l": {**_load(spatial_extent={**EXTENT, "crs": {"a": 1}}), "result": True}}),
            {},
        ),  # fmt: skip
        (
            "north-1000",
            _body({"l": {**_load(spatial_extent={**EXTENT, "north": 1000}), "result": True}}),
            {},
        ),  # fmt: skip
        (
            "south-after-north",
            _body({"l": {**_load(spatial_extent={**EXTENT, "south": 80}), "result": True}}),
            {},
        ),  # fmt: skip
        (
            "bands-string",
            _body({"l": {**_load(bands="total_precipitation"), "result": True}}),
            {},
        ),  # fmt: skip
        (
            "temporal-garbage",
            _body({"l": {**_load(temporal_extent=["yesterday", "x"]), "result": True}}),
            {},
        ),  # fmt: skip
        (
            "temporal-huge-year",
            _body({"l": {**_load(temporal_extent=["99999-01-01", None]), "result": True}}),
            {},
        ),  # fmt: skip
        (
            "result-yes",
            _raw('{"a": {"process_id": "add", "arguments": {"x": 1, "y": 1}, "result": "yes"}}'),
            {},
        ),  # fmt: skip
        ("unknown-collection", _body({"l": {**_load(id="NOPE"), "result": True}}), {}),
        # -- graphs that are not graphs
        ("cycle", _body(_chain_cycle()), {}),
        (
            "self-reference",
            _body(
                {
                    "a": {
                        "process_id": "add",
                        "arguments": {"x": {"from_node": "a"}, "y": 1},
                        "result": True,
                    }
                }
            ),
            {},
        ),  # fmt: skip
        ("unknown-process", _body(_one("rm_rf", path="/")), {}),
        ("unknown-parameter", _body(_one("add", x=1, y=2, z=3)), {}),
        ("missing-parameter", _body(_one("add", x=1)), {}),
        (
            "missing-node",
            _body(
                {
                    "a": {
                        "process_id": "add",
                        "arguments": {"x": {"from_node": "ghost"}, "y": 1},
                        "result": True,
                    }
                }
            ),
            {},
        ),  # fmt: skip
        ("no-result-node", _body(_one("add", result=False, x=1, y=2)), {}),
        (
            "two-result-nodes",
            _body(
                {
                    **_one("add", x=1, y=2),
                    "b": {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": True},
                }
            ),
            {},
        ),  # fmt: skip
        ("undefined-parameter", _body(_one("add", x={"from_parameter": "nope"}, y=1)), {}),
        (
            "namespace-url",
            _body(
                {
                    "a": {
                        "process_id": "add",
                        "namespace": "https://example.com/p.json",
                        "arguments": {"x": 1, "y": 1},
                        "result": True,
                    }
                }
            ),
            {},
        ),  # fmt: skip
        ("empty-graph", _body({}), {}),
        ("graph-is-list", _raw("[1, 2]"), {}),
        (
            "process-id-number",
            _raw('{"a": {"process_id": 5, "arguments": {}, "result": true}}'),
            {},
        ),
        (
            "arguments-list",
            _raw('{"a": {"process_id": "add", "arguments": [1, 2], "result": true}}'),
            {},
        ),  # fmt: skip
        ("no-process", b'{"foo": 1}', {}),
        (
            "plain-value-for-cube",
            _body(_one("reduce_dimension", data=5, dimension="t", reducer={"process_graph": {}})),
            {},
        ),  # fmt: skip
        # -- bodies that are not JSON
        ("not-json", b"{this is not json", {}),
        ("non-utf8", b'{"process": {"process_graph": {"a": "\xff\xfe"}}}', {}),
        (
            "lone-surrogate",
            b'{"process": {"process_graph": {"a": {"process_id": "\\ud800",'
            b' "arguments": {}, "result": true}}}}',
            {},
        ),  # fmt: skip
        ("empty-body", b"", {}),
        ("xml", b"<process/>", {"Content-Type": "application/xml"}),
        # -- geometries that shapely refuses
        (
            "polygon-unclosed",
            _agg({"type": "Polygon", "coordinates": [[[67, 26], [68, 26]]]}),
            {},
        ),  # fmt: skip
        ("polygon-garbage-coords", _agg({"type": "Polygon", "coordinates": "abc"}), {}),
        ("geometry-unknown-type", _agg({"type": "Hexagon", "coordinates": [1, 2]}), {}),
        (
            "geometry-nan",
            _agg({"type": "Point", "coordinates": [1, 2]}).replace(b"[1, 2]", b"[NaN, 2]"),
            {},
        ),  # fmt: skip
        # -- locations a process may not read or fetch
        ("fetch-loopback", _agg(f"http://127.0.0.1:{port}/geo.json"), {}),
        ("fetch-localhost", _agg(f"http://localhost:{port}/geo.json"), {}),
        ("fetch-closed-port", _agg("http://127.0.0.1:1/"), {}),
        ("fetch-metadata", _agg("http://169.254.169.254/latest/meta-data/"), {}),
        ("fetch-private", _agg("http://10.0.0.1/geo.json"), {}),
        ("file-shadow", _agg("file:///etc/shadow"), {}),
        ("file-missing", _agg("file:///nonexistent.json"), {}),
        ("file-other-user", _agg(f"file://{data_dir}/workspace/users/bob/secret.geojson"), {}),
        ("path-traversal", _agg("../bob/secret.geojson"), {}),
        ("path-absolute", _agg("/etc/passwd"), {}),
    ]
    for name, body, headers in cases:
        yield name, body, {**json_headers, **headers}


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server's name
        _Recorder.hits.append(self.path)
        body = json.dumps(POLYGON).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def listener():
    with serving(http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)) as server:
        yield server.server_address[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory, demo_catalog_dir):
    data_dir = tmp_path_factory.mktemp("hostile")
    env = server_env(data_dir, demo_catalog_dir, OPENEO_DEDL_LIMITS__SYNC_TIMEOUT_SECONDS="20")
    proc, url = start_api(env, data_dir / "server.log", workers=2)
    yield proc, url, login_url(url), data_dir
    stop_server(proc)


def _tree_rss(pid: int) -> int:
    total = 0
    for proc in [psutil.Process(pid), *descendants(pid)]:
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


def test_every_hostile_request_is_a_quick_4xx(server, listener):
    proc, url, auth, data_dir = server
    ok = requests.post(f"{url}{API}/result", headers=auth, timeout=60,
                       json={"process": {"process_graph": _one("add", x=1, y=2)}})  # fmt: skip
    assert ok.status_code == 200 and ok.json() == 3
    api = psutil.Process(proc.pid)
    rss_before = api.memory_info().rss
    cases = list(corpus(listener, str(data_dir)))
    assert len(cases) >= 60
    peak = 0
    problems = []
    for name, body, headers in cases:
        for endpoint in ("result", "validation_or_jobs"):
            path = "/result" if endpoint == "result" else "/jobs"
            started = time.monotonic()
            resp = requests.post(f"{url}{API}{path}", data=body,
                                 headers={**auth, **headers}, timeout=120)  # fmt: skip
            took = time.monotonic() - started
            peak = max(peak, _tree_rss(proc.pid))
            assert peak < MEMORY_BOUND, (name, peak)
            if path == "/jobs" and resp.status_code == 201:
                if name not in RUN_TIME_ONLY:
                    problems.append((name, path, 201, "an invalid process was accepted as a job"))
                job = resp.headers["OpenEO-Identifier"]
                requests.delete(f"{url}{API}/jobs/{job}", headers=auth, timeout=30)
                continue
            try:
                error = resp.json()
            except ValueError:
                error = None
            if (
                not (400 <= resp.status_code < 500)
                or not isinstance(error, dict)
                or not (error.get("code") and error.get("message"))
            ):
                problems.append((name, path, resp.status_code, resp.text[:200]))
            elif took > FAST:
                problems.append((name, path, resp.status_code, f"took {took:.2f} s"))
    assert not problems, "\n".join(map(str, problems))
    assert _Recorder.hits == []
    rss_after = api.memory_info().rss
    assert rss_after <= 1.2 * rss_before, (rss_before, rss_after)
