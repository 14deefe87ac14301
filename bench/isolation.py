"""Ordinary requests while another user sends hostile ones: does one request stall the others?

Starts `openeo-dedl serve` (the embedded default: two worker processes) with two users,
``alice`` (ordinary) and ``mallory`` (hostile), and measures twice, on the same server:

1. idle: alice sends 40 small synchronous requests at once (half ``add``, half a small
   load + mean over time + JSON) while ``GET /`` is probed every 50 ms;
2. hostile: the same, while mallory sends 10 hostile requests at once (CPU-bound plain-value
   work in the worker's interpreter, a huge integer power, a 60,000-node graph, 10,000-level
   nesting, a tiny resampling resolution, a huge repeat, ...).

Prints p50/p95 of alice's requests and of ``GET /`` in both phases and their ratios (hostile /
idle), and the number of errors of alice's requests (goal: ordinary p95 <= 2 x idle, 0 errors).
``limits.sync_timeout_seconds`` is 20 s here so that hostile runs end within the benchmark.

    .venv/bin/python bench/isolation.py
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import bcrypt
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.graphs import cpu_bound_graph  # noqa: E402
from tests.support.servers import free_port, wait_until_serving  # noqa: E402

USERS = {"alice": "alice-pw", "mallory": "mallory-pw"}
ORDINARY = 40
PROBE_SECONDS = 0.05


def _add(i: int) -> dict:
    return {"a": {"process_id": "add", "arguments": {"x": i, "y": 1}, "result": True}}


def _small_load(i: int) -> dict:
    west = 67.0 + (i % 5) * 0.1
    return {
        "l": {
            "process_id": "load_collection",
            "arguments": {
                "id": "ERA5_LAND",
                "spatial_extent": {"west": west, "south": 26.0, "east": west + 0.5, "north": 26.5},
                "temporal_extent": ["2022-08-15", "2022-08-25"],
                "bands": ["total_precipitation"],
            },
        },
        "m": {
            "process_id": "reduce_dimension",
            "arguments": {
                "data": {"from_node": "l"},
                "dimension": "t",
                "reducer": {
                    "process_graph": {
                        "x": {
                            "process_id": "mean",
                            "arguments": {"data": {"from_parameter": "data"}},
                            "result": True,
                        }
                    }
                },
            },
        },
        "s": {
            "process_id": "save_result",
            "arguments": {"data": {"from_node": "m"}, "format": "JSON"},
            "result": True,
        },
    }


def ordinary_graphs() -> list[dict]:
    return [_add(i) if i % 2 == 0 else _small_load(i) for i in range(ORDINARY)]


def hostile_bodies() -> list[bytes]:
    """Ten hostile request bodies (JSON bytes)."""
    cpu = cpu_bound_graph(3, repeat=1_000_000)
    wide = {f"n{i}": {"process_id": "add", "arguments": {"x": i, "y": 1}} for i in range(60_000)}
    wide["n0"]["result"] = True
    graphs = [
        cpu,
        cpu,
        {"p": {"process_id": "power", "arguments": {"base": 10, "p": 1_000_000_000},
               "result": True}},
        wide,
        {"c": {"process_id": "array_create", "arguments": {"data": [1], "repeat": 10**12},
               "result": True}},
        {"l": _small_load(0)["l"], "r": {"process_id": "resample_spatial", "arguments": {
            "data": {"from_node": "l"}, "resolution": 1e-9}, "result": True}},
        {"d": {"process_id": "date_shift", "arguments": {"date": "2020-01-01", "value": 10**12,
               "unit": "year"}, "result": True}},
        cpu,
    ]  # fmt: skip
    bodies = [json.dumps({"process": {"process_graph": g}}).encode() for g in graphs]
    # Written by hand: json (and int()) refuse to produce them.
    for literal in ("[" * 10_000 + "1" + "]" * 10_000, "9" * 5000):
        graph = '{"a": {"process_id": "add", "arguments": {"x": %s, "y": 1}, "result": true}}'
        bodies.append(('{"process": {"process_graph": %s}}' % (graph % literal)).encode())
    return bodies


def _config(path: Path) -> None:
    lines = []
    for user, password in USERS.items():
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode()
        lines += ["[[users]]", f'username = "{user}"', f'password_hash = "{hashed}"', ""]
    lines += ["[limits]", "sync_timeout_seconds = 20", ""]
    path.write_text("\n".join(lines))


def _token(url: str, user: str) -> dict[str, str]:
    resp = requests.get(f"{url}/openeo/1.2/credentials/basic", auth=(user, USERS[user]))
    resp.raise_for_status()
    return {
        "Authorization": f"Bearer basic//{resp.json()['access_token']}",
        "Content-Type": "application/json",
    }


def _timed_post(url: str, headers: dict, body: bytes) -> tuple[float, int]:
    started = time.perf_counter()
    try:
        status = requests.post(f"{url}/openeo/1.2/result", data=body, headers=headers,
                               timeout=300).status_code  # fmt: skip
    except requests.RequestException:
        status = 0
    return time.perf_counter() - started, status


class _Prober:
    """``GET /openeo/1.2/`` every 50 ms in a thread, recording latencies."""

    def __init__(self, url: str):
        self.url, self.latencies = url, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            with contextlib.suppress(requests.RequestException):
                requests.get(f"{self.url}/openeo/1.2/", timeout=60)
            self.latencies.append(time.perf_counter() - started)
            self._stop.wait(PROBE_SECONDS)

    def __enter__(self) -> _Prober:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _phase(url: str, alice: dict, mallory: dict | None) -> dict:
    bodies = [json.dumps({"process": {"process_graph": g}}).encode() for g in ordinary_graphs()]
    hostile = hostile_bodies() if mallory else []
    with _Prober(url) as prober, ThreadPoolExecutor(ORDINARY + len(hostile)) as pool:
        bad = [pool.submit(_timed_post, url, mallory, b) for b in hostile]
        if hostile:
            time.sleep(0.5)  # the hostile requests are in first
        good = [pool.submit(_timed_post, url, alice, b) for b in bodies]
        results = [f.result() for f in good]
    hostile_statuses = [f.result()[1] for f in bad]
    return {
        "ordinary": [t for t, _ in results],
        "errors": sum(status != 200 for _, status in results),
        "root": prober.latencies,
        "hostile_statuses": hostile_statuses,
    }


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if values else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the data dir")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="bench-isolation-"))
    config = data_dir / "config.toml"
    _config(config)
    port = free_port()
    env = {
        **os.environ,
        "OPENEO_DEDL_CONFIG": str(config),
        "OPENEO_DEDL_DATA_DIR": str(data_dir),
        "OPENEO_DEDL_DEMO_CATALOG_DIR": str(ROOT / "var" / "test-demo-catalog"),
        "OPENEO_DEDL_PORT": str(port),
    }
    log_path = data_dir / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "openeo_dedl.cli", "serve", "--log-level", "warning"],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(f"{url}/.well-known/openeo", proc, log_path, timeout=180)
        alice, mallory = _token(url, "alice"), _token(url, "mallory")
        _phase(url, alice, None)  # warm-up: worker imports, site clusters, caches
        idle = _phase(url, alice, None)
        hostile = _phase(url, alice, mallory)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    print(f"{'':24}{'idle':>10}{'hostile':>10}{'ratio':>8}")
    for name, key in (("ordinary", "ordinary"), ("GET /", "root")):
        for q in (50, 95):
            a, b = _p(idle[key], q), _p(hostile[key], q)
            print(f"{name + f' p{q} (s)':24}{a:10.3f}{b:10.3f}{b / a if a else 0:8.2f}")
    print(f"ordinary errors: idle {idle['errors']}, hostile {hostile['errors']}")
    names = [
        "cpu", "cpu", "power", "60000 nodes", "repeat 1e12", "resample 1e-9", "date_shift 1e12",
        "cpu", "nesting 10000", "5000 digits",
    ]  # fmt: skip
    answers = ", ".join(f"{n} {c}" for n, c in zip(names, hostile["hostile_statuses"], strict=True))
    print(f"hostile answers (status codes): {answers}")
    if not args.keep:
        print(f"(server log: rerun with --keep; data dir {data_dir})")
    if not args.keep:
        import shutil

        shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
