"""What openeo-processes 2.0.0-rc.2 changed, run through ``evaluate_graph`` (the path of every
partition of ``POST /result``): ``save_result`` returns a STAC resource, ``text_find``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pystac
import pytest
import rioxarray  # noqa: F401 - the .rio accessor of the test cubes
import xarray as xr

from openeo_dedl.errors import OpenEOError
from openeo_dedl.execution import registry as process_registry
from openeo_dedl.execution.runner import evaluate_graph
from openeo_dedl.execution.save import SaveRequest, save_result
from tests.support.graphs import TIMES_TEN
from tests.support.stac import stac_validator


def run(graph: dict, **cubes) -> object:
    return evaluate_graph(
        graph, lambda: process_registry.build_registry({"save_result": save_result}), cubes
    )


def _cube() -> xr.DataArray:
    times = pd.DatetimeIndex(["2024-03-01", "2024-03-11", "2024-03-21"])
    return xr.DataArray(
        np.arange(12.0).reshape(3, 2, 2),
        dims=("t", "y", "x"),
        coords={"t": times, "y": [10.0, 0.0], "x": [0.0, 10.0]},
    )


SAVE_THEN_CONSUME = {
    "save": {
        "process_id": "save_result",
        "arguments": {"data": {"from_parameter": "cube"}, "format": "netCDF"},
    },
    # A process consuming save_result's value gets what save_result returns.
    "pick": {
        "process_id": "array_element",
        "arguments": {"data": [{"from_node": "save"}], "index": 0},
        "result": True,
    },
}


def test_save_result_returns_a_stac_item_of_the_saved_result():
    value = run(SAVE_THEN_CONSUME, cube=_cube())
    assert isinstance(value, dict)
    stac_validator("item").validate(dict(value))
    item = pystac.Item.from_dict(dict(value))
    (asset,) = item.assets.values()
    assert asset.media_type == "application/netcdf"
    assert asset.href.endswith(".nc")
    # The data's time range, not the time of the run.
    assert item.common_metadata.start_datetime.isoformat() == "2024-03-01T00:00:00+00:00"
    assert item.common_metadata.end_datetime.isoformat() == "2024-03-21T00:00:00+00:00"
    # The runner still finds what to write: the cube, in the format asked for.
    assert isinstance(value, SaveRequest) and value.format == "netCDF"
    assert value.data.shape == (3, 2, 2)


def test_save_result_of_a_plain_value_is_an_item_dated_now():
    graph = {
        "save": {
            "process_id": "save_result",
            "arguments": {"data": [1, 2], "format": "JSON"},
            "result": True,
        }
    }
    value = run(graph)
    stac_validator("item").validate(dict(value))
    assert value["properties"]["datetime"] is not None
    assert [a["type"] for a in value["assets"].values()] == ["application/json"]


@pytest.mark.parametrize(
    ("data", "pattern", "case_sensitive", "expected"),
    [
        ("Lorem ipsum dolor sit amet", "ipsum", True, 6),
        ("Lorem ipsum", "IPSUM", True, None),
        ("Lorem ipsum", "IPSUM", False, 6),
        # Positions in the text itself, even where lower-casing changes lengths.
        ("Straße und Weg", "UND", False, 7),
        ("İstanbul x", "X", False, 9),
        # Plain text, not a regular expression.
        ("a.b a+b", "a+b", True, 4),
        ("abc", ".", True, None),
        ("", "", True, 0),
        (None, "x", True, None),
    ],
)
def test_text_find(data, pattern, case_sensitive, expected):
    graph = {
        "find": {
            "process_id": "text_find",
            "arguments": {"data": data, "pattern": pattern, "case_sensitive": case_sensitive},
            "result": True,
        }
    }
    assert run(graph) == expected


def test_text_find_refuses_what_is_no_text():
    graph = {
        "find": {
            "process_id": "text_find",
            "arguments": {"data": 12, "pattern": "1"},
            "result": True,
        }
    }
    with pytest.raises(OpenEOError) as info:
        run(graph)
    assert info.value.code == "ProcessParameterInvalid"


def _reduce_time(reducer: str, **arguments) -> dict:
    call = {"data": {"from_parameter": "data"}, **arguments}
    return {
        "r": {
            "process_id": "reduce_dimension",
            "arguments": {
                "data": {"from_parameter": "cube"},
                "dimension": "t",
                "reducer": {
                    "process_graph": {
                        "x": {"process_id": reducer, "arguments": call, "result": True}
                    }
                },
            },
            "result": True,
        }
    }


# The no-data clarifications (openeo-processes#480): a reducer over solely no-data values gives
# no-data (sum and product too, not 0 and 1); count counts valid values, or all of them with
# condition true. Pixel (0, 0) has no value at all, pixel (0, 1) one of two.
@pytest.mark.parametrize(
    ("reducer", "arguments", "expected"),
    [
        ("sum", {}, [np.nan, 3.0]),
        ("product", {}, [np.nan, 3.0]),
        ("mean", {}, [np.nan, 3.0]),
        ("min", {}, [np.nan, 3.0]),
        ("sum", {"ignore_nodata": False}, [np.nan, np.nan]),
        ("product", {"ignore_nodata": False}, [np.nan, np.nan]),
        ("count", {}, [0, 1]),
        ("count", {"condition": True}, [2, 2]),
    ],
)
def test_reducers_over_solely_nodata(reducer, arguments, expected):
    values = np.array([[[np.nan, np.nan]], [[np.nan, 3.0]]])
    cube = xr.DataArray(
        values,
        dims=("t", "y", "x"),
        coords={"t": pd.DatetimeIndex(["2024-01-01", "2024-01-02"]), "y": [0.0], "x": [0.0, 1.0]},
    )
    result = run(_reduce_time(reducer, **arguments), cube=cube)
    np.testing.assert_array_equal(np.asarray(result.values, dtype=float).ravel(), expected)


def _grid_cube() -> xr.DataArray:
    """Two time steps on a 4 × 4 grid of 1° pixels (centres 0.5 ... 3.5) in WGS 84."""
    values = np.arange(32.0).reshape(2, 4, 4)
    cube = xr.DataArray(
        values,
        dims=("t", "y", "x"),
        coords={
            "t": pd.DatetimeIndex(["2024-01-01", "2024-01-02"]),
            "y": [3.5, 2.5, 1.5, 0.5],
            "x": [0.5, 1.5, 2.5, 3.5],
        },
    )
    return cube.rio.write_crs("EPSG:4326")


def _box(west, south, east, north) -> dict:
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]}}


def _apply_polygon(features: list[dict], callback: dict, **arguments) -> dict:
    return {
        "vector": {
            "process_id": "load_geojson",
            "arguments": {"data": {"type": "FeatureCollection", "features": features}},
        },
        "ap": {
            "process_id": "apply_polygon",
            "arguments": {
                "data": {"from_parameter": "cube"},
                "geometries": {"from_node": "vector"},
                "process": {"process_graph": callback},
                **arguments,
            },
            "result": True,
        },
    }


def test_apply_polygon_processes_each_polygon_and_masks_the_rest():
    # The first box holds the centres of the upper-left 2 × 2 pixels, the second only the
    # lower-right pixel; the rest is outside every polygon.
    features = [_box(0, 2, 2, 4), _box(3, 0, 4, 1)]
    cube = _grid_cube()
    result = run(
        _apply_polygon(features, TIMES_TEN["process_graph"], mask_value=-1), cube=cube
    ).compute()
    assert result.dims == cube.dims
    inside = np.zeros((4, 4), dtype=bool)
    inside[:2, :2] = True
    inside[3, 3] = True
    expected = np.where(inside, cube.values * 10, -1)
    np.testing.assert_array_equal(result.values, expected)
    # Without a mask value, the no-data value.
    plain = run(_apply_polygon(features, TIMES_TEN["process_graph"]), cube=cube).compute()
    assert np.isnan(plain.values[:, ~inside]).all()
    np.testing.assert_array_equal(plain.values[:, inside], cube.values[:, inside] * 10)


def _along_x(process_id: str) -> dict:
    return {
        "r": {
            "process_id": "apply_dimension",
            "arguments": {
                "data": {"from_parameter": "data"},
                "dimension": "x",
                "process": {
                    "process_graph": {
                        "s": {
                            "process_id": process_id,
                            "arguments": {"data": {"from_parameter": "data"}},
                            "result": True,
                        }
                    }
                },
            },
            "result": True,
        }
    }


def test_apply_polygon_passes_the_window_with_the_mask_value_outside_the_polygon():
    # The triangle holds three centres of the upper-left 2 × 2 window, not (y=2.5, x=0.5);
    # a cumulative sum along x shows the mask value (100) the process saw there.
    triangle = {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [[[-0.2, 4], [2, 4], [2, 1.8], [-0.2, 4]]]},
    }
    cube = _grid_cube()
    result = run(_apply_polygon([triangle], _along_x("cumsum"), mask_value=100), cube=cube)
    v = cube.values
    np.testing.assert_array_equal(result.values[:, 1, 1], 100 + v[:, 1, 1])
    np.testing.assert_array_equal(result.values[:, 0, 1], v[:, 0, 0] + v[:, 0, 1])
    assert (result.values[:, 1, 0] == 100).all()  # outside: the mask value


def test_apply_polygon_refuses_a_process_changing_the_shape():
    with pytest.raises(OpenEOError) as info:
        # Reducing x away: not the sub cube's dimensions.
        reduced = _along_x("sum")
        reduced["r"]["process_id"] = "reduce_dimension"
        reduced["r"]["arguments"]["reducer"] = reduced["r"]["arguments"].pop("process")
        run(_apply_polygon([_box(0, 2, 2, 4)], reduced), cube=_grid_cube())
    assert info.value.code == "DataCubeShapeMismatch"


def test_apply_polygon_refuses_overlapping_polygons():
    features = [_box(0, 0, 2, 2), _box(1, 1, 3, 3)]
    with pytest.raises(OpenEOError) as info:
        run(_apply_polygon(features, TIMES_TEN["process_graph"]), cube=_grid_cube())
    assert info.value.code == "GeometriesOverlap"
