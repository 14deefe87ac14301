"""Shared clusters belong to one user at one site; per-job clusters live for one run."""

from __future__ import annotations

import time

import pytest

from openeo_dedl.config import Settings
from openeo_dedl.execution.clusters import SiteClusters


def _settings(tmp_path, **overrides) -> Settings:
    sites = [
        {"name": name, "cluster": {"kind": "local", "workers": 1}} for name in ("central", "lumi")
    ]
    return Settings(data_dir=tmp_path, sites=sites, **overrides)


def _worker_addresses(client) -> set[str]:
    return set(client.scheduler_info()["workers"])


def test_shared_clusters_are_per_user_and_site_and_reused(tmp_path):
    clusters = SiteClusters(_settings(tmp_path))
    try:
        with clusters.for_run("alice") as run:
            alice_lumi = run.client("lumi")
            assert run.client("lumi") is alice_lumi  # one client per site within a run
            alice_workers = _worker_addresses(alice_lumi)
        with clusters.for_run("bob") as run:
            bob_lumi = run.client("lumi")
            # Bob's work never lands on Alice's workers.
            assert _worker_addresses(bob_lumi).isdisjoint(alice_workers)
        with clusters.for_run("alice") as run:
            assert run.client("lumi") is alice_lumi  # reused until idle
        assert clusters.active() == [("alice", "lumi"), ("bob", "lumi")]
    finally:
        clusters.close()
    assert clusters.active() == []


def test_idle_shared_clusters_are_shut_down(tmp_path):
    clusters = SiteClusters(_settings(tmp_path, cluster_idle_timeout_seconds=0.2))
    try:
        with clusters.for_run("alice") as run:
            client = run.client("central")
        # The reaper drops the cluster from the pool, then closes it: wait for both.
        deadline = time.monotonic() + 10
        while (clusters.active() or client.status != "closed") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert clusters.active() == []
        assert client.status == "closed"
    finally:
        clusters.close()


def test_per_job_clusters_close_when_the_run_fails(tmp_path):
    clusters = SiteClusters(_settings(tmp_path, cluster_policy="per_job"))
    with pytest.raises(RuntimeError), clusters.for_run("alice") as run:
        client = run.client("central")
        raise RuntimeError("the run failed")
    assert client.status == "closed"
    assert clusters.active() == []


def test_threads_only_local_clusters_start(tmp_path):
    sites = [{"name": "central", "cluster": {"kind": "local", "workers": 1, "processes": False}}]
    clusters = SiteClusters(Settings(data_dir=tmp_path, sites=sites))
    try:
        with clusters.for_run() as run:
            assert run.client("central").submit(sum, [1, 2]).result() == 3
    finally:
        clusters.close()


def _worker_trim_threshold(tmp_path, **cluster) -> set:
    sites = [{"name": "central", "cluster": {"kind": "local", "workers": 1, **cluster}}]
    clusters = SiteClusters(Settings(data_dir=tmp_path, sites=sites))
    try:
        with clusters.for_run() as run:
            found = run.client("central").run(
                lambda: __import__("os").environ.get("MALLOC_TRIM_THRESHOLD_")
            )
            return set(found.values())
    finally:
        clusters.close()


def test_local_worker_processes_keep_glibcs_adaptive_malloc_unless_asked(tmp_path):
    # distributed's MALLOC_TRIM_THRESHOLD_ makes raster reads slower (docs/performance.md).
    assert _worker_trim_threshold(tmp_path / "a") == {None}
    assert _worker_trim_threshold(tmp_path / "b", trim_memory=True) == {"65536"}


def _dask_workers(client) -> int:
    return len(client.scheduler_info(n_workers=-1)["workers"])


def _wait_for_dask_workers(client, count: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while _dask_workers(client) != count:
        assert time.monotonic() < deadline, (_dask_workers(client), count)
        time.sleep(0.1)


def test_a_shared_cluster_has_the_largest_size_its_running_runs_asked(tmp_path):
    # A user's two runs at once (batch jobs) asking different sizes: neither shrinks the
    # cluster under the other, and the size ends with the runs (configured: 1 worker).
    sites = [{"name": "central", "cluster": {"kind": "local", "workers": 1, "processes": False}}]
    clusters = SiteClusters(Settings(data_dir=tmp_path, sites=sites))
    try:
        with clusters.for_run("alice", {"central": 3}) as big:
            client = big.client("central")
            assert _dask_workers(client) == 3 and big.workers == {"central": 3}
            with clusters.for_run("alice", {"central": 2}) as small:
                assert small.client("central") is client
                assert _dask_workers(client) == 3 and small.workers == {"central": 3}
            # The smaller run ended: the bigger one keeps its size.
            assert _dask_workers(client) == 3
            with clusters.for_run("bob", {"central": 2}) as other:
                # Another user's cluster is their own, at their size.
                assert _dask_workers(other.client("central")) == 2
        # No run asks any more: back to the configured size for the next run.
        _wait_for_dask_workers(client, 1)
        with clusters.for_run("alice") as plain:
            assert _dask_workers(plain.client("central")) == 1
    finally:
        clusters.close()
