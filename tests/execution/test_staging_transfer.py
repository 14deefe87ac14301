"""Hand-over between sites through per-site staging stores (Zarr) equals the in-memory mode."""

from __future__ import annotations

import numpy as np
import rioxarray

from openeo_dedl.backend import Backend
from openeo_dedl.config import Settings


def reduce_t(node: str, reducer: str) -> dict:
    return {
        "process_id": "reduce_dimension",
        "arguments": {
            "data": {"from_node": node},
            "dimension": "t",
            "reducer": {
                "process_graph": {
                    "r": {
                        "process_id": reducer,
                        "arguments": {"data": {"from_parameter": "data"}},
                        "result": True,
                    }
                }
            },
        },
    }


def two_site_graph(bbox: dict) -> dict:
    window = ["2022-08-10", "2022-09-20"]
    # ERA5 is loaded over the cells the AOI touches: a load selects the pixels whose centre is
    # in its extent, so the box grows by half a 0.1° cell (the AOI's own box holds only 1 x 2
    # ERA5 centres, and its southern half would be NaN).
    half = 0.05
    era5_box = {
        "west": bbox["west"] - half,
        "south": bbox["south"] - half,
        "east": bbox["east"] + half,
        "north": bbox["north"] + half,
    }
    return {
        "flood": {
            "process_id": "load_collection",
            "arguments": {
                "id": "GFM_FLOOD",
                "spatial_extent": bbox,
                "temporal_extent": window,
                "bands": ["flood_extent"],
            },
        },
        "flood_max": reduce_t("flood", "max"),
        "era5": {
            "process_id": "load_collection",
            "arguments": {
                "id": "ERA5_LAND",
                "spatial_extent": era5_box,
                "temporal_extent": window,
                "bands": ["total_precipitation"],
            },
        },
        "era5_sum": reduce_t("era5", "sum"),
        "resampled": {
            "process_id": "resample_cube_spatial",
            "arguments": {
                "data": {"from_node": "era5_sum"},
                "target": {"from_node": "flood_max"},
                "method": "near",
            },
        },
        "save": {
            "process_id": "save_result",
            "arguments": {"data": {"from_node": "resampled"}, "format": "GTiff"},
            "result": True,
        },
    }


def run(tmp_path, demo_catalog_dir, mode: str):
    import pystac

    flood = pystac.Catalog.from_file(str(demo_catalog_dir / "catalog.json")).get_child("GFM_FLOOD")
    w, s, e, n = flood.extent.spatial.bboxes[0]
    bbox = {"west": w, "south": s, "east": e, "north": n}
    backend = Backend(
        Settings(data_dir=tmp_path / mode, demo_catalog_dir=demo_catalog_dir, transfer_mode=mode)
    )
    try:
        result = backend.run_sync({"process_graph": two_site_graph(bbox)}, tmp_path / mode / "out")
    finally:
        backend.close()
    transfers = result.usage.transfers
    assert [(t.node, t.from_site, t.to_site) for t in transfers] == [
        ("era5_sum", "lumi", "central")
    ]
    assert transfers[0].bytes > 0
    return rioxarray.open_rasterio(result.path).values, transfers[0]


def test_staging_gives_the_same_result_as_memory(tmp_path, demo_catalog_dir):
    in_memory, _ = run(tmp_path, demo_catalog_dir, "memory")
    staged, transfer = run(tmp_path, demo_catalog_dir, "staging")
    np.testing.assert_array_equal(staged, in_memory)
    assert np.isfinite(staged).all() and staged.max() > 0
    # Written by lumi's workers to lumi's staging store, read by central's, removed after the run.
    assert transfer.seconds > 0
    staging_root = tmp_path / "staging" / "staging"
    assert (staging_root / "lumi").exists()
    assert not any(staging_root.glob("*/*"))
    assert not (tmp_path / "memory" / "staging").exists()
