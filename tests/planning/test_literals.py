"""Literal arguments that the run refuses are found by validation (planning/literals.py)."""

from __future__ import annotations

import pytest

from openeo_dedl.execution.access import DataAccess
from openeo_dedl.execution.registry import available_specs
from openeo_dedl.locations import LOCATION_PARAMETERS, UrlPrefix, static_refusal
from openeo_dedl.planning import validate_process_graph
from openeo_dedl.planning.dates import parse_date
from openeo_dedl.planning.literals import kernel_problem

ALLOWED = (UrlPrefix.parse("https://data.example.org/geo/"),)
EXTENT = {"west": 67.0, "south": 26.0, "east": 68.0, "north": 27.0}


def _errors(graph: dict, allowed=ALLOWED) -> list:
    return validate_process_graph(graph, available_specs(), allowed_urls=allowed)


def _on_load(process_id: str, **arguments) -> dict:
    return {
        "l": {
            "process_id": "load_collection",
            "arguments": {"id": "X", "spatial_extent": EXTENT, "temporal_extent": None},
        },
        "n": {
            "process_id": process_id,
            "arguments": {"data": {"from_node": "l"}, **arguments},
            "result": True,
        },
    }


# -- apply_kernel ---------------------------------------------------------------------------


@pytest.mark.parametrize("kernel", [[[1, 1], [1, 1]], [[1, 1, 1], [1, 1, 1]], [[1, 2]], [[1]] * 4])
def test_a_kernel_with_an_even_dimension_is_refused(kernel):
    [error] = _errors(_on_load("apply_kernel", kernel=kernel))
    assert error.code == "KernelDimensionsUneven" and error.status == 400


@pytest.mark.parametrize(
    "kernel",
    [
        [[1]],
        [[1, 2, 1], [2, 4, 2], [1, 2, 1]],
        [[1, 1, 1]],
        # Not a rectangle of numbers: the run refuses these in its own way, not as uneven.
        [[1, 1], [1]],
        [],
        [[{"from_parameter": "w"}, 1]],
        {"from_parameter": "kernel"},
    ],
)
def test_other_kernels_are_left_to_the_run(kernel):
    assert kernel_problem(kernel) is None


# -- dates ----------------------------------------------------------------------------------

NOT_DATES = ["not a date", "yesterday", "99999-01-01", "2022", "2022-13-01", "", "2022-02-30"]
DATES = ["2022-08-15", "2022-08-15T10:00:00Z", "2022-08-15T10:00:00.5+02:00", "2022-08-15 10:00"]


@pytest.mark.parametrize("text", NOT_DATES)
def test_parse_date_refuses(text):
    assert parse_date(text) is None


@pytest.mark.parametrize("text", DATES)
def test_parse_date_accepts(text):
    moment, date_only = parse_date(text)
    assert moment.tzinfo is not None and date_only == (len(text) == 10)


@pytest.mark.parametrize("text", NOT_DATES)
@pytest.mark.parametrize(
    ("process_id", "name", "others"),
    [
        ("date_shift", "date", {"value": 1, "unit": "day"}),
        ("date_difference", "date1", {"date2": "2022-01-01"}),
        ("date_difference", "date2", {"date1": "2022-01-01"}),
    ],
)
def test_a_date_process_with_a_literal_non_date_is_refused(process_id, name, others, text):
    graph = {"n": {"process_id": process_id, "arguments": {name: text, **others}, "result": True}}
    [error] = _errors(graph)
    assert error.code == "ProcessParameterInvalid"
    assert f"parameter '{name}' in process '{process_id}'" in error.message
    assert "RFC 3339" in error.message


@pytest.mark.parametrize("extent", [["yesterday", "x"], ["99999-01-01", None], [None, "2022"]])
def test_a_temporal_extent_with_a_non_date_is_refused(extent):
    graph = _on_load("save_result", format="netCDF")
    graph["l"]["arguments"]["temporal_extent"] = extent
    [error] = _errors(graph)
    assert error.code == "ProcessParameterInvalid" and "temporal_extent" in error.message


def test_dates_that_are_dates_or_references_pass():
    graph = _on_load("save_result", format="netCDF")
    graph["l"]["arguments"]["temporal_extent"] = ["2022-08-15", "2022-08-20T00:00:00Z"]
    graph["d"] = {
        "process_id": "date_shift",
        "arguments": {"date": {"from_parameter": "x"}, "value": 1, "unit": "day"},
    }
    graph["b"] = {
        "process_id": "date_between",  # the run answers false for non-dates: not refused
        "arguments": {"x": "yesterday", "min": "2022-01-01", "max": "2023-01-01"},
    }
    assert _errors(graph) == []


# -- locations ------------------------------------------------------------------------------

REFUSED = [
    "file:///etc/shadow",
    "/etc/passwd",
    "../bob/secret.geojson",
    "regions/../../bob/secret.geojson",
    "regions/",
    "ftp://data.example.org/geo/a.json",
    "http://data.example.org/geo/a.json",  # http, not the allowed https
    "https://data.example.org/other/a.json",
    "https://data.example.org/geo/../x.json",
    "https://user:pw@data.example.org/geo/a.json",
    "https://data.example.org:444/geo/a.json",
    "http://127.0.0.1/geo.json",
    "http://169.254.169.254/latest/meta-data/",
]
MAY_ALLOW = ["regions/alps.geojson", "a.json", "https://data.example.org/geo/alps.json"]


@pytest.mark.parametrize("location", REFUSED)
def test_static_refusal_refuses(location):
    assert static_refusal(location, ALLOWED)


@pytest.mark.parametrize("location", MAY_ALLOW)
def test_static_refusal_leaves_what_needs_a_lookup(location):
    assert static_refusal(location, ALLOWED) is None


def test_without_the_allow_list_urls_are_checked_for_everything_else():
    assert static_refusal("https://anywhere.example.com/a.json", None) is None
    assert static_refusal("https://anywhere.example.com/a.json", ()) is not None
    assert static_refusal("file:///etc/shadow", None) is not None


def _location_graph(process_id: str, name: str, location: str) -> dict:
    if process_id == "load_geojson":
        return {"n": {"process_id": process_id, "arguments": {name: location}, "result": True}}
    extra = {}
    if process_id == "aggregate_spatial":
        extra["reducer"] = {
            "process_graph": {
                "m": {
                    "process_id": "mean",
                    "arguments": {"data": {"from_parameter": "data"}},
                    "result": True,
                }
            }
        }
    return _on_load(process_id, **{name: location}, **extra)


@pytest.mark.parametrize("location", REFUSED)
@pytest.mark.parametrize(
    ("process_id", "name"),
    sorted((pid, name) for pid, names in LOCATION_PARAMETERS.items() for name in names),
)
def test_a_refused_location_is_the_policys_refusal(process_id, name, location):
    [error] = _errors(_location_graph(process_id, name, location))
    expected = DataAccess.refusal(process_id, name)
    assert (error.code, error.status, error.message) == (
        expected.code,
        expected.status,
        expected.message,
    )


@pytest.mark.parametrize("location", MAY_ALLOW)
def test_a_location_that_may_be_allowed_passes(location):
    assert _errors(_location_graph("aggregate_spatial", "geometries", location)) == []


def test_literals_inside_callbacks_are_checked():
    graph = {
        "n": {
            "process_id": "apply",
            "arguments": {
                "data": [1],
                "process": {
                    "process_graph": {
                        "d": {
                            "process_id": "date_shift",
                            "arguments": {"date": "yesterday", "value": 1, "unit": "day"},
                            "result": True,
                        }
                    }
                },
            },
            "result": True,
        }
    }
    assert [e.code for e in _errors(graph)] == ["ProcessParameterInvalid"]


# -- geometries -----------------------------------------------------------------------------

UNCLOSED = {"type": "Polygon", "coordinates": [[[67, 26], [68, 26]]]}
BAD_GEOMETRIES = [
    UNCLOSED,
    {"type": "Polygon", "coordinates": "abc"},
    {"type": "Point", "coordinates": ["a", "b"]},
    {"type": "Hexagon", "coordinates": [1, 2]},
    {"type": "LineString", "coordinates": [[67, 26]]},
    {"type": "Feature", "properties": {}, "geometry": UNCLOSED},
    {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": UNCLOSED}]},
    {"type": "GeometryCollection", "geometries": [{"type": "Hexagon", "coordinates": [1, 2]}]},
]
GOOD_GEOMETRIES = [
    {"type": "Polygon", "coordinates": [[[67, 26], [68, 26], [68, 27], [67, 26]]]},
    {"type": "Point", "coordinates": [67.5, 26.5]},
    {"type": "FeatureCollection", "features": []},
    # A feature without a geometry: the run refuses it with its own message.
    {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": None}]},
    # References inside are only known when the graph runs.
    {"type": "Point", "coordinates": [{"from_parameter": "x"}, 26.5]},
]


@pytest.mark.parametrize("geometry", BAD_GEOMETRIES)
@pytest.mark.parametrize(
    ("process_id", "name"),
    [
        ("aggregate_spatial", "geometries"),
        ("filter_spatial", "geometries"),
        ("mask_polygon", "mask"),
    ],
)
def test_a_geometry_shapely_cannot_build_is_refused(process_id, name, geometry):
    [error] = _errors(_location_graph(process_id, name, geometry))
    assert error.code == "ProcessParameterInvalid" and error.status == 400
    assert f"parameter '{name}' in process '{process_id}'" in error.message


@pytest.mark.parametrize("geometry", GOOD_GEOMETRIES)
def test_geometries_shapely_builds_or_references_pass(geometry):
    assert _errors(_location_graph("filter_spatial", "geometries", geometry)) == []


def test_load_geojson_passes_geometries_on_as_the_run_does():
    # Its run accepts an unclosed ring (it builds no geometry): not refused before.
    assert _errors(_location_graph("load_geojson", "data", UNCLOSED)) == []
