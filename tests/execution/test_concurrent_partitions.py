"""Partitions that do not depend on each other run at the same time on their sites."""

from __future__ import annotations

import json
import threading
import time

import pytest

from openeo_dedl.backend import Backend
from openeo_dedl.config import Settings
from openeo_dedl.errors import SiteUnavailable
from openeo_dedl.execution.clusters import base as clusters_module  # new_site_cluster is there
from openeo_dedl.execution.control import RunControl
from openeo_dedl.execution.runner import dependency_levels
from openeo_dedl.planning import plan_process_graph

PO = {"west": 9.5, "south": 44.9, "east": 10.5, "north": 45.3}


def mean(node: str, process_id: str, **arguments) -> dict:
    return {
        "process_id": process_id,
        "arguments": {
            "data": {"from_node": node},
            **arguments,
            "reducer": {
                "process_graph": {
                    "m": {
                        "process_id": "mean",
                        "arguments": {"data": {"from_parameter": "data"}},
                        "result": True,
                    }
                }
            },
        },
    }


def scalar_mean(name: str, collection: str, band: str, window: list[str] | None) -> dict:
    """Nodes reducing one band of a collection over the Po valley box to a single number."""
    return {
        f"{name}_load": {
            "process_id": "load_collection",
            "arguments": {
                "id": collection,
                "spatial_extent": PO,
                "temporal_extent": window,
                "bands": [band],
            },
        },
        f"{name}_t": mean(f"{name}_load", "reduce_dimension", dimension="t"),
        f"{name}_b": mean(f"{name}_t", "reduce_dimension", dimension="bands"),
        name: mean(f"{name}_b", "reduce_spatial"),
    }


def graph() -> dict:
    """Means at lumi and leonardo, each combined with a central mean at central."""
    summer = ["2022-06-01", "2022-09-01"]
    return {
        **scalar_mean("era5", "ERA5_LAND", "soil_moisture", summer),
        **scalar_mean("ssm", "S1_SSM", "ssm", summer),
        **scalar_mean("land", "CORINE_LAND_COVER", "land_cover", None),
        "ssm_land": {
            "process_id": "multiply",
            "arguments": {"x": {"from_node": "ssm"}, "y": {"from_node": "land"}},
        },
        "combined": {
            "process_id": "multiply",
            "arguments": {"x": {"from_node": "era5"}, "y": {"from_node": "ssm_land"}},
        },
        "save": {
            "process_id": "save_result",
            "arguments": {"data": {"from_node": "combined"}, "format": "JSON"},
            "result": True,
        },
    }


def test_independent_site_partitions_overlap_in_time(tmp_path, demo_catalog_dir):
    pg = graph()
    sites = {"ERA5_LAND": ["lumi"], "S1_SSM": ["leonardo"], "CORINE_LAND_COVER": ["central"]}
    levels = dependency_levels(plan_process_graph(pg, sites, "central"))
    assert sorted(p.site for p in levels[0]) == ["leonardo", "lumi"]

    backend = Backend(Settings(data_dir=tmp_path, demo_catalog_dir=demo_catalog_dir))
    try:
        result = backend.run_sync({"process_graph": pg}, tmp_path / "out")
    finally:
        backend.close()
    assert json.loads(result.path.read_text()) > 0
    runs = {p.site: p for p in result.usage.partitions}
    lumi, leonardo = runs["lumi"], runs["leonardo"]
    # Each starts a cluster (seconds): run one after the other they could not overlap.
    assert lumi.started < leonardo.ended and leonardo.started < lumi.ended


# Ends the long task once the test is done with it. A threads-only worker cannot interrupt a
# task it runs (canceling forgets its result; the thread runs on), and closing the cluster
# waits for it: 30 s of a plain time.sleep(60) would be left after the checks.
_LONG_TASK_DONE = threading.Event()


def _long_task() -> None:
    _LONG_TASK_DONE.wait(60)


class _SlowClient:
    """A real client whose computations take a long time (a partition that runs long)."""

    def __init__(self, client, submitted: threading.Event):
        self._client, self._submitted = client, submitted
        self.futures: list = []

    def compute(self, value):
        future = self._client.submit(_long_task, pure=False)
        self.futures.append(future)
        self._submitted.set()
        return future

    def __getattr__(self, name):
        return getattr(self._client, name)


def test_a_site_that_is_down_fails_the_run_at_once_and_stops_the_other_partitions(
    tmp_path, demo_catalog_dir, monkeypatch
):
    from distributed import Client, LocalCluster

    _LONG_TASK_DONE.clear()
    cluster = LocalCluster(n_workers=1, processes=False, dashboard_address=None)
    real = Client(cluster, set_as_default=False)
    submitted = threading.Event()
    slow = _SlowClient(real, submitted)

    class FakeSiteCluster:
        def __init__(self, site, config):
            self.site = site.name

        def resize(self, workers):
            pass

        def client(self):
            if self.site == "leonardo":
                # Down, noticed once lumi's long computation runs.
                assert submitted.wait(60)
                raise SiteUnavailable("Site 'leonardo' is unavailable (test).", site="leonardo")
            return slow

        def alive(self):
            return True

        def close(self):
            pass

    monkeypatch.setattr(clusters_module, "LocalSiteCluster", FakeSiteCluster)
    backend = Backend(Settings(data_dir=tmp_path, demo_catalog_dir=demo_catalog_dir))
    try:
        started = time.monotonic()
        with pytest.raises(SiteUnavailable) as info:
            backend.run_sync({"process_graph": graph()}, tmp_path / "out")
        # S1_SSM is only at leonardo: no replica, the run fails naming the site, at once.
        assert info.value.site == "leonardo"
        assert time.monotonic() - started < 30
        # lumi's computation was canceled on its cluster, not left running for a minute.
        assert slow.futures
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(f.status != "cancelled" for f in slow.futures):
            time.sleep(0.1)
        assert [f.status for f in slow.futures] == ["cancelled"] * len(slow.futures)
    finally:
        _LONG_TASK_DONE.set()
        backend.close()
        real.close()
        cluster.close()


def test_a_scope_is_canceled_with_its_control_but_not_the_other_way_round():
    control = RunControl()
    first, second = control.scope(), control.scope()
    first.cancel()
    assert first.canceled and not control.canceled and not second.canceled
    control.cancel()
    assert second.canceled
    assert control.scope().canceled
