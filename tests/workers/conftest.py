"""Servers and worker processes as separate OS processes, for the isolation tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import requests

from tests.e2e.conftest import free_port, wait_until_serving

API = "/openeo/1.2"


def base_env(data_dir: Path, demo_catalog_dir: Path, **overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "OPENEO_DEDL_DATA_DIR": str(data_dir),
            "OPENEO_DEDL_DEMO_CATALOG_DIR": str(demo_catalog_dir),
            "OPENEO_DEDL_HOST": "127.0.0.1",
        }
    )
    env.update(overrides)
    return env


def start_api(env: dict[str, str], log_path: Path, workers: int = 0):
    """``openeo-dedl serve --workers N`` on a free port; (process, base URL)."""
    port = free_port()
    log = open(log_path, "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "openeo_dedl.cli", "serve", "--workers", str(workers)],
        env={**env, "OPENEO_DEDL_PORT": str(port)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_serving(f"{url}/.well-known/openeo", proc, log_path, timeout=90)
    return proc, url


def start_worker(env: dict[str, str], log_path: Path, processes: int = 1) -> subprocess.Popen:
    """``openeo-dedl worker``; returns once its worker processes are ready to take work."""
    log = open(log_path, "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "openeo_dedl.cli", "worker", "--processes", str(processes)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 90
    while "supervisor" not in log_path.read_text(errors="replace"):
        assert proc.poll() is None, log_path.read_text()
        assert time.monotonic() < deadline, log_path.read_text()
        time.sleep(0.2)
    return proc


def stop(proc: subprocess.Popen, timeout: float = 60) -> None:
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def login(url: str, user: str = "demo", password: str = "demo") -> dict[str, str]:
    resp = requests.get(f"{url}{API}/credentials/basic", auth=(user, password), timeout=10)
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer basic//{resp.json()['access_token']}"}


def cpu_bound_graph(factor: int, repeat: int = 3000) -> dict:
    """Plain-value work in the worker's interpreter (a callback per element), about a
    second per 3000 elements here; its value is ``factor * repeat``."""
    return {
        "c": {"process_id": "array_create", "arguments": {"data": [1], "repeat": repeat}},
        "a": {
            "process_id": "array_apply",
            "arguments": {
                "data": {"from_node": "c"},
                "process": {
                    "process_graph": {
                        "m": {
                            "process_id": "multiply",
                            "arguments": {"x": {"from_parameter": "x"}, "y": factor},
                            "result": True,
                        }
                    }
                },
            },
        },
        "s": {"process_id": "sum", "arguments": {"data": {"from_node": "a"}}, "result": True},
    }
