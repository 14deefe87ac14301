"""Partitions that do not depend on each other run at the same time on their sites."""

from __future__ import annotations

import json

from openeo_dedl.backend import Backend
from openeo_dedl.config import Settings
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
    runs = {p["site"]: p for p in result.usage["partitions"]}
    lumi, leonardo = runs["lumi"], runs["leonardo"]
    # Each starts a cluster (seconds): run one after the other they could not overlap.
    assert lumi["started"] < leonardo["ended"] and leonardo["started"] < lumi["ended"]
