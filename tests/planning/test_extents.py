"""Typed extents (one parser for planner and loader) and the pixel-centre selection rule."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from openeo_pg_parser_networkx.pg_schema import TemporalInterval

from openeo_dedl.errors import ProcessParameterInvalid
from openeo_dedl.planning import CollectionFacts, ItemFacts, plan_process_graph
from openeo_dedl.planning.extents import BoundingBox, bounding_box, time_interval
from openeo_dedl.planning.pixels import Grid, centres_in, select
from tests.planning.helpers import load

UTC = dt.UTC
AUG_20 = dt.datetime(2022, 8, 20, tzinfo=UTC)


@pytest.mark.parametrize(
    "start",
    [
        "2022-08-20",
        "2022-08-20T00:00:00Z",
        "2022-08-20T02:00:00+02:00",
        dt.datetime(2022, 8, 20),
        dt.date(2022, 8, 20),
        np.datetime64("2022-08-20T00:00:00"),
        pd.Timestamp("2022-08-20", tz="UTC"),
    ],
    ids=["date", "zulu", "offset", "naive-datetime", "date-object", "numpy", "pandas"],
)
def test_static_and_computed_instants_are_one_interval(start):
    """A literal string and a value computed at run time (date_shift gives datetimes or numpy
    timestamps) mean the same instant: UTC, a date is its midnight."""
    assert time_interval([start, None]) == time_interval(["2022-08-20", None])
    assert time_interval([start, None]).start == AUG_20


def test_parser_models_read_like_the_json_they_came_from():
    """openeo-pg-parser-networkx's TemporalInterval (where an argument was not literal) is read
    as the same interval as the JSON."""
    model = TemporalInterval.model_validate(["2022-08-20", "2022-09-01T12:00:00Z"])
    assert time_interval(model) == time_interval(["2022-08-20", "2022-09-01T12:00:00Z"])


@pytest.mark.parametrize(
    "bad",
    [["2022-13-01", None], ["20220820", None], ["2022-09-01", "2022-08-01"], "2022-08-20", [1, 2]],
)
def test_what_is_not_an_rfc3339_interval_is_refused(bad):
    with pytest.raises(ProcessParameterInvalid):
        time_interval(bad)


def test_references_and_null_narrow_nothing():
    assert time_interval(None) is None
    assert time_interval([{"from_parameter": "start"}, None]) is None
    assert bounding_box(None) is None
    assert (
        bounding_box({"west": {"from_parameter": "w"}, "south": 0, "east": 1, "north": 1}) is None
    )


def test_bounding_boxes_are_typed_and_checked():
    assert bounding_box({"west": 1, "south": 2, "east": 3, "north": 4, "crs": 32632}) == (
        BoundingBox(1.0, 2.0, 3.0, 4.0, "EPSG:32632")
    )
    for bad in (
        {"west": 3, "south": 2, "east": 1, "north": 4},
        {"west": 1, "south": 2, "east": 1, "north": 4},
    ):
        with pytest.raises(ProcessParameterInvalid):
            bounding_box(bad)


def test_centres_on_edges_west_and_south_in_east_and_north_out():
    # Centres 0.5, 1.5, 2.5, ...: [0.5, 2.5) holds 0.5 and 1.5.
    assert centres_in(0.5, 2.5, 0.0, 1.0, 10) == range(0, 2)
    # North-up rows (step -1 from y0 = 10): centres 9.5, 8.5, ...; [7.5, 9.5) holds 8.5, 7.5.
    assert centres_in(7.5, 9.5, 10.0, -1.0, 10) == range(1, 3)
    # Float noise on an edge: 0.1 * 3 is 0.30000000000000004, still on the centre 0.3.
    assert centres_in(0.1 * 3, 0.7, 0.2, 0.2, 10) == range(0, 2)


# GFM_FLOOD-like: 600 × 600 pixels of 20 m in UTM zone 42N, its real WGS84 footprint.
GFM_NATIVE = (394000.0, 2982000.0, 406000.0, 2994000.0)
GFM_BBOX = (67.9310437, 26.9559125, 68.0529518, 27.0651042)
GFM = CollectionFacts(
    id="GFM",
    sites=("central",),
    bbox=GFM_BBOX,
    crs="EPSG:32642",
    native_bbox=GFM_NATIVE,
    resolution=(20.0, 20.0),
    times=(dt.datetime(2022, 8, 29, tzinfo=UTC),),
)
# ERA5-like: 0.1° lon/lat cells over 65-71° E, 24-30° N.
ERA5 = CollectionFacts(
    id="ERA5",
    sites=("lumi",),
    bbox=(65.0, 24.0, 71.0, 30.0),
    crs="EPSG:4326",
    native_bbox=(65.0, 24.0, 71.0, 30.0),
    resolution=(0.1, 0.1),
    times=(dt.datetime(2022, 8, 25, tzinfo=UTC),),
)


def pixels_of(facts: CollectionFacts, extent) -> int:
    graph = {"l": {**load(facts.id, spatial_extent=extent), "result": True}}
    return plan_process_graph(graph, {facts.id: facts}, "lumi").node_bytes["l"] / 4


@pytest.mark.parametrize(
    ("box", "pixels"),
    [
        ((-180, -90, 180, 90), 600 * 600),  # the world: the data's own grid
        ((-180, 0, 180, 90), 600 * 600),  # the northern hemisphere
        ((60, 20, 75, 35), 600 * 600),  # across UTM zone 42 (66-72° E)
        ((-180, -90, 180, 0), 1),  # the southern hemisphere: nothing (counted as one)
        ((70, 27, 71, 28), 1),  # beside the data: nothing
    ],
)
def test_wgs84_boxes_on_a_utm_collection_are_clipped_to_its_footprint(box, pixels):
    extent = dict(zip(("west", "south", "east", "north"), box, strict=True))
    assert pixels_of(GFM, extent) == pixels


def test_the_flood_aoi_holds_one_by_two_era5_pixel_centres():
    extent = dict(zip(("west", "south", "east", "north"), GFM_BBOX, strict=True))
    assert pixels_of(ERA5, extent) == 1 * 2


def test_the_planner_and_the_loader_share_the_grid_of_the_items():
    """With item footprints known, the grid is their union in the native CRS (what odc-stac
    loads), and the selection is made on it."""
    west = ItemFacts(("lumi",), (65.0, 24.0, 68.0, 30.0), ERA5.times[0], (65.0, 24.0, 68.0, 30.0))
    facts = CollectionFacts(**{**ERA5.__dict__, "id": "E", "items": (west,)})
    extent = {"west": 67.75, "south": 25.0, "east": 69.0, "north": 25.3}
    # Columns 67.75, 67.85, 67.95 (the items end at 68° E), rows 25.05, 25.15, 25.25.
    assert pixels_of(facts, extent) == 3 * 3
    grid = Grid.from_bounds("EPSG:4326", (65.0, 24.0, 68.0, 30.0), (0.1, 0.1))
    assert select(bounding_box(extent), grid).shape == (3, 3)
