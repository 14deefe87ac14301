"""The process graphs of the paper's two use cases, built with the openEO Python client.

``flood_graph``: the 2022 Pakistan flood. Flooded built-up area per district (GFM_FLOOD's flood
extent, reduced over time, as flooded share of each 100 m cell of GHSL_BUILT_S, times the built-up
surface; all at ``central``) and the precipitation accumulated over the flood season (ERA5_LAND
summed over time at ``lumi``; only the 2-D sum moves). One ``aggregate_spatial`` (reducer
``sum``) over three bands per district: ``flooded_built_up_m2``, ``precipitation_mm_cellsum``
(accumulated precipitation summed over the district's 100 m cells) and ``cells``; the district's
mean accumulated precipitation is ``precipitation_mm_cellsum / cells``. (One aggregation with one
reducer, because openeo-processes-dask cannot merge two vector cubes.)

``drought_graph``: the 2022 Po valley drought. Monthly relative soil-moisture anomaly of the target
year against the mean of the same month in the reference years, in percent, for S1_SSM (at
``leonardo``) and ERA5_LAND's soil moisture (at ``lumi``, resampled onto the S1 grid after it
is reduced), kept on agricultural land only (CORINE_LAND_COVER codes 2xx covering at least half
of a 500 m cell, computed at ``central``), averaged per province: a (province, month, band)
time series. The climatology is the mean of the reference years' monthly means
(``aggregate_temporal_period`` per year, relabelled with the target year's months, added up):
plain band math over standard processes (the graph predates this back-end's
``climatological_normal`` and ``anomaly``, which could express it too).

``python examples/graphs.py CATALOG_DIR`` writes the graphs for a demo catalog (extents and region
polygons from it) to ``examples/flood_pakistan.json`` and ``examples/drought_po_valley.json``.
``adapt_graph`` points a stored graph at other extents and regions (another catalog size).
"""

from __future__ import annotations

import copy
import json
import math
import sys
from pathlib import Path

from openeo import processes
from openeo.rest.datacube import THIS, DataCube

HERE = Path(__file__).resolve().parent
FLOOD_JSON = HERE / "flood_pakistan.json"
DROUGHT_JSON = HERE / "drought_po_valley.json"
PAKISTAN_REGIONS = "regions/pakistan_districts.geojson"
PO_VALLEY_REGIONS = "regions/po_valley_provinces.geojson"

# The 2022 monsoon flood season in Sindh (GFM's flood grows from mid-August, peaks around 31 August
# and recedes through September).
FLOOD_WINDOW = ("2022-07-01", "2022-11-01")
# The drought year and the reference years of the climatology (in every demo catalog size).
DROUGHT_YEAR = 2022
REFERENCE_YEARS = (2020, 2021)
# CORINE level-3 codes 2xx: agricultural areas; S1_SSM's grid (EPSG:32632, 500 m).
AGRICULTURE_CODES = (200, 300)
S1_CRS, S1_RESOLUTION = 32632, 500
AGRICULTURE_MIN_SHARE = 0.5

FLOOD_BANDS = ("flooded_built_up_m2", "precipitation_mm_cellsum", "cells")
DROUGHT_BANDS = ("s1_ssm_anomaly_pct", "era5_sm_anomaly_pct")


def _bbox(bbox: dict) -> dict:
    """A ``spatial_extent``: west, south, east, north and crs (EPSG code)."""
    return {k: bbox[k] for k in ("west", "south", "east", "north", "crs") if k in bbox}


def _load(collection: str, bbox, bands: list[str], temporal=None) -> DataCube:
    return DataCube.load_collection(
        collection,
        connection=None,
        spatial_extent=_bbox(bbox),
        temporal_extent=list(temporal) if temporal else None,
        bands=bands,
    )


def flood_graph(
    extents: dict[str, dict], regions: dict, window: tuple[str, str] = FLOOD_WINDOW
) -> dict:
    """Flat process graph of the flood use case: ``extents`` (collection id → spatial_extent,
    see ``use_case_extents``) and the district polygons ``regions``."""
    # Ever flooded in the window: the maximum over time on the raw bytes (cheap), then == 1.
    flood = _load("GFM_FLOOD", extents["GFM_FLOOD"], ["flood_extent"], window)
    flooded = flood.reduce_dimension(dimension="t", reducer="max").apply(lambda x: x == 1)
    built = _load("GHSL_BUILT_S", extents["GHSL_BUILT_S"], ["built_surface"]).reduce_dimension(
        dimension="t", reducer="first"
    )
    # Flooded share of each 100 m GHSL cell: the mean of its 5 x 5 flood pixels.
    share = flooded.resample_cube_spatial(target=built, method="average")
    # rename_labels names the band it renames: without `source` the spec wants labels 0, 1, ...
    share = share.rename_labels("bands", [FLOOD_BANDS[0]], source=["flood_extent"])
    flooded_built = built.rename_labels("bands", [FLOOD_BANDS[0]], source=["built_surface"])
    flooded_built = flooded_built * share
    cells = share.apply(lambda x: x * 0 + 1).rename_labels(
        "bands", [FLOOD_BANDS[2]], source=[FLOOD_BANDS[0]]
    )
    # Accumulated precipitation, reduced at the ERA5 site; only the 2-D sum leaves it.
    precipitation = _load("ERA5_LAND", extents["ERA5_LAND"], ["total_precipitation"], window)
    precipitation = precipitation.reduce_dimension(dimension="t", reducer="sum")
    precipitation = precipitation.resample_cube_spatial(target=built, method="near")
    precipitation = precipitation.rename_labels(
        "bands", [FLOOD_BANDS[1]], source=["total_precipitation"]
    )
    stack = flooded_built.merge_cubes(precipitation).merge_cubes(cells)
    result = stack.aggregate_spatial(geometries=regions, reducer="sum").save_result("JSON")
    return result.flat_graph()


def _month_labels(year: int) -> list[str]:
    """The labels ``aggregate_temporal_period(period="month")`` gives a year's months (the
    spec's ``YYYY-MM``)."""
    return [f"{year}-{month:02d}" for month in range(1, 13)]


def _monthly(cube: DataCube, year: int, labels: list[str]) -> DataCube:
    """Monthly means of ``year`` labelled ``labels`` (the target year's months), so that the
    months of different years line up in band math."""
    one_year = cube.filter_temporal(f"{year}-01-01", f"{year + 1}-01-01")
    monthly = one_year.aggregate_temporal_period(period="month", reducer="mean")
    return monthly.rename_labels("t", target=labels, source=_month_labels(year))


def _relative_anomaly(cube: DataCube, year: int, reference_years) -> DataCube:
    """Monthly mean of ``year`` minus the mean of the same months in ``reference_years``, in %
    of the latter; time labels are the first days of the target year's months.

    ``aggregate_temporal_period`` groups by calendar month and labels the months ``YYYY-MM``
    (the spec's labels), which ``rename_labels`` turns into the target year's dates.
    """
    labels = [f"{year}-{month:02d}-01" for month in range(1, 13)]
    current = _monthly(cube, year, labels)
    normal = None
    for ref in reference_years:
        monthly = _monthly(cube, ref, labels)
        normal = monthly if normal is None else normal + monthly
    normal = normal / len(reference_years)
    return (current - normal) / normal * 100


def drought_graph(
    extents: dict[str, dict],
    regions: dict,
    year: int = DROUGHT_YEAR,
    reference_years=REFERENCE_YEARS,
) -> dict:
    """Flat process graph of the drought use case: ``extents`` (collection id → spatial_extent,
    see ``use_case_extents``) and the province polygons ``regions``."""
    window = (f"{min(reference_years)}-01-01", f"{year + 1}-01-01")
    s1 = _load("S1_SSM", extents["S1_SSM"], ["ssm"], window)
    s1_anomaly = _relative_anomaly(s1, year, reference_years).rename_labels(
        "bands", [DROUGHT_BANDS[0]], source=["ssm"]
    )
    era5 = _load("ERA5_LAND", extents["ERA5_LAND"], ["soil_moisture"], window)
    era5_anomaly = (
        _relative_anomaly(era5, year, reference_years)
        .resample_cube_spatial(target=s1_anomaly, method="near")
        .rename_labels("bands", [DROUGHT_BANDS[1]], source=["soil_moisture"])
    )
    land_cover = _load("CORINE_LAND_COVER", extents["CORINE_LAND_COVER"], ["land_cover"])
    land_cover = land_cover.reduce_dimension(dimension="t", reducer="first")
    low, high = AGRICULTURE_CODES
    # gt/lt, not between/gte: openeo-processes-dask's gte computes x - y >= 0, which wraps
    # around for unsigned integers (CORINE codes are uint16).
    agriculture = land_cover.reduce_dimension(
        dimension="bands",
        reducer=lambda d: processes.and_(d.array_element(0) > low - 1, d.array_element(0) < high),
    )
    # Share of agricultural land per 500 m cell, on S1's grid, computed where CORINE is (a
    # target-free resampling: resample_cube_spatial would need the S1 cube there).
    share = agriculture.process(
        "resample_spatial",
        data=THIS,
        resolution=S1_RESOLUTION,
        projection=S1_CRS,
        method="average",
    )
    not_agricultural = share.apply(lambda x: x < AGRICULTURE_MIN_SHARE)
    anomalies = s1_anomaly.merge_cubes(era5_anomaly).mask(not_agricultural)
    result = anomalies.aggregate_spatial(geometries=regions, reducer="mean").save_result("JSON")
    return result.flat_graph()


def adapt_graph(
    graph: dict, extents: dict[str, dict] | None = None, regions: dict | None = None
) -> dict:
    """A copy of a stored use-case graph for another area (collection id → the spatial_extent
    its loads read) and other region polygons (every aggregation): another catalog size."""
    graph = copy.deepcopy(graph)
    for node in graph.values():
        args = node.get("arguments", {})
        if node["process_id"] == "load_collection" and extents and args.get("id") in extents:
            args["spatial_extent"] = _bbox(extents[args["id"]])
        if node["process_id"] == "aggregate_spatial" and regions is not None:
            args["geometries"] = regions
    return graph


def read_graph(path: Path) -> dict:
    """The flat process graph of a stored ``{"process_graph": …}`` document."""
    doc = json.loads(Path(path).read_text())
    return doc.get("process_graph", doc)


def native_extent(collection: dict) -> dict:
    """A collection's bounds in its own CRS, from its ``cube:dimensions`` (a STAC Collection or
    the answer of ``GET /collections/{id}``): the loads then read exactly the native grid."""
    dims = collection["cube:dimensions"]
    (west, east), (south, north) = dims["x"]["extent"], dims["y"]["extent"]
    crs = dims["x"]["reference_system"]
    return {"west": west, "south": south, "east": east, "north": north, "crs": crs}


def wgs84_extent(collection: dict) -> dict:
    """A collection's first (overall) WGS84 bbox as a spatial_extent."""
    west, south, east, north = collection["extent"]["spatial"]["bbox"][0]
    return {"west": west, "south": south, "east": east, "north": north}


def cells_covering(extent: dict, collection: dict) -> dict:
    """``extent`` (WGS84) grown outward to the edges of ``collection``'s lon/lat grid cells.

    A load selects the pixels whose *centre* lies in its extent (load_collection's spec), so
    the AOI's own box holds only the coarse cells whose centres fall inside it: 1 x 2 of the
    0.1° ERA5 cells over the 12 km flood AOI, whose southern half would get no precipitation.
    The box on cell edges holds every cell the AOI touches (2 x 2).
    """
    dims = collection["cube:dimensions"]
    (x0, _), (y0, _) = dims["x"]["extent"], dims["y"]["extent"]
    dx, dy = abs(dims["x"]["step"]), abs(dims["y"]["step"])

    def snap(value: float, origin: float, step: float, up: bool) -> float:
        cells = (value - origin) / step
        whole = round(cells)
        if abs(cells - whole) > 1e-9:
            whole = math.ceil(cells) if up else math.floor(cells)
        return round(origin + whole * step, 9)

    return {
        "west": snap(extent["west"], x0, dx, False),
        "south": snap(extent["south"], y0, dy, False),
        "east": snap(extent["east"], x0, dx, True),
        "north": snap(extent["north"], y0, dy, True),
    }


def use_case_extents(describe) -> dict[str, dict]:
    """What each load reads, from collection metadata (``describe(collection_id)`` gives a
    STAC Collection): the AOIs of GFM_FLOOD (flood) and S1_SSM (drought) in their own CRS, so
    that the loads of the AOI's collections read exactly their native grids.

    ERA5_LAND gets the ERA5 cells covering the AOI's WGS84 bbox (``cells_covering``), not the
    projected box: a lon/lat grid is best asked for in lon/lat, on its own cell edges.
    """
    flood, drought, era5 = describe("GFM_FLOOD"), describe("S1_SSM"), describe("ERA5_LAND")
    return {
        "flood": {
            "GFM_FLOOD": native_extent(flood),
            "GHSL_BUILT_S": native_extent(flood),
            "ERA5_LAND": cells_covering(wgs84_extent(flood), era5),
        },
        "drought": {
            "S1_SSM": native_extent(drought),
            "CORINE_LAND_COVER": native_extent(drought),
            "ERA5_LAND": cells_covering(wgs84_extent(drought), era5),
        },
    }


def catalog_describe(catalog_dir: Path):
    """``describe`` for ``use_case_extents`` reading a demo catalog's STAC files."""

    def describe(collection_id: str) -> dict:
        return json.loads((Path(catalog_dir) / collection_id / "collection.json").read_text())

    return describe


def catalog_graphs(catalog_dir: Path) -> dict[str, dict]:
    """Both use-case graphs for the demo catalog in ``catalog_dir``."""
    catalog_dir = Path(catalog_dir)
    pakistan = json.loads((catalog_dir / PAKISTAN_REGIONS).read_text())
    po_valley = json.loads((catalog_dir / PO_VALLEY_REGIONS).read_text())
    extents = use_case_extents(catalog_describe(catalog_dir))
    return {
        "flood": flood_graph(extents["flood"], pakistan),
        "drought": drought_graph(extents["drought"], po_valley),
    }


def write_graphs(catalog_dir: Path) -> None:
    graphs = catalog_graphs(catalog_dir)
    for path, graph in ((FLOOD_JSON, graphs["flood"]), (DROUGHT_JSON, graphs["drought"])):
        path.write_text(json.dumps({"process_graph": graph}, indent=1) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python examples/graphs.py DEMO_CATALOG_DIR")
    write_graphs(Path(sys.argv[1]))
