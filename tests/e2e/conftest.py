"""A real openeo-dedl server (uvicorn in a subprocess) for end-to-end tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data_dir: Path, demo_catalog_dir: Path, **env_overrides: str):
    """Start `openeo-dedl serve` on a free port; return (process, base URL, log path)."""
    port = free_port()
    env = dict(os.environ)
    env.update(
        {
            "OPENEO_DEDL_DATA_DIR": str(data_dir),
            "OPENEO_DEDL_DEMO_CATALOG_DIR": str(demo_catalog_dir),
            "OPENEO_DEDL_PORT": str(port),
            "OPENEO_DEDL_HOST": "127.0.0.1",
        }
    )
    env.update(env_overrides)
    log_path = data_dir / "server.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "openeo_dedl.cli", "serve"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_serving(f"{url}/.well-known/openeo", proc, log_path, timeout=90)
    return proc, url, log_path


def wait_until_serving(url: str, proc: subprocess.Popen, log_path: Path, timeout: float) -> None:
    """Wait until ``url`` answers 200; fail with the process's log if it exits or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited early:\n{log_path.read_text()}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"{proc.args[0]} did not start in time:\n{log_path.read_text()}")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def server(tmp_path_factory, demo_catalog_dir):
    """Base URL of a running server on the embedded default with the small demo catalog."""
    data_dir = tmp_path_factory.mktemp("server")
    proc, url, log_path = start_server(data_dir, demo_catalog_dir)
    yield url
    stop_server(proc)
    print(log_path.read_text()[-5000:])


@pytest.fixture(scope="session")
def connection(server):
    import openeo

    return openeo.connect(server).authenticate_basic("demo", "demo")
