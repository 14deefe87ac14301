"""The use cases' inputs against the oracle: every load of the stored flood and drought graphs
(examples/*.json), and the drought's share of agricultural land per 500 m cell.

Same rules as tests/values/test_values.py. Two consequences the use cases show:

- the flood's ERA5_LAND load (the AOI's WGS84 bbox, 67.931-68.053 E, 26.956-27.065 N, on the
  0.1 degree grid) holds the pixel centres 67.95 and 68.05 E but only 27.05 N: 1 x 2 pixels;
- the drought's ``resample_spatial`` of CORINE (100 m, EPSG:32632, exactly S1_SSM's extent) to
  500 m covers that extent: 80 x 120 cells on S1_SSM's grid, each the mean of its 5 x 5 source
  pixels (``average`` over the agricultural flags).
"""

from __future__ import annotations

import numpy as np
import pytest

from examples import graphs
from tests.values.compare import compare, load_expectation
from tests.values.oracle import Collection, Selection, native_bbox, select, stack
from tests.values.results import read_result

STORED = {"flood": graphs.FLOOD_JSON, "drought": graphs.DROUGHT_JSON}
ALL_TIME = (np.datetime64("1900-01-01", "ns"), np.datetime64("2100-01-01", "ns"))


# S1_SSM's load reads three years of items (92 at the small size): too slow for the value it
# adds here; tests/values/test_values.py covers S1_SSM with random boxes and dates.
SLOW = {"S1_SSM"}


def _loads() -> list[tuple[str, str]]:
    return [
        (name, node_id)
        for name, path in STORED.items()
        for node_id, node in graphs.read_graph(path).items()
        if node["process_id"] == "load_collection" and node["arguments"]["id"] not in SLOW
    ]


def _interval(temporal_extent) -> tuple[np.datetime64, np.datetime64]:
    if not temporal_extent:
        return ALL_TIME
    start, end = temporal_extent
    return (
        ALL_TIME[0] if start is None else np.datetime64(start, "ns"),
        ALL_TIME[1] if end is None else np.datetime64(end, "ns"),
    )


def _save(nodes: dict, last: str, fmt: str = "netCDF") -> dict:
    nodes = {k: {kk: vv for kk, vv in v.items() if kk != "result"} for k, v in nodes.items()}
    nodes["save"] = {
        "process_id": "save_result",
        "arguments": {"data": {"from_node": last}, "format": fmt},
        "result": True,
    }
    return nodes


def _upstream(graph: dict, node_id: str) -> dict:
    """The nodes ``node_id`` depends on (itself included)."""
    keep, todo = {}, [node_id]
    while todo:
        current = todo.pop()
        if current in keep:
            continue
        keep[current] = graph[current]

        def walk(value):
            if isinstance(value, dict):
                if "from_node" in value:
                    todo.append(value["from_node"])
                for key, v in value.items():
                    if key != "process_graph":  # callbacks have their own node ids
                        walk(v)
            elif isinstance(value, list):
                for v in value:
                    walk(v)

        walk(graph[current]["arguments"])
    return keep


@pytest.mark.parametrize(("use_case", "node_id"), _loads())
def test_use_case_load_matches_the_oracle(collections, client, tmp_path, use_case, node_id):
    args = graphs.read_graph(STORED[use_case])[node_id]["arguments"]
    collection = collections[args["id"]]
    band = args["bands"][0]
    extent = args["spatial_extent"]
    box = [extent[k] for k in ("west", "south", "east", "north")]
    sel = select(collection, native_bbox(collection, box, crs=extent.get("crs")))
    start, end = _interval(args.get("temporal_extent"))
    st = stack(collection, band, sel, start, end)
    nodes = {"load": {"process_id": "load_collection", "arguments": {**args, "bands": [band]}}}
    path = client.result(_save(nodes, "load"), tmp_path / "load.nc")
    result = read_result(path, "netCDF", band)
    in_interval = [d for d in collection.dates() if start <= d < end]
    problems, expected, counting = load_expectation(
        st.dates, st.values, st.raw, collection.nodata[band], in_interval, result
    )
    assert not problems, f"{use_case} {node_id}: {problems}"
    report = compare(collection, band, sel, result, expected, counting, st.covered)
    assert not report.problems, f"{use_case} {node_id} {args['id']}:\n{report.summary()}"


def test_drought_agricultural_share_matches_the_oracle(collections, client, tmp_path):
    graph = graphs.read_graph(STORED["drought"])
    (resample_id,) = [k for k, v in graph.items() if v["process_id"] == "resample_spatial"]
    resample = graph[resample_id]["arguments"]
    (load_id,) = [
        k for k, v in _upstream(graph, resample_id).items() if v["process_id"] == "load_collection"
    ]
    load = graph[load_id]["arguments"]
    corine = collections[load["id"]]
    extent = load["spatial_extent"]
    box = [extent[k] for k in ("west", "south", "east", "north")]
    sel = select(corine, native_bbox(corine, box, crs=extent.get("crs")))
    st = stack(corine, load["bands"][0], sel, *ALL_TIME)
    assert len(st.dates) == 1
    low, high = graphs.AGRICULTURE_CODES
    codes = st.values[0]
    agriculture = np.where(np.isnan(codes), np.nan, (codes > low - 1) & (codes < high))

    # The target grid: the requested resolution on a lattice through the source's corner (the
    # source extent is a whole number of target cells).
    res = float(resample["resolution"])
    factor = round(res / corine.res)
    assert factor * corine.res == res and sel.shape[0] % factor == 0 == sel.shape[1] % factor
    rows, cols = sel.shape[0] // factor, sel.shape[1] // factor
    blocks = agriculture.reshape(rows, factor, cols, factor)
    with np.errstate(invalid="ignore"):
        share = np.nanmean(blocks, axis=(1, 3))
    west = corine.x0 + sel.col0 * corine.res
    north = corine.y0 - sel.row0 * corine.res
    target = Collection("share", corine.crs, res, west, north, nodata={"data": np.nan})
    assert corine.crs.to_epsg() == resample["projection"]

    path = client.result(_save(_upstream(graph, resample_id), resample_id), tmp_path / "s.nc")
    result = read_result(path, "netCDF", "data")
    everywhere = np.ones((rows, cols), dtype=bool)
    report = compare(target, "data", Selection(0, cols, 0, rows), result, share, share, everywhere)
    assert not report.problems, f"resample_spatial {resample}:\n{report.summary()}"
