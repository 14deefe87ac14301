"""Federation extension v0.2.0 with real Dask Gateways: each site's status in ``GET /``, and
``federation:missing`` in the lists when a site's gateway is down (stopped, or an address
nothing answers at) or refuses the backend's credentials."""

from __future__ import annotations

import pytest
import requests

from tests.gateway.conftest import start_gateway
from tests.gateway.test_gateway_sites import sites_env
from tests.support.servers import free_port, running_server
from tests.support.users import login_url

# The 1.3 extensions, tested where clients that declare them look.
API = "/openeo/1.3"

pytestmark = pytest.mark.e2e


@pytest.fixture
def lumi_gateway(tmp_path_factory):
    """A gateway of this test alone (it stops it), for site lumi."""
    server = start_gateway("lumi", tmp_path_factory.mktemp("gateway-federation"))
    yield server
    server.stop()


def _get(url: str, path: str, **kw) -> dict:
    resp = requests.get(f"{url}{API}{path}", timeout=30, **kw)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_sites_status_and_missing_follow_their_gateways(
    gateways, lumi_gateway, demo_catalog_dir, tmp_path_factory
):
    wrong_password = {**gateways["central"].site_config(), "name": "leonardo"}
    wrong_password["cluster"] = {**wrong_password["cluster"], "password": "wrong"}
    nowhere = {
        "name": "edge",
        "cluster": {"kind": "gateway", "address": f"http://127.0.0.1:{free_port()}"},
    }
    sites = sites_env(
        gateways["central"].site_config(), lumi_gateway.site_config(), wrong_password, nowhere
    )
    with running_server(
        tmp_path_factory.mktemp("federation"),
        demo_catalog_dir,
        OPENEO_DEDL_SITE_CHECK_SECONDS="0",  # every request checks again
        **sites,
    ) as url:
        caps = _get(url, "/")
        assert "https://api.openeo.org/extensions/federation/0.2.0" in caps["conformsTo"]
        fed = caps["federation"]
        assert list(fed) == ["central", "lumi", "leonardo", "edge"]
        assert {k: v["status"] for k, v in fed.items()} == {
            "central": "online", "lumi": "online", "leonardo": "offline", "edge": "offline",
        }  # fmt: skip
        assert fed["central"]["last_successful_check"] == fed["central"]["last_status_check"]
        assert "misconfigured" in fed["leonardo"]["description"]
        assert "down" in fed["edge"]["description"]
        assert "last_successful_check" not in fed["edge"]  # never seen online
        assert {v["url"].rstrip("/") for v in fed.values()} == {f"{url}{API}"}

        collections = _get(url, "/collections")
        assert collections["federation:missing"] == ["leonardo", "edge"]
        for c in collections["collections"]:
            backends = c["federation:backends"]
            assert backends and all(isinstance(b, str) for b in backends), c["id"]
        processes = _get(url, "/processes")
        assert processes["federation:missing"] == ["leonardo", "edge"]
        assert {tuple(p["federation:backends"]) for p in processes["processes"]} == {
            ("central", "lumi", "leonardo", "edge")
        }
        jobs = _get(url, "/jobs", headers=login_url(url))
        assert jobs["federation:missing"] == ["leonardo", "edge"]

        lumi_gateway.stop()
        fed = _get(url, "/")["federation"]
        assert fed["lumi"]["status"] == "offline" and "down" in fed["lumi"]["description"]
        assert fed["lumi"]["last_successful_check"] <= fed["lumi"]["last_status_check"]
        assert fed["central"]["status"] == "online"
        assert _get(url, "/collections")["federation:missing"] == ["lumi", "leonardo", "edge"]
