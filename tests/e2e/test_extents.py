"""Which pixels an extent selects, over real HTTP, checked against the demo COGs read here.

load_collection and filter_bbox select the pixels whose centre lies in the extent (west and
south edges in, east and north edges out). The expected pixels are computed below with
rasterio/numpy straight from the demo catalog's COG files; the server's GeoTIFF must have the
same shape, grid and values. Boxes in WGS84 on projected collections (the whole world, a
hemisphere, a box across the UTM zone) are clipped to the data before they are projected:
they answer the real data, and boxes away from the data are refused at once with NoDataFound
naming what the collection covers.
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio
import requests
from pyproj import Transformer

# Its answers must come within a second: run alone (`make test`), not beside other tests.
pytestmark = [pytest.mark.e2e, pytest.mark.serial]

WORLD = {"west": -180, "south": -90, "east": 180, "north": 90}
# Refusals are answered from metadata: well under a second (generous on a loaded machine).
REFUSAL_SECONDS = 1.0


@pytest.fixture(scope="module")
def headers(connection):
    return {"Authorization": f"Bearer {connection.auth.bearer}"}


@pytest.fixture(scope="module")
def post(server, headers):
    """POST /result of a process graph; the first call warms the server up."""

    def post(graph: dict) -> requests.Response:
        return requests.post(
            f"{server}/openeo/1.2/result",
            json={"process": {"process_graph": graph}},
            headers=headers,
            timeout=300,
        )

    post(load_graph("ERA5_LAND", None, ["2022-08-20", "2022-08-21"], ["total_precipitation"]))
    return post


def load_graph(cid, extent, interval, bands, then: dict | None = None) -> dict:
    graph = {
        "load": {
            "process_id": "load_collection",
            "arguments": {
                "id": cid,
                "spatial_extent": extent,
                "temporal_extent": interval,
                "bands": bands,
            },
        }
    }
    last = "load"
    for node_id, node in (then or {}).items():
        graph[node_id] = node
        last = node_id
    graph["save"] = {
        "process_id": "save_result",
        "arguments": {"data": {"from_node": last}, "format": "GTiff"},
        "result": True,
    }
    return graph


class Cog:
    """One band of one demo item, read with rasterio; no-data as NaN."""

    def __init__(self, catalog: Path, collection: str, item: str, band: str):
        with rasterio.open(catalog / collection / item / f"{band}.tif") as ds:
            values = ds.read(1).astype("float64")
            if ds.nodata is not None:
                values[values == ds.nodata] = np.nan
            self.values, self.transform, self.crs = values, ds.transform, ds.crs
        height, width = self.values.shape
        t = self.transform
        # Pixel centres of the north-up grid.
        self.xs = t.c + (np.arange(width) + 0.5) * t.a
        self.ys = t.f + (np.arange(height) + 0.5) * t.e

    def select(self, west, south, east, north) -> tuple[np.ndarray, np.ndarray]:
        """Rows and columns whose centre is in [west, east) x [south, north), native CRS."""
        cols = np.flatnonzero((self.xs >= west) & (self.xs < east))
        rows = np.flatnonzero((self.ys >= south) & (self.ys < north))
        return rows, cols

    def select_wgs84(self, west, south, east, north) -> tuple[np.ndarray, np.ndarray]:
        """Rows and columns of the pixels whose centre, in lon/lat, is in the box."""
        gx, gy = np.meshgrid(self.xs, self.ys)
        lon, lat = Transformer.from_crs(self.crs, 4326, always_xy=True).transform(gx, gy)
        inside = (lon >= west) & (lon < east) & (lat >= south) & (lat < north)
        return np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))

    def expected(self, rows, cols) -> np.ndarray:
        return self.values[np.ix_(rows, cols)]

    def corner(self, rows, cols) -> tuple[float, float]:
        """Upper-left corner of the selection."""
        t = self.transform
        return t.c + cols[0] * t.a, t.f + rows[0] * t.e


def read_result(resp: requests.Response) -> tuple[np.ndarray, rasterio.Affine]:
    assert resp.status_code == 200, resp.text[:2000]
    with rasterio.open(io.BytesIO(resp.content)) as ds:
        values = ds.read(1).astype("float64")
        if ds.nodata is not None and not np.isnan(ds.nodata):
            values[values == ds.nodata] = np.nan
        return values, ds.transform


def assert_same(resp, cog: Cog, rows, cols):
    values, transform = read_result(resp)
    assert len(rows) and len(cols)
    assert values.shape == (len(rows), len(cols))
    x0, y0 = cog.corner(rows, cols)
    assert transform.c == pytest.approx(x0) and transform.f == pytest.approx(y0)
    np.testing.assert_array_equal(values, cog.expected(rows, cols))


def assert_no_data(post, graph, collection_doc) -> None:
    started = time.monotonic()
    resp = post(graph)
    elapsed = time.monotonic() - started
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["code"] == "NoDataFound", body
    # The message says what the collection covers.
    west, south, east, north = collection_doc["extent"]["spatial"]["bbox"][0]
    start, end = collection_doc["extent"]["temporal"]["interval"][0]
    for part in (west, south, east, north, start, end):
        assert str(part) in body["message"], body["message"]
    assert elapsed < REFUSAL_SECONDS, f"refused after {elapsed:.2f} s"


def collection_doc(catalog: Path, cid: str) -> dict:
    return json.loads((catalog / cid / "collection.json").read_text())


# -- WGS84 boxes on projected collections -------------------------------------------------------

GFM_DAY = ["2022-08-29", "2022-08-30"]
GFM_ITEM = "GFM_FLOOD_sindh_20220829"


@pytest.mark.parametrize(
    "box",
    [
        WORLD,
        {"west": -180, "south": 0, "east": 180, "north": 90},  # northern hemisphere
        {"west": 0, "south": -90, "east": 180, "north": 90},  # eastern hemisphere
        # Across UTM zone 42 (66-72° E) on both sides.
        {"west": 60, "south": 20, "east": 75, "north": 35},
    ],
    ids=["world", "north", "east", "across-zone"],
)
def test_wgs84_boxes_around_a_utm_collection_answer_its_data(post, demo_catalog_dir, box):
    cog = Cog(demo_catalog_dir, "GFM_FLOOD", GFM_ITEM, "flood_extent")
    rows, cols = cog.select_wgs84(box["west"], box["south"], box["east"], box["north"])
    assert len(rows) == cog.values.shape[0] and len(cols) == cog.values.shape[1]
    assert_same(post(load_graph("GFM_FLOOD", box, GFM_DAY, ["flood_extent"])), cog, rows, cols)


@pytest.mark.parametrize(
    "box",
    [
        {"west": -180, "south": -90, "east": 180, "north": 0},  # southern hemisphere
        {"west": -180, "south": -90, "east": 0, "north": 90},  # western hemisphere
        # In UTM zone 42, but away from the data.
        {"west": 70, "south": 27, "east": 71, "north": 28},
    ],
    ids=["south", "west", "beside"],
)
def test_wgs84_boxes_away_from_the_data_are_refused_at_once(post, demo_catalog_dir, box):
    cog = Cog(demo_catalog_dir, "GFM_FLOOD", GFM_ITEM, "flood_extent")
    rows, cols = cog.select_wgs84(box["west"], box["south"], box["east"], box["north"])
    assert len(rows) == 0 and len(cols) == 0
    graph = load_graph("GFM_FLOOD", box, GFM_DAY, ["flood_extent"])
    assert_no_data(post, graph, collection_doc(demo_catalog_dir, "GFM_FLOOD"))


@pytest.mark.parametrize(
    "box",
    [WORLD, {"west": -180, "south": -60, "east": 180, "north": 60}],
    ids=["world", "60S-60N"],
)
def test_world_on_sentinel2_answers_the_scenes_of_the_day(post, demo_catalog_dir, box):
    # 5 June: only the main Bolzano area has a scene; the result is that scene's grid.
    cog = Cog(demo_catalog_dir, "SENTINEL2_L2A", "SENTINEL2_L2A_bolzano_20220605", "B04")
    rows, cols = cog.select_wgs84(box["west"], box["south"], box["east"], box["north"])
    resp = post(load_graph("SENTINEL2_L2A", box, ["2022-06-05", "2022-06-06"], ["B04"]))
    assert_same(resp, cog, rows, cols)


# -- the use cases' loads -------------------------------------------------------------------------


def test_the_flood_use_cases_era5_load_is_one_by_two_pixels(post, demo_catalog_dir):
    """The flood AOI's WGS84 box holds ERA5 centres 67.95/68.05° E and 27.05° N only."""
    box = collection_doc(demo_catalog_dir, "GFM_FLOOD")["extent"]["spatial"]["bbox"][0]
    cog = Cog(demo_catalog_dir, "ERA5_LAND", "ERA5_LAND_pakistan_20220825", "total_precipitation")
    rows, cols = cog.select(*box)
    assert (len(rows), len(cols)) == (1, 2)
    extent = dict(zip(("west", "south", "east", "north"), box, strict=True))
    resp = post(
        load_graph("ERA5_LAND", extent, ["2022-08-25", "2022-08-26"], ["total_precipitation"])
    )
    assert_same(resp, cog, rows, cols)


def test_the_drought_use_cases_corine_resampling_has_no_extra_ring(post, demo_catalog_dir):
    """CORINE (100 m) over S1_SSM's native extent, resampled to S1's 500 m: 80 × 120 cells
    on the extent itself, each the mean of its 5 × 5 CORINE pixels."""
    s1 = collection_doc(demo_catalog_dir, "S1_SSM")["cube:dimensions"]
    (west, east), (south, north) = s1["x"]["extent"], s1["y"]["extent"]
    extent = {"west": west, "south": south, "east": east, "north": north, "crs": 32632}
    cog = Cog(
        demo_catalog_dir, "CORINE_LAND_COVER", "CORINE_LAND_COVER_po_valley_20180101", "land_cover"
    )
    rows, cols = cog.select(west, south, east, north)
    resample = {
        "r": {
            "process_id": "resample_spatial",
            "arguments": {
                "data": {"from_node": "load"},
                "resolution": 500,
                "projection": 32632,
                "method": "near",
            },
        }
    }
    values, transform = read_result(
        post(load_graph("CORINE_LAND_COVER", extent, None, ["land_cover"], resample))
    )
    assert values.shape == (len(rows) // 5, len(cols) // 5) == (80, 120)
    assert (transform.c, transform.f, transform.a) == (west, north, 500)
    # Nearest neighbour: the source pixel under each 500 m cell's centre (index 2 of 5).
    np.testing.assert_array_equal(values, cog.expected(rows[2::5], cols[2::5]))


# -- boxes in the collection's own CRS, edges on and between pixel centres -----------------------


def random_boxes(cog: Cog, count: int, seed: int):
    """Boxes inside and across the grid's edges, some edges on pixel centres; each at least
    1.1 pixels wide and high and overlapping the grid, so it holds a pixel centre."""
    rng = np.random.default_rng(seed)
    t = cog.transform
    height, width = cog.values.shape
    for _ in range(count):
        c0, r0 = int(rng.integers(-3, width - 1)), int(rng.integers(-3, height - 1))
        c1 = int(rng.integers(max(c0 + 2, 1), width + 4))
        r1 = int(rng.integers(max(r0 + 2, 1), height + 4))
        # Offsets in pixels: 0.5 puts an edge on a centre, others between centres.
        ox0, ox1, oy0, oy1 = rng.choice([0.0, 0.5, 0.25, 0.9], size=4)
        west, east = t.c + (c0 + ox0) * t.a, t.c + (c1 + ox1) * t.a
        north, south = t.f + (r0 + oy0) * t.e, t.f + (r1 + oy1) * t.e
        yield float(west), float(south), float(east), float(north)


@pytest.mark.parametrize(
    ("collection", "item", "band", "interval", "crs"),
    [
        ("GFM_FLOOD", GFM_ITEM, "flood_extent", GFM_DAY, 32642),
        (
            "ERA5_LAND",
            "ERA5_LAND_pakistan_20220825",
            "total_precipitation",
            ["2022-08-25", "2022-08-26"],
            4326,
        ),
        ("CORINE_LAND_COVER", "CORINE_LAND_COVER_po_valley_20180101", "land_cover", None, 32632),
    ],
    ids=["GFM_FLOOD", "ERA5_LAND", "CORINE"],
)
def test_random_boxes_select_the_pixels_whose_centre_they_hold(
    post, demo_catalog_dir, collection, item, band, interval, crs
):
    cog = Cog(demo_catalog_dir, collection, item, band)
    for i, (west, south, east, north) in enumerate(random_boxes(cog, 3, seed=len(collection))):
        rows, cols = cog.select(west, south, east, north)
        extent = {"west": west, "south": south, "east": east, "north": north, "crs": crs}
        if i % 2:
            # filter_bbox after loading everything selects the same pixels.
            then = {
                "f": {
                    "process_id": "filter_bbox",
                    "arguments": {"data": {"from_node": "load"}, "extent": extent},
                }
            }
            graph = load_graph(collection, None, interval, [band], then)
        else:
            graph = load_graph(collection, extent, interval, [band])
        assert_same(post(graph), cog, rows, cols)
