"""The paper's two use cases end to end: the example scripts (real openEO client) against a real
server on the small demo catalog, their numbers against a direct xarray computation, and what
crossed sites against the size of the raw inputs."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

from examples import graphs
from openeo_dedl.backend import Backend
from openeo_dedl.config import Settings
from tests.use_cases import direct

pytestmark = pytest.mark.e2e

ERA5_RES = 0.1  # degrees


def _regions(catalog_dir, name):
    return json.loads((catalog_dir / name).read_text())


def _values(result: dict, bands) -> np.ndarray:
    """The result's data with the bands in ``bands`` order on the last axis."""
    assert result["dims"][0] == "geometry" and result["dims"][-1] == "bands", result["dims"]
    data = np.array(result["data"], dtype="float64")
    order = [result["coords"]["bands"].index(b) for b in bands]
    return data[..., order]


def _era5_cells(extent: dict) -> int:
    """An upper bound of the ERA5 cells a load of this WGS84 extent reads."""
    nx = math.ceil((extent["east"] - extent["west"]) / ERA5_RES) + 1
    ny = math.ceil((extent["north"] - extent["south"]) / ERA5_RES) + 1
    return nx * ny


def _node_process(graph: dict, node: str) -> str:
    return graph[node]["process_id"]


def test_stored_graphs_are_the_builders_graphs_for_the_small_catalog(demo_catalog_dir):
    built = graphs.catalog_graphs(demo_catalog_dir)
    assert graphs.read_graph(graphs.FLOOD_JSON) == built["flood"]
    assert graphs.read_graph(graphs.DROUGHT_JSON) == built["drought"]


def plan_of(executor, process_graph: dict):
    """The graph that runs and its plan, by the path every run takes (planning/prepare.py)."""
    plan = executor.prepare({"process_graph": process_graph}).valid().plan()
    return plan.graph, plan


@pytest.fixture(scope="module")
def executor(demo_catalog_dir, tmp_path_factory):
    backend = Backend(
        Settings(data_dir=tmp_path_factory.mktemp("plan"), demo_catalog_dir=demo_catalog_dir)
    )
    yield backend.executor
    backend.close()


def test_flood_plan_moves_only_the_precipitation_sum(executor):
    graph, plan = plan_of(executor, graphs.read_graph(graphs.FLOOD_JSON))
    transfers = [(t.node, t.from_site, t.to_site) for t in plan.transfers]
    assert len(transfers) == 1, transfers
    node, src, dst = transfers[0]
    assert (src, dst) == ("lumi", "central")
    assert _node_process(graph.nodes, node) == "reduce_dimension"
    (load,) = graph.producers(node)
    assert graph.arguments(load)["id"] == "ERA5_LAND"
    assert plan.planned_bytes * 10 <= plan.naive_bytes


def test_drought_plan_moves_only_reduced_cubes(executor):
    graph, plan = plan_of(executor, graphs.read_graph(graphs.DROUGHT_JSON))
    assert {(t.from_site, t.to_site) for t in plan.transfers} == {
        ("lumi", "leonardo"),
        ("central", "leonardo"),
    }
    for t in plan.transfers:
        assert _node_process(graph.nodes, t.node) != "load_collection"
    # The S1 stack never leaves leonardo; the plan moves far less than shipping raw inputs.
    assert plan.planned_bytes * 5 <= plan.naive_bytes


def test_flood_numbers_match_direct_computation(flood_run, demo_catalog_dir):
    regions = _regions(demo_catalog_dir, graphs.PAKISTAN_REGIONS)
    got = _values(flood_run.result, graphs.FLOOD_BANDS)
    expected = direct.flood(demo_catalog_dir, regions)
    assert got.shape == expected.shape == (len(regions["features"]), 3)
    assert (expected[:, 0] > 0).all(), "every district has flooded built-up area"
    np.testing.assert_allclose(got[:, 0], expected[:, 0], rtol=1e-6)
    # Precipitation: ERA5 cells sampled at 100 m cell centres; a few centres on a 0.1° cell
    # border may go either way between the resampler and the direct lookup.
    np.testing.assert_allclose(got[:, 1], expected[:, 1], rtol=1e-3)
    np.testing.assert_array_equal(got[:, 2], expected[:, 2])


def test_flood_usage_shows_only_the_reduced_precipitation_crossing(flood_run, demo_catalog_dir):
    usage = flood_run.usage
    transfers = usage["transfers"]
    assert [(t["from_site"], t["to_site"]) for t in transfers] == [("lumi", "central")]
    moved = usage["cross_site_bytes"]["value"]
    assert moved == sum(t["bytes"] for t in transfers) > 0
    extent = graphs.use_case_extents(graphs.catalog_describe(demo_catalog_dir))["flood"]
    days = direct.stack(
        demo_catalog_dir, "ERA5_LAND", "total_precipitation", *direct.FLOOD_WINDOW, "pakistan"
    ).sizes["t"]
    assert days > 1
    # At most one float32 map of the ERA5 cells: the time series never left lumi.
    assert moved <= 4 * _era5_cells(extent["ERA5_LAND"])


def test_flood_outputs(flood_run):
    for name in ("flood_map.png", "flood_chart.png"):
        png = flood_run.out / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    rows = list(csv.DictReader((flood_run.out / "districts.csv").read_text().splitlines()))
    assert len(rows) == 6 and all(float(r["mean_precipitation_mm"]) > 0 for r in rows)


def test_drought_numbers_match_direct_computation(drought_run, demo_catalog_dir):
    regions = _regions(demo_catalog_dir, graphs.PO_VALLEY_REGIONS)
    result = drought_run.result
    assert result["dims"] == ["geometry", "t", "bands"]
    assert result["coords"]["t"] == [f"2022-{m:02d}-01" for m in range(1, 13)]
    got = _values(result, graphs.DROUGHT_BANDS)
    expected = direct.drought(demo_catalog_dir, regions)
    assert got.shape == expected.shape == (len(regions["features"]), 12, 2)
    assert np.isfinite(expected).all()
    np.testing.assert_allclose(got[..., 0], expected[..., 0], rtol=1e-4, atol=1e-3)
    # ERA5 at 0.1° sampled at 500 m cell centres: cells on a border may go either way.
    np.testing.assert_allclose(got[..., 1], expected[..., 1], atol=1.0)
    # The 2022 summer drought: both products far below normal in July in every province.
    july = 6
    assert (got[:, july, :] < -20).all(), got[:, july, :]


def test_drought_usage_shows_only_reduced_data_crossing(drought_run, demo_catalog_dir):
    usage = drought_run.usage
    transfers = {(t["from_site"], t["to_site"]): t["bytes"] for t in usage["transfers"]}
    assert set(transfers) == {("lumi", "leonardo"), ("central", "leonardo")}
    extent = graphs.use_case_extents(graphs.catalog_describe(demo_catalog_dir))["drought"]
    # ERA5: at most the 12 monthly anomaly maps (float64) of the cells read, not the series.
    assert transfers[("lumi", "leonardo")] <= 12 * 8 * _era5_cells(extent["ERA5_LAND"])
    # CORINE: the agricultural mask on S1's 500 m grid, not the 100 m land cover.
    s1_cells = direct.stack(demo_catalog_dir, "S1_SSM", "ssm", "2022-01-01", "2022-02-01")
    s1_pixels = s1_cells.sizes["y"] * s1_cells.sizes["x"]
    land_cover = direct.single(demo_catalog_dir, "CORINE_LAND_COVER", "land_cover")
    assert transfers[("central", "leonardo")] <= 8 * s1_pixels * 1.1
    assert transfers[("central", "leonardo")] * 5 <= land_cover.size * land_cover.dtype.itemsize


def test_drought_outputs(drought_run):
    for name in ("drought_map.png", "drought_chart.png"):
        png = drought_run.out / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    rows = list(csv.DictReader((drought_run.out / "provinces.csv").read_text().splitlines()))
    assert len(rows) == 6 * 12
