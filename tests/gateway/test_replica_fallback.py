"""A site whose gateway is down: work on a replicated collection goes to a replica site."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import openeo
import pytest
import xarray as xr

from tests.e2e import scenarios
from tests.gateway.test_gateway_sites import sites_env
from tests.support.servers import free_port, start_server, stop_server

pytestmark = pytest.mark.e2e

BBOX = {"west": 67.0, "south": 26.0, "east": 68.0, "north": 27.0}
WINDOW = ("2022-08-20", "2022-08-25")
FIELD = "federation:backends"


def catalog_with_replicas(src: Path, dst: Path, collection: str, sites: list[str]) -> Path:
    """A copy of the demo catalog (data files linked) where ``collection`` is held at ``sites``."""
    for path in src.rglob("*"):
        target = dst / path.relative_to(src)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix != ".json":
            target.symlink_to(path)
            continue
        doc = json.loads(path.read_text())
        if doc.get("type") == "Collection" and doc.get("id") == collection:
            doc["summaries"][FIELD] = sites
        elif doc.get("type") == "Feature" and doc.get("collection") == collection:
            doc["properties"][FIELD] = sites
        target.write_text(json.dumps(doc))
    return dst


def dead_gateway(site: str) -> dict:
    address = f"http://127.0.0.1:{free_port()}"
    return {"name": site, "cluster": {"kind": "gateway", "address": address, "auth": "none"}}


def era5_mean(con):
    return con.load_collection(
        "ERA5_LAND",
        spatial_extent=BBOX,
        temporal_extent=list(WINDOW),
        bands=["total_precipitation"],
    ).reduce_dimension(dimension="t", reducer="mean")


def test_work_moves_to_a_replica_when_a_site_is_down(demo_catalog_dir, tmp_path_factory, tmp_path):
    catalog = catalog_with_replicas(
        demo_catalog_dir, tmp_path_factory.mktemp("replicas"), "ERA5_LAND", ["lumi", "leonardo"]
    )
    proc, url, log = start_server(
        tmp_path_factory.mktemp("replica-server"), catalog, **sites_env(dead_gateway("lumi"))
    )
    try:
        con = openeo.connect(url).authenticate_basic("demo", "demo")
        # While lumi is up, the plan reads the replica at lumi (its first site).
        validation = con.post("/validation", json={"process_graph": era5_mean(con).flat_graph()})
        plan = validation.json()["openeo-dedl:plan"]
        assert {p["site"] for p in plan["partitions"]} == {"lumi"}

        out = tmp_path / "mean.nc"
        response = con.post(
            "/result",
            json={"process": {"process_graph": era5_mean(con).save_result("netCDF").flat_graph()}},
            expected_status=200,
        )
        out.write_bytes(response.content)
        usage = json.loads(response.headers["OpenEO-DEDL-Usage"])
        assert {p["site"] for p in usage["partitions"]} == {"leonardo"}, usage

        got = xr.open_dataset(out)["total_precipitation"].squeeze(drop=True)
        expected = scenarios.era5_precipitation(demo_catalog_dir, BBOX, *WINDOW).mean("t")
        expected = expected.sel(x=got.x, y=got.y, method="nearest", tolerance=1e-6)
        np.testing.assert_allclose(got.values, expected.values, rtol=1e-5, equal_nan=True)
        assert "Planning again without site lumi" in log.read_text()
    finally:
        stop_server(proc)
