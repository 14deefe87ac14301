"""Re-use by the executor on real local Dask clusters: a catalog item whose ``updated`` changed
(in a copied catalog) makes its results new; until then a re-run re-uses them."""

from __future__ import annotations

import json
import shutil

import numpy as np
import xarray as xr

from openeo_dedl.backend import Backend
from openeo_dedl.config import Settings

ERA5_LOAD = {
    "id": "ERA5_LAND",
    "bands": ["total_precipitation"],
    "spatial_extent": {"west": 67.9, "south": 26.9, "east": 68.1, "north": 27.1},
    "temporal_extent": ["2022-08-01", "2022-09-01"],
}
GRAPH = {
    "load": {"process_id": "load_collection", "arguments": ERA5_LOAD},
    "sum": {
        "process_id": "reduce_dimension",
        "arguments": {
            "data": {"from_node": "load"},
            "dimension": "t",
            "reducer": {
                "process_graph": {
                    "s": {
                        "process_id": "sum",
                        "arguments": {"data": {"from_parameter": "data"}},
                        "result": True,
                    }
                }
            },
        },
    },
    "double": {
        "process_id": "apply",
        "arguments": {
            "data": {"from_node": "sum"},
            "process": {
                "process_graph": {
                    "m": {
                        "process_id": "multiply",
                        "arguments": {"x": {"from_parameter": "x"}, "y": 2},
                        "result": True,
                    }
                }
            },
        },
    },
    "save": {
        "process_id": "save_result",
        "arguments": {"data": {"from_node": "double"}, "format": "netCDF"},
        "result": True,
    },
}


def _run(data_dir, catalog_dir, work, times: int):
    backend = Backend(
        Settings(data_dir=data_dir, demo_catalog_dir=catalog_dir, reuse={"enabled": True})
    )
    try:
        results = []
        for _ in range(times):
            out = work / f"run{len(list(work.iterdir()))}"
            out.mkdir()
            result = backend.executor.run_sync({"process_graph": GRAPH}, out, user="alice")
            with xr.open_dataset(result.path) as ds:
                values = ds.to_array().values.copy()
            results.append((values, [r.to_dict() for r in result.usage.reused]))
        return results
    finally:
        backend.close()


def test_an_updated_item_is_computed_again(demo_catalog_dir, tmp_path):
    catalog = tmp_path / "catalog"
    shutil.copytree(demo_catalog_dir, catalog)
    data_dir, work = tmp_path / "data", tmp_path / "work"
    work.mkdir()
    (first, none), (again, reused) = _run(data_dir, catalog, work, 2)
    assert none == [] and reused, reused
    np.testing.assert_array_equal(first, again)

    item_path = catalog / "ERA5_LAND/ERA5_LAND_pakistan_20220817/ERA5_LAND_pakistan_20220817.json"
    item = json.loads(item_path.read_text())
    item["properties"]["updated"] = "2026-12-01T00:00:00Z"
    item_path.write_text(json.dumps(item))
    ((after, reused_after),) = _run(data_dir, catalog, work, 1)
    assert reused_after == [], reused_after  # the item's new version: nothing matches
    np.testing.assert_array_equal(after, first)  # (its data did not change)
