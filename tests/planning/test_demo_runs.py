"""Running plans on the demo data: a partitioned plan gives what the whole graph gives in one place.

Random graphs combine collections of one region held at different sites (Pakistan: GFM_FLOOD and
GHSL_BUILT_S at central, ERA5_LAND at lumi; Po valley: S1_SSM at leonardo, CORINE_LAND_COVER at
central, ERA5_LAND at lumi). Each graph runs twice through the real runner and processes: as
planned (partitions at their sites, values handed over between sites) and as a single partition
set at one site. Dask runs synchronously here; the site clusters are not what is tested.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, Phase, event, given, note, settings
from hypothesis import strategies as st

from openeo_dedl.backend import Backend
from openeo_dedl.config import Settings
from openeo_dedl.execution import registry as process_registry
from openeo_dedl.execution.load import make_load_collection
from openeo_dedl.execution.runner import run_plan
from openeo_dedl.execution.save import SaveRequest, save_result
from openeo_dedl.planning import MERGE_PROCESS, plan_single_site
from tests.planning.graphs import HypothesisChooser, apply_callback, callback
from tests.planning.test_properties import check_plan


class NoClusters:
    """Every site computes in this process (synchronous dask): results, not clusters, matter."""

    def client(self, site: str):
        return None


def plan_of(executor, process_graph: dict):
    """The graph that runs and its plan, by the path every run takes (planning/prepare.py)."""
    plan = executor.prepare({"process_graph": process_graph}).valid().plan()
    return plan.graph, plan


def registry_factory(catalog, stac_sources=None):
    ours = {
        "load_collection": make_load_collection(catalog, None, (), stac_sources),
        "save_result": save_result,
    }
    return lambda: process_registry.build_registry(ours)


def run(executor, plan) -> xr.DataArray:
    value, report = run_plan(plan, plan.graph, NoClusters(), registry_factory(executor.catalog))
    if isinstance(value, SaveRequest):
        value = value.data
    return value, report


def run_prepared(backend, prepared):
    """The plan of ``prepared`` and the value it computes, its load_stac sources bound (as
    the executor binds them)."""
    plan = prepared.plan()
    value, _ = run_plan(
        plan, plan.graph, NoClusters(), registry_factory(backend.catalog, prepared.stac_sources)
    )
    return plan, value


@pytest.fixture(scope="module")
def executor(demo_catalog_dir, tmp_path_factory):
    backend = Backend(
        Settings(data_dir=tmp_path_factory.mktemp("data"), demo_catalog_dir=demo_catalog_dir)
    )
    yield backend.executor
    backend.close()


def assert_same(a, b) -> None:
    assert isinstance(a, xr.DataArray) and isinstance(b, xr.DataArray)
    assert a.dims == b.dims and a.shape == b.shape
    for dim in a.dims:
        if dim in a.coords and dim in b.coords:
            assert np.array_equal(a[dim].values, b[dim].values), dim
    np.testing.assert_allclose(
        np.asarray(a.values, dtype=float),
        np.asarray(b.values, dtype=float),
        rtol=1e-5,
        equal_nan=True,
    )


# -- random graphs on the demo data ---------------------------------------------------------------

# Holds 2 x 2 ERA5 pixel centres (67.95/68.05 E, 26.95/27.05 N): a load selects the pixels
# whose centre is in the box, and a smaller box inside one 0.1° pixel would select none.
PAKISTAN = {"west": 67.94, "south": 26.94, "east": 68.06, "north": 27.06}
PO_VALLEY = {"west": 9.8, "south": 44.9, "east": 10.2, "north": 45.1}
REGIONS = {
    "pakistan": (
        PAKISTAN,
        {
            "GFM_FLOOD": (["2022-08-11", "2022-09-17"], ["flood_extent", "reference_water"]),
            "GHSL_BUILT_S": (["2020-01-01", "2020-01-02"], ["built_surface"]),
            "ERA5_LAND": (["2022-08-20", "2022-09-01"], ["total_precipitation", "soil_moisture"]),
        },
    ),
    "po_valley": (
        PO_VALLEY,
        {
            "S1_SSM": (["2022-06-01", "2022-08-01"], ["ssm"]),
            "CORINE_LAND_COVER": (None, ["land_cover"]),
            "ERA5_LAND": (["2022-03-01", "2022-08-01"], ["total_precipitation", "soil_moisture"]),
        },
    ),
}


class DemoGraph:
    def __init__(self, pick):
        self.pick, self.nodes = pick, {}

    def add(self, process_id: str, **arguments) -> str:
        node_id = f"n{len(self.nodes)}"
        self.nodes[node_id] = {"process_id": process_id, "arguments": arguments}
        return node_id

    def branch(self, extent: dict, collection: str, interval, bands: list[str]) -> str:
        """A load, some per-pixel work, a reduction over time and over bands: a 2-D cube."""
        pick = self.pick
        if len(bands) > 1 and pick.integer(0, 1):
            bands = bands[: pick.integer(1, len(bands))]
        node = self.add(
            "load_collection",
            id=collection,
            spatial_extent=extent,
            temporal_extent=interval,
            bands=bands,
        )
        for _ in range(pick.integer(0, 2)):
            op = pick.choice(["apply", "filter_bands"] if len(bands) > 1 else ["apply"])
            if op == "apply":
                node = self.add(
                    "apply",
                    data={"from_node": node},
                    process=apply_callback(pick.choice(["absolute", "multiply"])),
                )
            else:
                bands = bands[:1]
                node = self.add("filter_bands", data={"from_node": node}, bands=bands)
        order = pick.choice([("t", "bands"), ("bands", "t")])
        for dim in order:
            fn = pick.choice(["mean", "max", "min", "sum"] if dim == "t" else ["mean", "max"])
            node = self.add(
                "reduce_dimension", data={"from_node": node}, dimension=dim, reducer=callback(fn)
            )
        return node

    def combine(self, a: str, b: str) -> str:
        """``a`` on ``b``'s grid, then masked by or merged with ``b``."""
        on_b = self.add(
            "resample_cube_spatial",
            data={"from_node": a},
            target={"from_node": b},
            method="near",
        )
        if self.pick.integer(0, 1):
            # A mask that keeps the values where b has some: a mask of positive (or negative)
            # values would often leave nothing (precipitation sums are positive, differences of
            # merged cubes negative), and all-NaN results compare equal whatever the plan did.
            test = {"process_id": "is_nan", "arguments": {"x": {"from_parameter": "x"}}}
            keep = {"process_graph": {"r": {**test, "result": True}}}
            mask = self.add("apply", data={"from_node": b}, process=keep)
            return self.add("mask", data={"from_node": on_b}, mask={"from_node": mask})
        resolver = {
            "process_graph": {
                "r": {
                    "process_id": self.pick.choice(["add", "subtract"]),
                    "arguments": {"x": {"from_parameter": "x"}, "y": {"from_parameter": "y"}},
                    "result": True,
                }
            }
        }
        return self.add(
            "merge_cubes",
            cube1={"from_node": on_b},
            cube2={"from_node": b},
            overlap_resolver=resolver,
        )


def demo_graph(pick) -> dict:
    extent, collections = REGIONS[pick.choice(sorted(REGIONS))]
    # ERA5_LAND (lumi) and one or two collections of the region held elsewhere.
    others = [c for c in sorted(collections) if c != "ERA5_LAND"]
    chosen = ["ERA5_LAND", pick.choice(others)]
    if pick.integer(0, 1):
        chosen.append(next(c for c in others if c not in chosen))
    if pick.integer(0, 1):
        chosen.reverse()
    builder = DemoGraph(pick)
    result = builder.branch(extent, chosen[0], *collections[chosen[0]])
    coarse = chosen[0] == "ERA5_LAND"  # the result is still on ERA5's 0.1° grid
    for cid in chosen[1:]:
        other = builder.branch(extent, cid, *collections[cid])
        if coarse or cid == "ERA5_LAND":
            # ERA5 onto the finer grid: the other way round, the 0.1° cells' centres mostly
            # fall outside the small extent of the finer data and the result is all NaN.
            first, second = (result, other) if coarse else (other, result)
        else:
            first, second = (result, other) if pick.integer(0, 1) else (other, result)
        result = builder.combine(first, second)
        coarse = False
    builder.nodes[result]["result"] = True
    return builder.nodes


def finite_share(value: xr.DataArray) -> float:
    values = np.asarray(value.values, dtype=float)
    return float(np.isfinite(values).mean()) if values.size else 0.0


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    # Each example loads and computes real data: shrinking a failure would take many minutes,
    # so the failing graph is printed instead (note below).
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(st.data())
def test_partitioned_plan_gives_the_same_result_as_one_site(executor, split_executors, data):
    """On the demo catalog and on a copy where ERA5_LAND's Pakistan items live at two sites by
    time (loads of them split per site). (The copy by area puts the Po valley's ERA5_LAND at
    leonardo, with S1_SSM: too often a single site for these graphs; its splits have their own
    runs below.)"""
    pick = HypothesisChooser(data)
    catalog = pick.choice(["demo", "time", "time"])
    ex = executor if catalog == "demo" else split_executors[catalog]
    graph_json = demo_graph(pick)
    note(f"catalog {catalog}: {json.dumps(graph_json)}")
    graph, plan = plan_of(ex, graph_json)
    event(f"catalog {catalog}, {'split' if plan.splits else 'no split'}")
    check_plan(plan)
    assert len({p.site for p in plan.partitions}) >= 2, "the sample must cross sites"
    partitioned, report = run(ex, plan)
    whole, _ = run(ex, plan_single_site(graph, "central"))
    assert_same(partitioned, whole)
    # Equal all-NaN results would prove nothing.
    share = finite_share(partitioned)
    event(f"finite share >= {int(share * 10) / 10}")
    assert share >= 0.75, share
    # What crossed sites is what the plan said would cross.
    planned = {(t.node, t.from_site, t.to_site) for t in plan.transfers}
    assert {(t.node, t.from_site, t.to_site) for t in report.transfers} == planned


def test_only_reduced_cubes_cross_sites_in_the_flood_scenario(executor):
    """ERA5 summed at lumi, flood maximum at central: one small cube moves, lumi → central."""
    interval = ["2022-08-11", "2022-09-17"]
    graph_json = {
        "flood": {
            "process_id": "load_collection",
            "arguments": {
                "id": "GFM_FLOOD",
                "spatial_extent": PAKISTAN,
                "temporal_extent": interval,
                "bands": ["flood_extent"],
            },
        },
        "fmax": {
            "process_id": "reduce_dimension",
            "arguments": {
                "data": {"from_node": "flood"},
                "dimension": "t",
                "reducer": callback("max"),
            },
        },
        "era5": {
            "process_id": "load_collection",
            "arguments": {
                "id": "ERA5_LAND",
                "spatial_extent": PAKISTAN,
                "temporal_extent": interval,
                "bands": ["total_precipitation"],
            },
        },
        "psum": {
            "process_id": "reduce_dimension",
            "arguments": {
                "data": {"from_node": "era5"},
                "dimension": "t",
                "reducer": callback("sum"),
            },
        },
        "on_flood": {
            "process_id": "resample_cube_spatial",
            "arguments": {
                "data": {"from_node": "psum"},
                "target": {"from_node": "fmax"},
                "method": "near",
            },
        },
        "out": {
            "process_id": "mask",
            "arguments": {"data": {"from_node": "on_flood"}, "mask": {"from_node": "fmax"}},
            "result": True,
        },
    }
    graph, plan = plan_of(executor, graph_json)
    assert [(t.node, t.from_site, t.to_site) for t in plan.transfers] == [
        ("psum", "lumi", "central")
    ]
    assert plan.planned_bytes < plan.naive_bytes
    partitioned, report = run(executor, plan)
    whole, _ = run(executor, plan_single_site(graph, "lumi"))
    assert_same(partitioned, whole)
    assert [(t.node, t.from_site, t.to_site) for t in report.transfers] == [
        ("psum", "lumi", "central")
    ]


# -- item-level splits on real data -----------------------------------------------------------


def catalog_with_item_sites(src: Path, dst: Path, site_of_item) -> Path:
    """A copy of the demo catalog (data files linked) with items' sites changed."""
    for path in src.rglob("*"):
        target = dst / path.relative_to(src)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif path.suffix == ".json":
            doc = json.loads(path.read_text())
            if doc.get("type") == "Feature":
                site = site_of_item(doc)
                if site is not None:
                    doc["properties"]["federation:backends"] = [site]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(doc))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(path)
    return dst


@pytest.fixture(scope="module")
def split_executors(demo_catalog_dir, tmp_path_factory):
    """Executors over catalogs where ERA5_LAND's items live at two sites."""
    root = tmp_path_factory.mktemp("split")

    def by_time(doc):  # Pakistan days from 25 August at leonardo
        if doc["id"].startswith("ERA5_LAND_pakistan_"):
            return "leonardo" if doc["properties"]["datetime"] >= "2022-08-25" else "lumi"
        return None

    def by_area(doc):  # the Po valley box at leonardo, Pakistan at lumi
        return "leonardo" if doc["id"].startswith("ERA5_LAND_po_valley_") else None

    executors = {}
    backends = []
    for name, rule in (("time", by_time), ("area", by_area)):
        catalog = catalog_with_item_sites(demo_catalog_dir, root / name, rule)
        backend = Backend(Settings(data_dir=root / f"data-{name}", demo_catalog_dir=catalog))
        backends.append(backend)
        executors[name] = backend.executor
    yield executors
    for backend in backends:
        backend.close()
    shutil.rmtree(root, ignore_errors=True)


ERA5_BOX = {"west": 66.0, "south": 25.0, "east": 70.0, "north": 29.0}


@pytest.mark.parametrize("reducer", ["max", "sum", "min", "median", "mean"])
def test_time_split_load_gives_the_unsplit_result(split_executors, executor, reducer):
    graph_json = {
        "l": {
            "process_id": "load_collection",
            "arguments": {
                "id": "ERA5_LAND",
                "spatial_extent": ERA5_BOX,
                "temporal_extent": ["2022-08-18", "2022-09-02"],
            },
        },
        "b": {
            "process_id": "filter_bands",
            "arguments": {"data": {"from_node": "l"}, "bands": ["total_precipitation"]},
        },
        "r": {
            "process_id": "reduce_dimension",
            "arguments": {
                "data": {"from_node": "b"},
                "dimension": "t",
                "reducer": callback(reducer),
            },
            "result": True,
        },
    }
    graph, plan = plan_of(split_executors["time"], graph_json)
    (split,) = plan.splits
    assert {s for s, _ in split.parts} == {"lumi", "leonardo"}
    check_plan(plan)
    decomposable = reducer != "median"
    assert split.pushed_down == (("b", "r") if decomposable else ("b",))
    split_value, report = run(split_executors["time"], plan)
    unsplit_graph, unsplit_plan = plan_of(executor, graph_json)
    assert unsplit_plan.splits == ()
    unsplit_value, _ = run(executor, unsplit_plan)
    assert_same(split_value, unsplit_value)
    # Raw data never moved: only per-site partial results (or per-site filtered cubes).
    moved = {t.node for t in report.transfers}
    assert moved and all(graph.process_id(n) != "load_collection" for n in moved)
    assert all(MERGE_PROCESS not in n for n in moved)


TIMES_TWO = {
    "process_graph": {
        "m": {
            "process_id": "multiply",
            "arguments": {"x": {"from_parameter": "x"}, "y": 2},
            "result": True,
        }
    }
}


@pytest.mark.parametrize("reducer", ["max", "mean", "sum", "median"])
def test_area_split_load_gives_the_unsplit_result(split_executors, executor, reducer):
    """Parts by area (Pakistan at lumi, the Po valley at leonardo) on one grid: per-pixel work
    and the reduction over time run per part, so only reduced parts move."""
    graph_json = {
        "l": {
            "process_id": "load_collection",
            "arguments": {
                "id": "ERA5_LAND",
                "spatial_extent": None,
                "temporal_extent": ["2022-08-14", "2022-08-17"],
                "bands": ["soil_moisture", "total_precipitation"],
            },
        },
        "b": {
            "process_id": "filter_bands",
            "arguments": {"data": {"from_node": "l"}, "bands": ["soil_moisture"]},
        },
        "a": {
            "process_id": "apply",
            "arguments": {"data": {"from_node": "b"}, "process": TIMES_TWO},
        },
        "r": {
            "process_id": "reduce_dimension",
            "arguments": {
                "data": {"from_node": "a"},
                "dimension": "t",
                "reducer": callback(reducer),
            },
            "result": True,
        },
    }
    graph, plan = plan_of(split_executors["area"], graph_json)
    (split,) = plan.splits
    assert split.kind == "spatial"
    assert split.combine == ("sum" if reducer == "sum" else "first")
    assert split.pushed_down == ("b", "a", "r")
    check_plan(plan)
    split_value, report = run(split_executors["area"], plan)
    unsplit_value, _ = run(executor, plan_of(executor, graph_json)[1])
    assert_same(split_value, unsplit_value)
    # The grid spans both boxes and is empty between them: each box must hold values.
    finite = np.isfinite(np.asarray(split_value.values, dtype=float))
    xdim = next(d for d in split_value.dims if d in ("x", "lon", "longitude"))
    west = np.asarray(split_value[xdim].values) < 40  # the Po valley, from leonardo
    po_valley, pakistan = finite[..., west], finite[..., ~west]
    assert po_valley.sum() > 1000 and pakistan.sum() > 1000
    # Only reduced parts crossed sites.
    moved = {t.node for t in report.transfers}
    assert moved and all(graph.process_id(n) == "reduce_dimension" for n in moved), moved


# -- deep graphs --------------------------------------------------------------------------------


def test_600_node_chain_runs_through_run_sync(executor, tmp_path):
    pg = {"n0": {"process_id": "add", "arguments": {"x": 0, "y": 1}}}
    for i in range(1, 600):
        pg[f"n{i}"] = {"process_id": "add", "arguments": {"x": {"from_node": f"n{i - 1}"}, "y": 1}}
    pg["n599"]["result"] = True
    result = executor.run_sync({"process_graph": pg}, tmp_path)
    assert json.loads(result.path.read_text()) == 600
    assert len(result.plan["partitions"]) == 6


def _apply_op(node: str, process_id: str, y: float) -> dict:
    return {
        "process_id": "apply",
        "arguments": {
            "data": {"from_node": node},
            "process": {
                "process_graph": {
                    "r": {
                        "process_id": process_id,
                        "arguments": {"x": {"from_parameter": "x"}, "y": y},
                        "result": True,
                    }
                }
            },
        },
    }


def test_526_node_graph_over_two_sites_runs_like_one_site(executor):
    """Precipitation summed at lumi and flood maxima at central, each through a 260-node chain
    of per-pixel work, then combined: several partitions per site, one reduced cube moves."""
    interval = ["2022-08-11", "2022-09-16"]
    g = {
        "e": {
            "process_id": "load_collection",
            "arguments": {
                "id": "ERA5_LAND",
                "spatial_extent": PAKISTAN,
                "temporal_extent": interval,
                "bands": ["total_precipitation"],
            },
        },
        "f": {
            "process_id": "load_collection",
            "arguments": {
                "id": "GFM_FLOOD",
                "spatial_extent": PAKISTAN,
                "temporal_extent": interval,
                "bands": ["flood_extent"],
            },
        },
    }
    g["er"] = {
        "process_id": "reduce_dimension",
        "arguments": {"data": {"from_node": "e"}, "dimension": "t", "reducer": callback("sum")},
    }
    g["fr"] = {
        "process_id": "reduce_dimension",
        "arguments": {"data": {"from_node": "f"}, "dimension": "t", "reducer": callback("max")},
    }
    a, b = "er", "fr"
    for i in range(260):
        g[f"a{i}"] = _apply_op(a, "add" if i % 2 == 0 else "subtract", 0.5)
        g[f"b{i}"] = _apply_op(b, "multiply" if i % 2 == 0 else "divide", 1.5)
        a, b = f"a{i}", f"b{i}"
    g["rs"] = {
        "process_id": "resample_cube_spatial",
        "arguments": {"data": {"from_node": a}, "target": {"from_node": b}, "method": "near"},
    }
    g["m"] = {
        "process_id": "merge_cubes",
        "arguments": {"cube1": {"from_node": "rs"}, "cube2": {"from_node": b}},
        "result": True,
    }
    assert len(g) >= 500
    graph, plan = plan_of(executor, g)
    check_plan(plan)
    sites = {p.site for p in plan.partitions}
    assert sites == {"lumi", "central"}
    assert all(sum(p.site == s for p in plan.partitions) >= 2 for s in sites)
    assert [(t.node, t.from_site, t.to_site) for t in plan.transfers] == [
        ("a259", "lumi", "central")
    ]
    partitioned, report = run(executor, plan)
    whole, _ = run(executor, plan_single_site(graph, "central"))
    assert_same(partitioned, whole)
    assert finite_share(partitioned) >= 0.9
    assert [(t.node, t.from_site, t.to_site) for t in report.transfers] == [
        ("a259", "lumi", "central")
    ]


# -- item-level splits of an integer collection with nodata ----------------------------------------

# Sentinel-2 B04 (uint16, nodata 0) over both demo tiles (bolzano and its north tile) and the gap
# between them: every date covers only part of the box, some pixels none.
S2_BOX = {"west": 11.32, "south": 46.47, "east": 11.35, "north": 46.495}
# North-tile dates moved onto bolzano's, so that both tiles share dates (a split by area).
S2_SHARED_DATES = {
    "2022-06-01": "2022-06-05",
    "2022-06-09": "2022-06-15",
    "2022-06-16": "2022-06-25",
}


def _s2_tile_site(doc) -> str | None:
    if doc["id"].startswith("SENTINEL2_L2A_bolzano_north_"):
        return "leonardo"
    return "central" if doc["id"].startswith("SENTINEL2_L2A_") else None


def _s2_shared_dates(doc) -> None:
    if doc["id"].startswith("SENTINEL2_L2A_bolzano_north_"):
        day = doc["properties"]["datetime"][:10]
        if day in S2_SHARED_DATES:
            doc["properties"]["datetime"] = f"{S2_SHARED_DATES[day]}T00:00:00Z"


def catalog_with_item_changes(src: Path, dst: Path, change) -> Path:
    """A copy of the demo catalog (data files linked) whose items ``change(doc)`` edited."""
    for path in src.rglob("*"):
        target = dst / path.relative_to(src)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".json":
            doc = json.loads(path.read_text())
            if doc.get("type") == "Feature":
                change(doc)
            target.write_text(json.dumps(doc))
        else:
            target.symlink_to(path)
    return dst


@pytest.fixture(scope="module")
def s2_executors(demo_catalog_dir, tmp_path_factory):
    """Executors over catalogs where Sentinel-2's two tiles live at two sites: with their own
    dates (a split by time), with shared dates (a split by area), and the shared dates at one
    site (the unsplit reference of the split by area)."""
    root = tmp_path_factory.mktemp("s2-split")

    def by_time(doc):
        if _s2_tile_site(doc):
            doc["properties"]["federation:backends"] = [_s2_tile_site(doc)]

    def by_area(doc):
        by_time(doc)
        _s2_shared_dates(doc)

    def shared_dates_one_site(doc):
        _s2_shared_dates(doc)

    executors, backends = {}, []
    for name, change in (
        ("time", by_time),
        ("area", by_area),
        ("area_unsplit", shared_dates_one_site),
    ):
        catalog = catalog_with_item_changes(demo_catalog_dir, root / name, change)
        backend = Backend(Settings(data_dir=root / f"data-{name}", demo_catalog_dir=catalog))
        backends.append(backend)
        executors[name] = backend.executor
    yield executors
    for backend in backends:
        backend.close()
    shutil.rmtree(root, ignore_errors=True)


def _s2_reduction(reducer: str) -> dict:
    return {
        "l": {
            "process_id": "load_collection",
            "arguments": {
                "id": "SENTINEL2_L2A",
                "spatial_extent": S2_BOX,
                "temporal_extent": ["2022-06-01", "2022-07-01"],
                "bands": ["B04"],
            },
        },
        "r": {
            "process_id": "reduce_dimension",
            "arguments": {
                "data": {"from_node": "l"},
                "dimension": "t",
                "reducer": callback(reducer),
            },
            "result": True,
        },
    }


@pytest.mark.parametrize("kind", ["temporal", "spatial"])
@pytest.mark.parametrize("reducer", ["mean", "min", "max", "sum"])
def test_split_of_an_integer_collection_with_nodata_gives_the_unsplit_result(
    s2_executors, executor, kind, reducer
):
    """An integer band with nodata (loaded as floats, NaN for no-data): the reduction over time
    runs per site and the merged result equals the unsplit one exactly, no-data included."""
    split_ex = s2_executors["time" if kind == "temporal" else "area"]
    unsplit_ex = executor if kind == "temporal" else s2_executors["area_unsplit"]
    graph_json = _s2_reduction(reducer)
    graph, plan = plan_of(split_ex, graph_json)
    (split,) = plan.splits
    assert split.kind == kind
    assert {s for s, _ in split.parts} == {"central", "leonardo"}
    assert split.pushed_down == ("r",), "the reduction runs at each site"
    check_plan(plan)
    split_value, report = run(split_ex, plan)
    unsplit_graph, unsplit_plan = plan_of(unsplit_ex, graph_json)
    assert unsplit_plan.splits == ()
    unsplit_value, _ = run(unsplit_ex, unsplit_plan)
    assert_same(split_value, unsplit_value)
    values = np.asarray(split_value.values, dtype=float)
    # Values from both tiles, and no-data (never 0) where no tile has data.
    assert np.isfinite(values).sum() > 1000 and np.isnan(values).sum() > 1000
    assert np.nanmin(values) > 0, "B04's valid values start at 1: a 0 would be its nodata"
    # What crossed sites is what the plan said would cross (a part of 3 dates of uint16 moves
    # in fewer bytes than a mean's sums and counts: the planner may move it instead).
    planned = {(t.node, t.from_site, t.to_site) for t in plan.transfers}
    assert planned and {(t.node, t.from_site, t.to_site) for t in report.transfers} == planned
