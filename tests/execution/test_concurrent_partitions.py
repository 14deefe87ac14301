"""Partitions that do not depend on each other run at the same time on their sites."""

from __future__ import annotations

import json

from openeo_dedl.backend import Backend
from openeo_dedl.config import Settings
from openeo_dedl.execution.runner import dependency_levels
from openeo_dedl.planning import plan_process_graph


def mean_over_t(collection: str, band: str, bbox: dict, window: list[str]) -> dict:
    return {
        f"load_{collection}": {
            "process_id": "load_collection",
            "arguments": {
                "id": collection,
                "spatial_extent": bbox,
                "temporal_extent": window,
                "bands": [band],
            },
        },
        f"mean_{collection}": {
            "process_id": "reduce_dimension",
            "arguments": {
                "data": {"from_node": f"load_{collection}"},
                "dimension": "t",
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
        },
    }


def graph() -> dict:
    """Two reductions at lumi and leonardo, combined into one JSON number."""
    po = {"west": 9.5, "south": 44.9, "east": 10.5, "north": 45.3}
    window = ["2022-06-01", "2022-09-01"]
    pg = {
        **mean_over_t("ERA5_LAND", "soil_moisture", po, window),
        **mean_over_t("S1_SSM", "ssm", po, window),
    }
    for name in ("ERA5_LAND", "S1_SSM"):
        pg[f"all_{name}"] = {
            "process_id": "reduce_spatial",
            "arguments": {
                "data": {"from_node": f"mean_{name}"},
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
    pg["ratio"] = {
        "process_id": "divide",
        "arguments": {"x": {"from_node": "all_S1_SSM"}, "y": {"from_node": "all_ERA5_LAND"}},
    }
    pg["save"] = {
        "process_id": "save_result",
        "arguments": {"data": {"from_node": "ratio"}, "format": "JSON"},
        "result": True,
    }
    return pg


def test_independent_site_partitions_overlap_in_time(tmp_path, demo_catalog_dir):
    pg = graph()
    sites = {"ERA5_LAND": ["lumi"], "S1_SSM": ["leonardo"]}
    levels = dependency_levels(plan_process_graph(pg, sites, "central"))
    assert sorted(p.site for p in levels[0]) == ["leonardo", "lumi"]

    backend = Backend(Settings(data_dir=tmp_path, demo_catalog_dir=demo_catalog_dir))
    try:
        result = backend.run_sync({"process_graph": pg}, tmp_path / "out")
    finally:
        backend.close()
    # Percent of saturation over m³/m³: a plausible positive number.
    assert json.loads(result.path.read_text()) > 0
    runs = {p["site"]: p for p in result.usage["partitions"]}
    lumi, leonardo = runs["lumi"], runs["leonardo"]
    # Each starts a cluster (seconds): run one after the other they could not overlap.
    assert lumi["started"] < leonardo["ended"] and leonardo["started"] < lumi["ended"]
