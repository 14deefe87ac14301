"""The server's values against an independent computation, for random boxes and dates over every
demo collection.

For each collection, ``CASES_PER_COLLECTION`` seeded cases (tests/values/cases.py: small boxes,
boxes across an area's edge or corner, slivers, boxes around a whole area with a no-data margin,
boxes across the gap between two areas, and date intervals that are whole, reach before the first
or after the last date, cover part of the series or a single day) run as

- ``load_collection(box, dates, [band])`` → ``save_result`` netCDF: the grid, the time labels and
  every value;
- ``load_collection`` → ``reduce_dimension(t, mean|min|max|sum|count)`` → ``save_result``
  netCDF or GTiff (alternating): the grid and every value;

and each result file is held against tests/values/oracle.py, which reads the COGs with rasterio.

What the oracle takes the specs to say, and the choices where they leave room:

- Pixel selection (load_collection, "spatial_extent"): a pixel is loaded when the point at its
  centre intersects the box. The spec says "intersects" (Simple Features: the boundary counts);
  the backend's issue 13 reads it as left/bottom included, right/top excluded. The oracle uses the
  half-open rule, and the case generator never puts a box edge within ``EDGE_MARGIN`` (2 %) of a
  pixel size of a row or column of pixel centres, so both readings select the same pixels.
- Reprojection (bounding box "crs": "the bounding box is reprojected to the CRS of the spatial
  data cube dimensions"): the box is reprojected as the bounding box of its densified edges
  (pyproj ``transform_bounds``, 21 points per edge). odc-geo, which the backend uses, reprojects
  the box as a densified polygon and takes its bounding box: for every generated case that is the
  same box (checked when the cases were written; the extremes lie at the corners for boxes off
  the UTM zones' central meridians). The generator also rejects boxes whose selection changes
  between 21 and 201 points per edge.
- Grid: the collection's native CRS, pixel size and pixel lattice (the spec leaves the loaded
  resolution to the back-end; no resampling is asked for). Where a box reaches beyond the data,
  the spec does not say whether the cube spans the whole box (no-data outside the data) or only
  the data: a result may leave out rows and columns of the selection that no layer covers, never
  others, and must not hold a pixel whose centre is outside the box.
- Time: items with a datetime in [start, end). A load's time labels must include every date with
  data in the box and only dates of the collection in the interval; a label without data in the
  box must be all no-data.
- No-data: a band's ``raster:bands`` nodata (equal to the COG's nodata tag; NaN for the float
  collections) is no-data. Reducers ignore no-data (``ignore_nodata`` defaults to true); "an array
  with solely no-data values returns the no-data value", so mean/min/max/sum give no-data where a
  pixel has no valid value, and count (valid elements) gives 0.
- Files: a result with no-data pixels must declare its no-data value (netCDF ``_FillValue`` or
  ``missing_value``, GTiff nodata tag), and those pixels must hold it (or NaN).
- Values: equal to float tolerance (rtol 1e-5).

On a mismatch the message names the likely cause, see tests/values/compare.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from openeo_dedl.demo_data.specs import COLLECTIONS
from tests.values.cases import CASES_PER_COLLECTION, Case, make_case
from tests.values.compare import compare, load_expectation
from tests.values.oracle import (
    Stack,
    native_bbox,
    reduce,
    reduce_counting_nodata,
    select,
    stack,
)
from tests.values.results import read_result

COLLECTION_IDS = [spec.id for spec in COLLECTIONS]


def processes(index: int) -> tuple[str, ...]:
    """What a case runs: a plain load, mean, min, max, and count or sum in turn."""
    return ("load", "mean", "min", "max", "count" if index % 2 == 0 else "sum")


def _format(index: int, process: str) -> str:
    """netCDF for loads; the reductions alternate between netCDF and GTiff, so that every
    reducer is written in both formats over the cases."""
    if process == "load":
        return "netCDF"
    k = processes(index).index(process)
    return ("netCDF", "GTiff")[(index + k + index // 2) % 2]


PARAMS = [
    pytest.param(cid, i, p, id=f"{cid}-{i}-{p}")
    for cid in COLLECTION_IDS
    for i in range(CASES_PER_COLLECTION)
    for p in processes(i)
]


def graph(case: Case, process: str, fmt: str) -> dict:
    """load_collection → (reduce_dimension over t) → save_result."""
    nodes: dict = {
        "load": {
            "process_id": "load_collection",
            "arguments": {
                "id": case.collection,
                "spatial_extent": case.spatial_extent(),
                "temporal_extent": list(case.interval),
                "bands": [case.band],
            },
        }
    }
    last = "load"
    if process != "load":
        reducer = {
            "r": {
                "process_id": process,
                "arguments": {"data": {"from_parameter": "data"}},
                "result": True,
            }
        }
        nodes["reduce"] = {
            "process_id": "reduce_dimension",
            "arguments": {
                "data": {"from_node": "load"},
                "dimension": "t",
                "reducer": {"process_graph": reducer},
            },
        }
        last = "reduce"
    nodes["save"] = {
        "process_id": "save_result",
        "arguments": {"data": {"from_node": last}, "format": fmt},
        "result": True,
    }
    return nodes


_STACKS: dict[tuple[str, int], tuple[Case, object, Stack]] = {}


def oracle_case(collections, collection_id: str, index: int):
    """The case, its selection and its stack (computed once per case)."""
    key = (collection_id, index)
    if key not in _STACKS:
        collection = collections[collection_id]
        case = make_case(collection, index)
        sel = select(collection, native_bbox(collection, case.bbox))
        start, end = (np.datetime64(v, "ns") for v in case.interval)
        _STACKS[key] = (case, sel, stack(collection, case.band, sel, start, end))
    return _STACKS[key]


def test_every_demo_collection_is_covered(collections):
    assert sorted(collections) == sorted(COLLECTION_IDS)


@pytest.mark.parametrize(("collection_id", "index", "process"), PARAMS)
def test_values_match_the_oracle(collections, client, tmp_path, collection_id, index, process):
    collection = collections[collection_id]
    case, sel, st = oracle_case(collections, collection_id, index)
    fmt = _format(index, process)
    path = client.result(graph(case, process, fmt), tmp_path / f"result.{fmt}")
    result = read_result(path, fmt, case.band)
    if process == "load":
        start, end = (np.datetime64(v, "ns") for v in case.interval)
        in_interval = [d for d in collection.dates() if start <= d < end]
        nodata = collection.nodata[case.band]
        problems, expected, counting = load_expectation(
            st.dates, st.values, st.raw, nodata, in_interval, result
        )
        assert not problems, f"{case.describe()}: {problems}"
    else:
        expected = reduce(st.values, process)
        counting = reduce_counting_nodata(st.raw, process)
    report = compare(collection, case.band, sel, result, expected, counting, st.covered)
    assert not report.problems, f"{case.describe()} {process} {fmt}:\n{report.summary()}"
