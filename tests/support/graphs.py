"""Process graphs that many tests send: built here once."""

from __future__ import annotations

from typing import Any


def reducer(process_id: str, **arguments: Any) -> dict:
    """A callback ``{"process_graph": ...}`` applying ``process_id`` to its ``data``."""
    return {
        "process_graph": {
            "r": {
                "process_id": process_id,
                "arguments": {"data": {"from_parameter": "data"}, **arguments},
                "result": True,
            }
        }
    }


# apply_polygon's callback in the rc.2 tests: the sub cube's values times ten.
TIMES_TEN = {
    "process_graph": {
        "a": {
            "process_id": "apply",
            "arguments": {
                "data": {"from_parameter": "data"},
                "process": {
                    "process_graph": {
                        "m": {
                            "process_id": "multiply",
                            "arguments": {"x": {"from_parameter": "x"}, "y": 10},
                            "result": True,
                        }
                    }
                },
            },
            "result": True,
        }
    }
}


def load_reduce_save(
    collection: str,
    *,
    spatial_extent: dict | None = None,
    temporal_extent: list | None = None,
    bands: list[str] | None = None,
    reduce: str | None = "mean",
    dimension: str = "t",
    format: str = "GTiff",  # noqa: A002 - the openEO argument's name
) -> dict:
    """load_collection → reduce_dimension(``dimension``, ``reduce``) → save_result(``format``);
    without ``reduce`` the load is saved as it is."""
    graph: dict[str, dict] = {
        "load": {
            "process_id": "load_collection",
            "arguments": {
                "id": collection,
                "spatial_extent": spatial_extent,
                "temporal_extent": temporal_extent,
                **({"bands": bands} if bands is not None else {}),
            },
        }
    }
    last = "load"
    if reduce is not None:
        graph["reduce"] = {
            "process_id": "reduce_dimension",
            "arguments": {"data": {"from_node": "load"}, "dimension": dimension,
                          "reducer": reducer(reduce)},
        }  # fmt: skip
        last = "reduce"
    graph["save"] = {
        "process_id": "save_result",
        "arguments": {"data": {"from_node": last}, "format": format},
        "result": True,
    }
    return graph


def bolzano_ndvi_mean(east: int, south: int, format: str) -> dict:  # noqa: A002
    """NDVI of Sentinel-2 near Bolzano (UTM 32N box from 680000 E / up to 5151600 N), averaged
    over the first June dates, saved in ``format``: what a user drags together in an editor."""
    return {
        "load": {
            "process_id": "load_collection",
            "arguments": {
                "id": "SENTINEL2_L2A",
                "spatial_extent": {
                    "west": 680000,
                    "east": east,
                    "south": south,
                    "north": 5151600,
                    "crs": "EPSG:32632",
                },
                "temporal_extent": ["2022-06-01", "2022-06-10"],
                "bands": ["B04", "B08"],
            },
        },  # fmt: skip
        "ndvi": {
            "process_id": "ndvi",
            "arguments": {"data": {"from_node": "load"}, "nir": "B08", "red": "B04"},
        },
        "mean": {
            "process_id": "reduce_dimension",
            "arguments": {
                "data": {"from_node": "ndvi"},
                "dimension": "t",
                "reducer": reducer("mean"),
            },
        },  # fmt: skip
        "save": {
            "process_id": "save_result",
            "arguments": {"data": {"from_node": "mean"}, "format": format},
            "result": True,
        },
    }


def small_flood_max() -> dict:
    """A small box of GFM_FLOOD (at site central only), its max over time, saved as JSON."""
    return load_reduce_save(
        "GFM_FLOOD",
        spatial_extent={"west": 67.98, "south": 27.0, "east": 67.99, "north": 27.01},
        temporal_extent=["2022-08-01", "2022-10-01"],
        bands=["flood_extent"],
        reduce="max",
        format="JSON",
    )


SCALAR_GRAPH = {"add": {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": True}}

# S1 soil moisture (site leonardo) over two months, averaged over time, as GeoTIFF.
RASTER_GRAPH = load_reduce_save(
    "S1_SSM", temporal_extent=["2020-01-01", "2020-03-01"], bands=["ssm"]
)


def slow_graph(resolution: float = 20.0, collection: str = "S1_SSM", **load: Any) -> dict:
    """A collection (S1 soil moisture at leonardo unless told) upsampled to ``resolution``
    (in its CRS' units) over all its years, its median over time: seconds to minutes of real
    Dask work, for tests that cancel or interrupt a run. ``load``: more load arguments."""
    return {
        "load": {
            "process_id": "load_collection",
            "arguments": {
                "id": collection,
                "spatial_extent": None,
                "temporal_extent": None,
                **load,
            },
        },  # fmt: skip
        "fine": {
            "process_id": "resample_spatial",
            "arguments": {"data": {"from_node": "load"}, "resolution": resolution},
        },
        "median": {
            "process_id": "reduce_dimension",
            "arguments": {
                "data": {"from_node": "fine"},
                "dimension": "t",
                "reducer": reducer("median"),
            },
            "result": True,
        },  # fmt: skip
    }


def cpu_bound_graph(factor: int, repeat: int = 3000) -> dict:
    """Plain-value work in the worker's interpreter (a callback per element), about a
    second per 3000 elements here; its value is ``factor * repeat``."""
    return {
        "c": {"process_id": "array_create", "arguments": {"data": [1], "repeat": repeat}},
        "a": {
            "process_id": "array_apply",
            "arguments": {
                "data": {"from_node": "c"},
                "process": {
                    "process_graph": {
                        "m": {
                            "process_id": "multiply",
                            "arguments": {"x": {"from_parameter": "x"}, "y": factor},
                            "result": True,
                        }
                    }
                },
            },
        },
        "s": {"process_id": "sum", "arguments": {"data": {"from_node": "a"}}, "result": True},
    }
