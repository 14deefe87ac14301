"""Real servers for the tests: ``openeo-dedl serve`` / ``worker`` as OS processes, or an app
served by uvicorn in a thread of the test process."""

from __future__ import annotations

import contextlib
import os
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import requests
import uvicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(data_dir: Path, demo_catalog_dir: Path, **overrides: str) -> dict[str, str]:
    """This process's environment with the settings every test server needs."""
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


def start_api(env: dict[str, str], log_path: Path, workers: int | None = None):
    """``openeo-dedl serve`` (``--workers N`` if given) on a free port; (process, base URL)."""
    port = free_port()
    args = [sys.executable, "-m", "openeo_dedl.cli", "serve"]
    if workers is not None:
        args += ["--workers", str(workers)]
    log = open(log_path, "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        args, env={**env, "OPENEO_DEDL_PORT": str(port)}, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_serving(f"{url}/.well-known/openeo", proc, log_path, timeout=90)
    return proc, url


def start_server(data_dir: Path, demo_catalog_dir: Path, **env_overrides: str):
    """Start `openeo-dedl serve` on a free port; return (process, base URL, log path)."""
    log_path = data_dir / "server.log"
    proc, url = start_api(server_env(data_dir, demo_catalog_dir, **env_overrides), log_path)
    return proc, url, log_path


@contextlib.contextmanager
def running_server(data_dir: Path, demo_catalog_dir: Path, **env_overrides: str) -> Iterator[str]:
    """A server for the ``with`` block: its base URL; its log's end printed when it stops."""
    proc, url, log_path = start_server(data_dir, demo_catalog_dir, **env_overrides)
    try:
        yield url
    finally:
        stop_server(proc)
        print(log_path.read_text(errors="replace")[-5000:])


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


def wait_until_serving(url: str, proc: subprocess.Popen, log_path: Path, timeout: float) -> None:
    """Wait until ``url`` answers 200; fail with the process's log if it exits or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited early:\n{log_path.read_text()}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass  # not listening yet, or too busy starting (a loaded machine) to answer in time
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"{proc.args[0]} did not start in time:\n{log_path.read_text()}")


def stop_server(proc: subprocess.Popen, timeout: float = 60) -> None:
    """SIGTERM, then SIGKILL after ``timeout`` seconds."""
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


def worker_processes(server_pid: int) -> list[psutil.Process]:
    """The worker processes of a server's (or worker supervisor's) pool: forked from its
    forkserver (``workers/pool.py``), so children of that child of the server."""
    found = []
    for child in descendants(server_pid):
        try:
            if child.ppid() == server_pid and "forkserver" in " ".join(child.cmdline()):
                found.extend(child.children())
        except psutil.NoSuchProcess:
            continue
    return found


@contextlib.contextmanager
def serving(server: socketserver.BaseServer) -> Iterator[socketserver.BaseServer]:
    """``server`` (an http.server or socketserver server) answering in a thread for the
    ``with`` block; shut down and closed after it."""
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextlib.contextmanager
def app_in_thread(app, prefix: str = "") -> Iterator[str]:
    """``app`` served by uvicorn on 127.0.0.1 in a thread (real sockets): its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}{prefix}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
