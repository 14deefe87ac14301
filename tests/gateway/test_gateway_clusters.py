"""The backend's clusters at real Dask Gateways, in-process: stale clusters, wrong settings,
half-started clusters, timeouts."""

from __future__ import annotations

import gc
import socket
import sys
import time

import pytest

from openeo_dedl.config import Settings
from openeo_dedl.errors import SiteMisconfigured, SiteUnavailable
from openeo_dedl.execution.clusters import GatewaySiteCluster, SiteClusters
from tests.gateway.test_gateway_sites import active_clusters, wait_for
from tests.support.servers import free_port

pytestmark = pytest.mark.e2e


def _settings(tmp_path, site_config: dict, **overrides) -> Settings:
    return Settings(data_dir=tmp_path, sites=[site_config], default_site="lumi", **overrides)


def _site_cluster(tmp_path, site_config: dict) -> GatewaySiteCluster:
    settings = _settings(tmp_path, site_config)
    site = settings.site(site_config["name"])
    return GatewaySiteCluster(site, site.cluster)


@pytest.fixture
def lumi(gateways):
    server = gateways["lumi"]
    assert wait_for(lambda: not active_clusters(server)), "a cluster of another test is left"
    yield server
    assert wait_for(lambda: not active_clusters(server)), "cluster leaked"


def _stop_all(server) -> list[str]:
    gateway = server.gateway()
    try:
        names = [c.name for c in gateway.list_clusters()]
        for name in names:
            gateway.stop_cluster(name)
        return names
    finally:
        gateway.close()


def test_a_shared_cluster_stopped_at_the_gateway_is_replaced(lumi, tmp_path):
    clusters = SiteClusters(_settings(tmp_path, lumi.site_config()))
    try:
        with clusters.for_run("alice") as run:
            assert run.client("lumi").submit(sum, [1, 2]).result(timeout=60) == 3
        # The gateway ends the cluster on its own (its idle timeout, a restart).
        assert len(_stop_all(lumi)) == 1
        assert wait_for(lambda: not active_clusters(lumi))
        with clusters.for_run("alice") as run:
            assert run.client("lumi").submit(sum, [3, 4]).result(timeout=60) == 7
        assert len(active_clusters(lumi)) == 1
    finally:
        clusters.close()


def test_a_shared_cluster_lost_during_a_run_is_dropped(lumi, tmp_path):
    config = lumi.site_config()
    # The client tries to reconnect to the lost scheduler for connect_timeout_seconds, then
    # closes and cancels what is pending (the submit below): 10 s, not the default 120 s, for
    # which the submit's own 60 s timeout would be waited out instead.
    config["cluster"]["connect_timeout_seconds"] = 10
    clusters = SiteClusters(_settings(tmp_path, config))
    try:
        with pytest.raises(Exception), clusters.for_run("alice") as run:  # noqa: B017, PT011
            client = run.client("lumi")
            assert client.submit(sum, [1, 2]).result(timeout=60) == 3
            _stop_all(lumi)
            assert wait_for(lambda: client.status != "running", timeout=30)
            client.submit(time.sleep, 1).result(timeout=60)
        # The lost cluster is not kept for the user's next run.
        assert clusters.active() == []
    finally:
        clusters.close()


def test_a_wrong_password_is_a_configuration_error_naming_the_site(lumi, tmp_path):
    config = lumi.site_config()
    config["cluster"]["password"] = "wrong"
    cluster = _site_cluster(tmp_path, config)
    try:
        with pytest.raises(SiteMisconfigured) as info:
            cluster.client()
    finally:
        cluster.close()
    assert not isinstance(info.value, SiteUnavailable)  # no outage: no move to a replica
    assert info.value.site == "lumi"
    assert "lumi" in info.value.message and "401" in info.value.message
    assert info.value.to_dict()["code"] == "SiteMisconfigured"


def test_unknown_cluster_options_are_a_configuration_error(lumi, tmp_path):
    config = lumi.site_config()
    config["cluster"]["cluster_options"] = {"worker_gpus": 1}
    cluster = _site_cluster(tmp_path, config)
    try:
        with pytest.raises(SiteMisconfigured, match="lumi.*cluster_options.*worker_gpus"):
            cluster.client()
    finally:
        cluster.close()


def test_a_cluster_whose_scheduler_cannot_be_reached_is_shut_down_in_time(lumi, tmp_path):
    # The gateway starts the cluster, but its proxy address is wrong: the client cannot connect.
    config = lumi.site_config()
    config["cluster"]["proxy_address"] = f"tcp://127.0.0.1:{free_port()}"
    config["cluster"]["connect_timeout_seconds"] = 5
    cluster = _site_cluster(tmp_path, config)
    started = time.monotonic()
    try:
        with pytest.raises(SiteUnavailable, match="lumi") as info:
            cluster.client()
    finally:
        cluster.close()
    assert time.monotonic() - started < 15, info.value.message
    # The half-started cluster does not stay at the gateway (the fixture checks it is gone).


@pytest.mark.serial  # bounds wall-clock time: runs alone, after the others
def test_a_gateway_that_never_answers_fails_within_the_connect_timeout(tmp_path):
    # Accepts TCP connections (the kernel does) but never answers a request.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        config = {
            "name": "lumi",
            "cluster": {
                "kind": "gateway",
                "address": f"http://127.0.0.1:{port}",
                "connect_timeout_seconds": 2,
            },
        }
        cluster = _site_cluster(tmp_path, config)
        started = time.monotonic()
        with pytest.raises(SiteUnavailable, match="lumi.*within 2 s"):
            cluster.client()
        assert time.monotonic() - started < 6
        cluster.close()


def test_closing_leaves_no_gateway_client_to_the_garbage_collector(lumi, tmp_path, monkeypatch):
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    cluster = _site_cluster(tmp_path, lumi.site_config())
    cluster.client().submit(sum, [1, 2]).result(timeout=60)
    cluster.close()
    del cluster
    gc.collect()
    assert [u.object for u in unraisable] == []
