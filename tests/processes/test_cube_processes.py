"""Processes on data cubes that we add or fix, run as process graphs through ``evaluate_graph``
(the path of every partition of ``POST /result``), compared with plain numpy/xarray."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401 - the .rio accessor of the test cubes
import xarray as xr

from openeo_dedl.errors import OpenEOError
from openeo_dedl.execution import registry as process_registry
from openeo_dedl.execution.runner import evaluate_graph


def run(graph: dict, **cubes) -> object:
    params = {name: cube for name, cube in cubes.items()}
    return evaluate_graph(graph, lambda: process_registry.build_registry({}), params)


def node(process_id: str, result: bool = True, **arguments) -> dict:
    return {"process_id": process_id, "arguments": arguments, "result": result}


def cube(times, values=None, shape=(3, 4)) -> xr.DataArray:
    t = pd.DatetimeIndex(times)
    rng = np.random.default_rng(7)
    data = values if values is not None else rng.normal(size=(len(t), *shape))
    return xr.DataArray(
        data,
        dims=("t", "y", "x"),
        coords={"t": t, "y": np.arange(shape[0])[::-1] * 10.0, "x": np.arange(shape[1]) * 10.0},
    )


def test_processes_listed():
    specs = process_registry.available_specs()
    for pid in ("apply_neighborhood", "e", "date_shift", "date_between", "date_difference",
                "anomaly", "climatological_normal", "load_geojson", "load_stac",
                "apply_polygon", "text_find"):  # fmt: skip
        assert pid in specs, pid
    # Disabled or not implemented ones stay out of /processes.
    assert "run_udf" not in specs


def test_climatological_normal_and_anomaly_by_month():
    times = pd.date_range("2000-01-15", "2003-12-15", freq="MS") + pd.Timedelta(days=14)
    data = cube(times)
    graph = {
        "normals": node(
            "climatological_normal",
            result=False,
            data={"from_parameter": "data"},
            period="month",
            climatology_period=[2000, 2002],
        ),
        "anomaly": node(
            "anomaly",
            data={"from_parameter": "data"},
            normals={"from_node": "normals"},
            period="month",
        ),  # fmt: skip
    }
    result = run(graph, data=data)
    inside = data.sel(t=slice("2000", "2002"))
    expected_normals = inside.groupby("t.month").mean("t")
    months = data["t"].dt.month
    expected = data - expected_normals.sel(month=months).drop_vars("month")
    np.testing.assert_allclose(result.values, expected.transpose(*data.dims).values)
    assert list(result.dims) == list(data.dims)

    normals = run({"n": graph["normals"] | {"result": True}}, data=data)
    assert list(normals["t"].values) == [f"{m:02d}" for m in range(1, 13)]


def test_climatological_normal_seasons_take_december_into_next_winter():
    times = pd.date_range("1999-12-01", "2001-02-28", freq="MS")
    values = np.arange(len(times), dtype=float)[:, None, None] * np.ones((1, 2, 2))
    data = cube(times, values, shape=(2, 2))
    graph = {
        "n": node(
            "climatological_normal",
            data={"from_parameter": "data"},
            period="season",
            climatology_period=[2000, 2000],
        )  # fmt: skip
    }
    normals = run(graph, data=data)
    # Winter 2000: December 1999, January and February 2000 (indices 0, 1, 2).
    assert float(normals.sel(t="djf")[0, 0]) == pytest.approx(1.0)
    assert sorted(normals["t"].values) == ["djf", "jja", "mam", "son"]


def test_apply_neighborhood_matches_whole_cube_with_overlap():
    data = cube(pd.date_range("2020-01-01", periods=2), shape=(10, 12))
    process = {
        "process_graph": {
            "m": node("multiply", x={"from_parameter": "data"}, y=2.0),
        }
    }
    graph = {
        "n": node(
            "apply_neighborhood",
            data={"from_parameter": "data"},
            process=process,
            size=[
                {"dimension": "x", "value": 5, "unit": "px"},
                {"dimension": "y", "value": 4, "unit": "px"},
                {"dimension": "t", "value": None},
            ],
            overlap=[
                {"dimension": "x", "value": 2, "unit": "px"},
                {"dimension": "y", "value": 1, "unit": "px"},
            ],
        )  # fmt: skip
    }
    result = run(graph, data=data)
    xr.testing.assert_allclose(result.transpose(*data.dims), data * 2.0)


def test_apply_neighborhood_rejects_units_other_than_pixels():
    data = cube(pd.date_range("2020-01-01", periods=1))
    graph = {
        "n": node(
            "apply_neighborhood",
            data={"from_parameter": "data"},
            process={"process_graph": {"a": node("absolute", x={"from_parameter": "data"})}},
            size=[{"dimension": "x", "value": 100, "unit": "m"}],
        )
    }
    with pytest.raises(OpenEOError) as info:
        run(graph, data=data)
    assert info.value.status == 400


def test_merge_cubes_overlap_resolver_with_nested_references():
    times = pd.date_range("2020-01-01", periods=2)
    a, b = cube(times), cube(times) + 0.5
    b = b.copy(data=np.random.default_rng(3).normal(size=b.shape))
    resolver = {"process_graph": {"m": node("max", data=[{"from_parameter": "x"},
                                                         {"from_parameter": "y"}])}}  # fmt: skip
    graph = {
        "merge": node(
            "merge_cubes",
            cube1={"from_parameter": "a"},
            cube2={"from_parameter": "b"},
            overlap_resolver=resolver,
        )
    }
    result = run(graph, a=a, b=b)
    np.testing.assert_allclose(result.transpose(*a.dims).values, np.maximum(a.values, b.values))


def test_load_geojson_keeps_requested_properties():
    polygon = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}
    data = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": polygon, "properties": {"name": "a", "id": 1}},
        ],
    }
    result = run({"g": node("load_geojson", data=data, properties=["name"])})
    assert result["features"][0]["properties"] == {"name": "a"}
    assert run({"g": node("load_geojson", data=polygon)})["features"][0]["geometry"] == polygon
    with pytest.raises(OpenEOError):
        run({"g": node("load_geojson", data={"type": "Nope"})})


def test_date_processes_and_e():
    assert run({"d": node("date_shift", date="2020-01-31", value=1, unit="month")}) == "2020-02-29"
    assert run({"d": node("date_between", x="2020-06-01", min="2020-01-01", max="2021-01-01")})
    assert run({"d": node("date_difference", date1="2020-01-02", date2="2020-01-01")}) == -86400
    assert run({"e": node("e")}) == pytest.approx(np.e)


def test_null_handling_of_plain_values():
    assert run({"m": node("mean", data=[1, 2, 3, None])}) == 2
    assert run({"m": node("multiply", x=None, y=2)}) is None
    assert run({"m": node("sum", data=[])}) is None
    assert run({"m": node("gte", x=1, y=0)}) is True


def _utm_cube(dask: bool = False) -> xr.DataArray:
    """A 3-D (t, y, x) cube in EPSG:32632 (10 m pixels near Bolzano), values 0..."""
    values = np.arange(2 * 4 * 5, dtype=float).reshape(2, 4, 5)
    data = xr.DataArray(
        values,
        dims=("t", "y", "x"),
        coords={
            "t": pd.DatetimeIndex(["2022-06-01", "2022-06-02"]),
            "y": 5150005.0 - 10 * np.arange(4),
            "x": 680005.0 + 10 * np.arange(5),
        },
    ).rio.write_crs("EPSG:32632")
    return data.chunk({"t": 1}) if dask else data


def _square_around(data: xr.DataArray, rows: slice, cols: slice) -> dict:
    """A WGS 84 polygon around the centres of the given pixels (via the cube's CRS)."""
    import geopandas as gpd
    import shapely

    xs, ys = data["x"].values[cols], data["y"].values[rows]
    box = shapely.box(xs.min() - 4, ys.min() - 4, xs.max() + 4, ys.max() + 4)
    wgs = gpd.GeoSeries([box], crs=data.rio.crs).to_crs("EPSG:4326").iloc[0]
    return shapely.geometry.mapping(wgs)


@pytest.mark.parametrize("dask", [False, True])
@pytest.mark.parametrize("inside", [None, False, True])
def test_mask_polygon_inside_follows_the_spec(dask, inside):
    data = _utm_cube(dask)
    polygon = _square_around(data, slice(1, 3), slice(1, 4))
    arguments = {"data": {"from_parameter": "data"}, "mask": polygon}
    if inside is not None:
        arguments["inside"] = inside
    result = run({"m": node("mask_polygon", **arguments)}, data=data).compute()
    hit = np.zeros((4, 5), bool)
    hit[1:3, 1:4] = True
    keep = ~hit if inside else hit  # the spec: replaced unless inside (by default outside)
    expected = np.where(keep, data.values, np.nan)
    np.testing.assert_array_equal(result.values, expected)
    assert list(result.dims) == ["t", "y", "x"]


def test_mask_polygon_feature_replacement_and_nodata():
    data = _utm_cube()
    data[0, 0, 0] = np.nan  # no-data stays no-data, even with a replacement
    feature = {
        "type": "Feature",
        "geometry": _square_around(data, slice(0, 2), slice(0, 2)),
        "properties": {},
    }
    result = run(
        {"m": node("mask_polygon", data={"from_parameter": "data"}, mask=feature, replacement=-1)},
        data=data,
    )
    assert np.isnan(result.values[0, 0, 0])
    assert result.values[0, 1, 1] == data.values[0, 1, 1]
    assert (result.values[:, 2:, :] == -1).all() and (result.values[:, :, 2:] == -1).all()


def test_filter_spatial_crops_to_the_bounding_box_in_the_cube_crs():
    data = _utm_cube(dask=True)
    polygon = _square_around(data, slice(1, 3), slice(2, 4))
    result = run(
        {"f": node("filter_spatial", data={"from_parameter": "data"}, geometries=polygon)},
        data=data,
    ).compute()
    np.testing.assert_array_equal(result["x"].values, data["x"].values[2:4])
    np.testing.assert_array_equal(result["y"].values, data["y"].values[1:3])
    np.testing.assert_array_equal(result.values, data.values[:, 1:3, 2:4])


def _mean_reducer() -> dict:
    return {"process_graph": {"m": node("mean", data={"from_parameter": "data"})}}


def test_aggregate_temporal_period_months_are_spec_labels_complete_over_the_extent():
    times = pd.DatetimeIndex(["2022-01-03", "2022-01-20", "2022-03-31T23:59:59"])
    data = cube(times).chunk({"t": 1})
    graph = {
        "a": node(
            "aggregate_temporal_period",
            data={"from_parameter": "data"},
            period="month",
            reducer=_mean_reducer(),
        )
    }
    result = run(graph, data=data)
    assert result.chunks is not None  # stays lazy
    result = result.compute()
    assert list(result["t"].values) == ["2022-01", "2022-02", "2022-03"]
    np.testing.assert_allclose(result.values[0], data.values[:2].mean(axis=0))
    assert np.isnan(result.values[1]).all()  # February: no data, no-data
    np.testing.assert_allclose(result.values[2], data.values[2])


@pytest.mark.parametrize(
    ("period", "times", "labels"),
    [
        ("day", ["2020-12-30", "2021-01-01"], ["2020-365", "2020-366", "2021-001"]),
        ("week", ["2020-12-31", "2021-01-04"], ["2020-53", "2021-01"]),
        ("dekad", ["2021-01-21", "2021-02-01"], ["2021-03", "2021-04"]),
        ("season", ["2021-11-30", "2022-02-28"], ["2021-son", "2021-djf"]),
        ("tropical-season", ["2021-04-30", "2021-05-01"], ["2020-ndjfma", "2021-mjjaso"]),
        ("decade", ["2019-12-31", "2020-01-01"], ["2010", "2020"]),
        ("decade-ad", ["2020-12-31", "2021-01-01"], ["2011", "2021"]),
    ],
)
def test_aggregate_temporal_period_labels(period, times, labels):
    graph = {
        "a": node(
            "aggregate_temporal_period",
            data={"from_parameter": "data"},
            period=period,
            reducer=_mean_reducer(),
        )
    }
    assert list(run(graph, data=cube(times))["t"].values) == labels


def test_aggregate_temporal_open_bounds_times_of_day_and_empty_intervals():
    times = pd.DatetimeIndex(["2020-01-01T03:00", "2020-01-03T12:00", "2020-01-05T20:00"])
    data = cube(times)

    def aggregate(intervals, labels=None):
        args = {"data": {"from_parameter": "data"}, "intervals": intervals}
        if labels:
            args["labels"] = labels
        return run({"a": node("aggregate_temporal", reducer=_mean_reducer(), **args)}, data=data)

    result = aggregate([[None, "2020-01-04"], ["2020-01-04", None]], ["before", "after"])
    assert list(result["t"].values) == ["before", "after"]
    np.testing.assert_allclose(result.values[0], data.values[:2].mean(axis=0))
    np.testing.assert_allclose(result.values[1], data.values[2])

    result = aggregate([["06:00:00", "18:00:00"], ["18:00:00", "06:00:00"]])
    assert list(result["t"].values) == ["06:00:00", "18:00:00"]
    np.testing.assert_allclose(result.values[0], data.values[1])
    np.testing.assert_allclose(result.values[1], data.values[[0, 2]].mean(axis=0))

    # Left-closed: a time step on an interval's end belongs to the next one; overlaps allowed.
    result = aggregate([["2019-01-01", "2019-02-01"], ["2020-01-01", "2020-01-05T20:00"]])
    assert np.isnan(result.values[0]).all()
    np.testing.assert_allclose(result.values[1], data.values[:2].mean(axis=0))
    assert result["t"].values[1] == np.datetime64("2020-01-01")


def test_apply_dimension_extrema_on_a_lazy_cube():
    data = cube(pd.date_range("2020-01-01", periods=3)).chunk({"x": 2})
    process = {"process_graph": {"e": node("extrema", data={"from_parameter": "data"})}}
    result = run(
        {
            "a": node(
                "apply_dimension", data={"from_parameter": "data"}, process=process, dimension="t"
            )
        },  # fmt: skip
        data=data,
    ).compute()
    np.testing.assert_allclose(result.values[0], data.values.min(axis=0))
    np.testing.assert_allclose(result.values[1], data.values.max(axis=0))
    assert list(result["t"].values) == [0, 1]


def test_label_processes():
    data = cube(pd.date_range("2020-06-01", periods=2))
    labels = run({"d": node("dimension_labels", data={"from_parameter": "data"}, dimension="t")},
                 data=data)  # fmt: skip
    assert labels == ["2020-06-01T00:00:00Z", "2020-06-02T00:00:00Z"]
    bands = cube(["2020-06-01"]).isel(t=0, drop=True).expand_dims(bands=["B04", "B08"])
    empty = run({"f": node("filter_bands", data={"from_parameter": "data"}, bands=["B02"])},
                data=bands)  # fmt: skip
    assert empty.sizes["bands"] == 0
    with pytest.raises(OpenEOError) as info:
        run({"r": node("rename_labels", data={"from_parameter": "data"}, dimension="bands",
                       target=["red", "nir"])}, data=bands)  # fmt: skip
    assert info.value.code == "LabelsNotEnumerated"
    renamed = run({"r": node("rename_labels", data={"from_parameter": "data"}, dimension="t",
                             source=["2020-06-02T00:00:00Z"], target=["2020-07-01"])},
                  data=data)  # fmt: skip
    assert list(renamed["t"].values) == list(pd.DatetimeIndex(["2020-06-01", "2020-07-01"]).values)
    added = run({"a": node("add_dimension", data={"from_parameter": "data"}, name="t2",
                           label="2010-01-01T00:00:00Z", type="temporal")}, data=data)  # fmt: skip
    assert added["t2"].values[0] == np.datetime64("2010-01-01T00:00:00", "ns")


def test_filter_temporal_with_zoned_bounds_selects_utc_instants_without_warnings():
    """The parser's bounds are zone-aware; numpy has no zones and warned for each of them."""
    import warnings

    data = cube(pd.date_range("2022-01-01", periods=6, freq="12h"))
    graph = {
        "f": node(
            "filter_temporal",
            data={"from_parameter": "data"},
            # 02:00 at +02:00 is midnight UTC; a date-only end excludes its whole day.
            extent=["2022-01-02T02:00:00+02:00", "2022-01-03"],
        )
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = run(graph, data=data)
    assert [str(w.message) for w in caught if "timezone" in str(w.message)] == []
    assert list(got["t"].values) == list(
        pd.DatetimeIndex(["2022-01-02T00:00", "2022-01-02T12:00"]).values
    )
