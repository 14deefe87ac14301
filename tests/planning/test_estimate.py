"""Size estimates: metadata narrowed by filters, shrunk by reductions and resampling.

Collection C: 100 × 100 pixels over 1° × 1°, 10 daily time steps, bands b1 and b2 (float32),
so a plain load is 100 · 100 · 10 · 2 · 4 bytes.
"""

from __future__ import annotations

import pytest

from openeo_dedl.planning import CollectionFacts, ItemFacts, plan_process_graph
from tests.planning.helpers import BBOX, day, facts, iso, load, node, reduce, reducer

FACTS = {
    "C": facts("C", "lumi"),
    "D": facts("D", "lumi", bands=(("b3", "float32"), ("b4", "float32"))),
    "U8": facts("U8", "lumi", bands=(("f", "uint8"),)),
    "UTM": CollectionFacts(
        id="UTM",
        sites=("lumi",),
        bbox=BBOX,
        crs="EPSG:32632",
        native_bbox=(0.0, 0.0, 1000.0, 1000.0),
        resolution=(10.0, 10.0),
        times=(day(0),),
    ),
    "ITEMS": facts(
        "ITEMS", "lumi", items=tuple(ItemFacts(("lumi",), BBOX, day(i)) for i in (0, 2, 4))
    ),
}
FULL = 100 * 100 * 10 * 2 * 4
POINTS = {
    "type": "FeatureCollection",
    "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": c}}
        for c in ([10.1, 40.1], [10.5, 40.5], [10.9, 40.9])
    ],
}


def estimate(out: dict, **extra_nodes: dict) -> int:
    graph = {"l": load("C"), **extra_nodes, "out": {**out, "result": True}}
    return plan_process_graph(graph, FACTS, "lumi").node_bytes["out"]


@pytest.mark.parametrize(
    ("out", "expected"),
    [
        (load("C"), FULL),
        (load("C", spatial_extent={"west": 10, "south": 40, "east": 10.5, "north": 41}), FULL / 2),
        (load("C", temporal_extent=[iso(0), iso(3)]), FULL * 3 / 10),
        (load("C", temporal_extent=[iso(8), None]), FULL * 2 / 10),
        (load("C", bands=["b1"]), FULL / 2),
        (
            node("filter_bbox", data="@l", extent=dict(west=10, south=40, east=10.5, north=40.5)),
            FULL / 4,
        ),
        (node("filter_temporal", data="@l", extent=[iso(2), None]), FULL * 8 / 10),
        (node("filter_bands", data="@l", bands=["b2"]), FULL / 2),
        (reduce("l", "t"), FULL / 10),
        (reduce("l", "bands"), FULL / 2),
        # Days 1-10 August 2022: two ISO weeks.
        (
            node("aggregate_temporal_period", data="@l", period="week", reducer=reducer("mean")),
            FULL * 2 / 10,
        ),
        (
            node("aggregate_temporal_period", data="@l", period="month", reducer=reducer("mean")),
            FULL / 10,
        ),
        (
            node(
                "aggregate_temporal",
                data="@l",
                intervals=[[iso(0), iso(2)]] * 3,
                reducer=reducer("mean"),
            ),
            FULL * 3 / 10,
        ),
        (node("resample_spatial", data="@l", resolution=0.02), FULL / 4),
        (node("resample_spatial", data="@l", resolution=0.005), FULL * 4),
        (
            node("aggregate_spatial", data="@l", geometries=POINTS, reducer=reducer("mean")),
            3 * 10 * 2 * 8,
        ),
        (node("ndvi", data="@l", nir="b1", red="b2"), 100 * 100 * 10 * 8),
        (node("apply", data="@l", process=reducer("absolute")), FULL),
        (load("U8"), 100 * 100 * 10),
        # Reductions of integers give float64.
        (reduce("u8", "t"), 100 * 100 * 8),
        (node("merge_cubes", cube1="@l", cube2="@d"), FULL * 2),
        (node("mask", data="@l", mask="@u8"), FULL),
        (node("resample_cube_spatial", data="@l", target="@utm"), 100 * 100 * 10 * 2 * 4),
        # Native-CRS extent: half of the 1000 m wide UTM footprint.
        (
            load(
                "UTM",
                spatial_extent={"west": 0, "south": 0, "east": 500, "north": 1000, "crs": 32632},
            ),
            50 * 100 * 4,
        ),
        # Extent in another CRS, projected to WGS84 (pyproj) and clipped to the footprint:
        # this one lies in the Atlantic, far from the data: no pixel (counted as one).
        (
            load(
                "UTM",
                spatial_extent={"west": 0, "south": 0, "east": 500, "north": 1000, "crs": 3035},
            ),
            1 * 4,
        ),
        # Items known: their time steps count (days 0, 2, 4 of which 0 and 2 are asked for).
        (load("ITEMS", temporal_extent=[iso(0), iso(3)]), 100 * 100 * 2 * 2 * 4),
        # Unknown collection: 1000 × 1000 pixels, 10 steps, one float32 band.
        (load("NOPE"), 1000 * 1000 * 10 * 4),
        (node("add", x=1, y=2), 8),
    ],
)
def test_estimates(out, expected):
    extra = {"u8": load("U8"), "d": load("D"), "utm": load("UTM")}
    assert estimate(out, **extra) == pytest.approx(expected)


def test_chained_filters_and_reductions_compose():
    graph = {
        "l": load("C", bands=["b1"]),
        "f": node("filter_temporal", data="@l", extent=[iso(0), iso(5)]),
        "b": node("filter_bbox", data="@f", extent=dict(west=10, south=40, east=10.5, north=41)),
        "r": {**reduce("b", "t"), "result": True},
    }
    sizes = plan_process_graph(graph, FACTS, "lumi").node_bytes
    assert sizes["f"] == 100 * 100 * 5 * 4
    assert sizes["b"] == 50 * 100 * 5 * 4
    assert sizes["r"] == 50 * 100 * 4


BAD_NUMBERS = [float("inf"), float("-inf"), float("nan"), "inf", "10", None, True]


@pytest.mark.parametrize("bad", BAD_NUMBERS)
def test_non_finite_or_non_numeric_extents_are_invalid_parameters(bad):
    from openeo_dedl.errors import ProcessParameterInvalid

    box = {"west": bad, "south": 40, "east": 10.5, "north": 41}
    graphs = [
        {"l": {**load("C", spatial_extent=box), "result": True}},
        {
            "l": load("C"),
            "f": {**node("filter_bbox", data="@l", extent=box), "result": True},
        },
    ]
    if not isinstance(bad, str | None):
        point = {"type": "Point", "coordinates": [bad, 40.5]}
        polygon = {"type": "Polygon", "coordinates": [[[10, 40], [bad, 40], [10, 41], [10, 40]]]}
        for geometry in (point, polygon):
            graphs.append(
                {
                    "l": load("C"),
                    "f": {**node("filter_spatial", data="@l", geometries=geometry), "result": True},
                }
            )
    for graph in graphs:
        with pytest.raises(ProcessParameterInvalid, match="finite number"):
            plan_process_graph(graph, FACTS, "lumi")


def test_extents_from_parameters_narrow_nothing():
    box = {"west": {"from_parameter": "w"}, "south": 40, "east": 10.5, "north": 41}
    assert estimate(load("C", spatial_extent=box)) == FULL


def test_fraction_of_non_finite_boxes_is_the_whole():
    from openeo_dedl.planning.extents import fraction

    nan = float("nan")
    assert fraction((nan, 40.0, 10.5, 41.0), BBOX) == (1.0, 1.0)
    assert fraction((10.0, 40.0, 10.5, 41.0), (nan, 40.0, 11.0, 41.0)) == (1.0, 1.0)
    assert fraction((10.0, 40.0, 10.5, 40.5), BBOX) == (0.5, 0.5)


@pytest.mark.parametrize(
    ("box", "pixels"),
    [
        # 0.005° inside one 0.01° pixel, around its centre (10.005, 40.005): one pixel.
        ({"west": 10.001, "south": 40.001, "east": 10.006, "north": 40.006}, 1),
        # As small, across a pixel corner but around no pixel centre: no pixel (the loader
        # finds no data; an empty selection counts one pixel).
        ({"west": 10.008, "south": 40.008, "east": 10.013, "north": 40.013}, 1),
        # Edges on pixel borders: 2 × 3 centres.
        ({"west": 10.0, "south": 40.0, "east": 10.02, "north": 40.03}, 6),
        # West edge on a centre (10.005, in), east edge on one (10.035, out): 3 columns.
        ({"west": 10.005, "south": 40.001, "east": 10.035, "north": 40.009}, 3),
        # South edge on a centre (in), north edge on one (out): 2 rows of 1 column.
        ({"west": 10.001, "south": 40.005, "east": 10.009, "north": 40.025}, 2),
        # Beyond the collection: clipped to its grid; 10.015 and 40.015 are centres (out).
        ({"west": 9.0, "south": 39.0, "east": 10.015, "north": 40.015}, 1),
        # Huge but finite edges do not overflow: the whole grid; beyond the east edge, no
        # column (an empty extent counts one pixel) of all 100 rows.
        ({"west": -1e308, "south": -1e308, "east": 1e308, "north": 1e308}, 100 * 100),
        ({"west": 1e307, "south": 40.0, "east": 1e308, "north": 41.0}, 100),
    ],
)
def test_loads_count_the_pixels_whose_centre_the_extent_holds(box, pixels):
    """load_collection's spec: a pixel is loaded when its centre is in the extent; here west
    and south edges are in, east and north edges out (docs/architecture.md)."""
    assert estimate(load("C", spatial_extent=box, bands=["b1"])) == pixels * 10 * 4


def test_a_sites_part_of_a_split_load_lies_on_the_whole_loads_grid():
    """The runner reads a site's items on the grid of the whole load (NaN elsewhere), so a part
    by area is as large as the whole grid over the site's time steps, not its own area only."""
    west, east = (10.0, 40.0, 10.5, 41.0), (10.5, 40.0, 11.0, 41.0)
    items = (
        *(ItemFacts(("lumi",), west, day(i)) for i in range(4)),
        *(ItemFacts(("central",), east, day(i)) for i in range(2)),
    )
    collections = {"A": facts("A", "lumi", items=items)}
    graph = {"l": {**load("A"), "result": True}}
    p = plan_process_graph(graph, collections, "lumi", sites=("lumi", "central"))
    assert p.node_bytes["l__lumi"] == 100 * 100 * 4 * 2 * 4
    assert p.node_bytes["l__central"] == 100 * 100 * 2 * 2 * 4
