"""No-data end to end, on a real server: a collection's nodata is no-data in every reducer, pixels
without any valid value are no-data in the result, and result files say so (GTiff nodata tag and
statistics, netCDF ``_FillValue``), for synchronous and batch results alike.

Every expected value is computed here from the demo catalog's COG files with rasterio and numpy:
each result pixel's centre is looked up in each date's file (no value where it falls outside the
file or holds the file's nodata), and numpy reduces over the dates. This checks the values on the
grid the server chose, whichever pixels its extent rule selects.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
import xarray as xr

# Sentinel-2 (uint16, nodata 0): a box over both demo tiles (bolzano: 5, 15, 25 June; its north
# tile: 1, 9, 16, 23, 30 June) and the gap between them, so every date covers only part of it.
S2_BOX = {"west": 11.32, "south": 46.47, "east": 11.35, "north": 46.495}
S2_DATES = ["2022-06-01", "2022-07-01"]
# GFM_FLOOD (uint8, nodata 255): a box across the collection's east edge (68.053° E).
GFM_BOX = {"west": 68.02, "south": 27.0, "east": 68.08, "north": 27.04}
GFM_DATES = ["2022-08-11", "2022-09-17"]


# -- the independent computation ----------------------------------------------------------------


def _items(catalog_dir: Path, collection: str, start: str, end: str) -> list[tuple[str, Path]]:
    """(datetime, item JSON path) of the collection's items in [start, end)."""
    found = []
    for path in sorted((catalog_dir / collection).glob("*/*.json")):
        doc = json.loads(path.read_text())
        when = doc["properties"]["datetime"][:10]
        if start <= when < end:
            found.append((when, path))
    assert found, (collection, start, end)
    return found


def _pixel_centres(result: Path) -> tuple[np.ndarray, np.ndarray, str]:
    """x and y (2-D) of every pixel centre of a result GeoTIFF, and its CRS."""
    with rasterio.open(result) as src:
        cols, rows = np.meshgrid(np.arange(src.width), np.arange(src.height))
        xs, ys = src.transform * (cols + 0.5, rows + 0.5)
        return np.asarray(xs), np.asarray(ys), str(src.crs)


def sampled_stack(catalog_dir: Path, collection: str, band: str, dates, xs, ys, crs) -> np.ndarray:
    """(dates, y, x): each date's file value at the points, NaN outside the file or at its
    nodata (read from the file's own tag)."""
    layers = []
    for _, item_path in _items(catalog_dir, collection, *dates):
        href = json.loads(item_path.read_text())["assets"][band]["href"]
        with rasterio.open(item_path.parent / href) as src:
            assert str(src.crs) == crs, "the demo result is on the collection's own CRS"
            values = src.read(1)
            nodata = src.nodata
            rows, cols = rasterio.transform.rowcol(src.transform, xs.ravel(), ys.ravel())
        rows, cols = np.asarray(rows).reshape(xs.shape), np.asarray(cols).reshape(xs.shape)
        inside = (rows >= 0) & (rows < values.shape[0]) & (cols >= 0) & (cols < values.shape[1])
        layer = np.full(xs.shape, np.nan)
        layer[inside] = values[rows[inside], cols[inside]]
        if nodata is not None:
            layer[layer == nodata] = np.nan
        layers.append(layer)
    return np.stack(layers)


def reduce_stack(stack: np.ndarray, reducer: str) -> np.ndarray:
    """numpy's NaN-skipping reducers, no-data (NaN) where a pixel has no valid value at all."""
    valid = np.isfinite(stack).sum(axis=0)
    if reducer == "count":
        return valid.astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels
        reduced = {"mean": np.nanmean, "min": np.nanmin, "max": np.nanmax, "sum": np.nansum}[
            reducer
        ](stack, axis=0)
    return np.where(valid > 0, reduced, np.nan)


# -- the server's results -------------------------------------------------------------------------


def reduce_graph(collection, box, dates, band, reducer, fmt="GTiff") -> dict:
    return {
        "load": {
            "process_id": "load_collection",
            "arguments": {
                "id": collection,
                "spatial_extent": box,
                "temporal_extent": dates,
                "bands": [band],
            },
        },
        "reduce": {
            "process_id": "reduce_dimension",
            "arguments": {
                "data": {"from_node": "load"},
                "dimension": "t",
                "reducer": {
                    "process_graph": {
                        "r": {
                            "process_id": reducer,
                            "arguments": {"data": {"from_parameter": "data"}},
                            "result": True,
                        }
                    }
                },
            },
        },
        "save": {
            "process_id": "save_result",
            "arguments": {"data": {"from_node": "reduce"}, "format": fmt},
            "result": True,
        },
    }


def sync_result(connection, graph: dict, out: Path) -> Path:
    connection.download(graph, out)
    return out


def read_band(path: Path) -> np.ndarray:
    with rasterio.open(path) as src:
        assert src.count == 1
        return src.read(1).astype(float)


def expected_for(demo_catalog_dir, result: Path, collection, band, dates, reducer):
    xs, ys, crs = _pixel_centres(result)
    stack = sampled_stack(demo_catalog_dir, collection, band, dates, xs, ys, crs)
    return stack, reduce_stack(stack, reducer)


# -- values ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("reducer", ["mean", "min", "max", "sum", "count"])
def test_sentinel2_nodata_is_skipped_by_reducers_over_dates(
    connection, demo_catalog_dir, tmp_path, reducer
):
    """B04's nodata 0 is no value: a reducer sees only the dates that cover a pixel; pixels no
    date covers are no-data (NaN), and count gives 0 there."""
    graph = reduce_graph("SENTINEL2_L2A", S2_BOX, S2_DATES, "B04", reducer)
    out = sync_result(connection, graph, tmp_path / f"{reducer}.tif")
    got = read_band(out)
    stack, expected = expected_for(demo_catalog_dir, out, "SENTINEL2_L2A", "B04", S2_DATES, reducer)
    valid = np.isfinite(stack).sum(axis=0)
    # The box must hold pixels with some dates, all dates and no date at all.
    n_dates = stack.shape[0]
    assert (valid == 0).sum() > 1000
    assert ((valid > 0) & (valid < n_dates)).sum() > 1000
    np.testing.assert_allclose(got, expected, rtol=1e-6, equal_nan=True)
    if reducer == "count":
        assert (got[valid == 0] == 0).all()
    else:
        assert np.isnan(got[valid == 0]).all(), "no valid value at all is no-data, never 0"


def _footprint_east(catalog_dir) -> float:
    """The east edge (WGS84) of GFM_FLOOD's items."""
    import pystac

    coll = pystac.Collection.from_file(str(catalog_dir / "GFM_FLOOD" / "collection.json"))
    return max(item.bbox[2] for item in coll.get_items(recursive=True))


def test_gfm_max_across_the_collections_east_edge_is_nodata_outside(
    connection, demo_catalog_dir, tmp_path
):
    """GFM's nodata 255 is never a maximum: outside the footprint the result is no-data."""
    graph = reduce_graph("GFM_FLOOD", GFM_BOX, GFM_DATES, "flood_extent", "max")
    out = sync_result(connection, graph, tmp_path / "max.tif")
    got = read_band(out)
    stack, expected = expected_for(
        demo_catalog_dir, out, "GFM_FLOOD", "flood_extent", GFM_DATES, "max"
    )
    outside = ~np.isfinite(stack).any(axis=0)
    # The box reaches past the footprint; the result may end at the data (rows and columns no
    # item covers are left out, see docs/architecture.md), but never holds 255.
    assert GFM_BOX["east"] > _footprint_east(demo_catalog_dir), "the box straddles the edge"
    assert (~outside).sum() > 1000
    np.testing.assert_array_equal(got, expected)  # NaN where NaN
    assert np.isnan(got[outside]).all()
    assert set(np.unique(got[~outside])) <= {0.0, 1.0}


# -- result files ---------------------------------------------------------------------------------


def _check_gtiff_tags(path: Path, band: str, unit: str) -> None:
    """A COG with a nodata tag (NaN), band description and unit, and statistics equal to
    numpy's over the valid pixels (GDAL's standard deviation is the population one)."""
    with rasterio.open(path) as src:
        assert src.nodata is not None and math.isnan(src.nodata)
        assert src.descriptions == (band,)
        assert src.units == (unit,)
        assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        tags = src.tags(1)
        values = src.read(1).astype(float)
    valid = values[np.isfinite(values)]
    assert valid.size
    assert float(tags["STATISTICS_MINIMUM"]) == pytest.approx(valid.min(), rel=1e-6)
    assert float(tags["STATISTICS_MAXIMUM"]) == pytest.approx(valid.max(), rel=1e-6)
    assert float(tags["STATISTICS_MEAN"]) == pytest.approx(valid.mean(), rel=1e-6)
    assert float(tags["STATISTICS_STDDEV"]) == pytest.approx(valid.std(), rel=1e-5)


def test_sync_gtiff_has_nodata_statistics_and_band_metadata(connection, tmp_path):
    graph = reduce_graph("GFM_FLOOD", GFM_BOX, GFM_DATES, "flood_extent", "max")
    out = sync_result(connection, graph, tmp_path / "max.tif")
    _check_gtiff_tags(out, "flood_extent", "1")


def test_era5_gtiff_tags_its_nan_nodata(connection, tmp_path):
    graph = reduce_graph(
        "ERA5_LAND",
        {"west": 66.0, "south": 25.0, "east": 70.0, "north": 29.0},
        ["2022-08-18", "2022-09-02"],
        "total_precipitation",
        "sum",
    )
    out = sync_result(connection, graph, tmp_path / "era5.tif")
    _check_gtiff_tags(out, "total_precipitation", "mm/day")


def test_batch_gtiff_has_nodata_statistics_and_band_metadata(connection, tmp_path):
    graph = reduce_graph("SENTINEL2_L2A", S2_BOX, S2_DATES, "B04", "mean")
    job = connection.create_job(graph, title="nodata tags")
    job.start_and_wait(print=lambda *_: None, max_poll_interval=1)
    files = job.get_results().download_files(tmp_path / "out")
    (tif,) = [p for p in files if p.suffix == ".tif"]
    _check_gtiff_tags(tif, "B04", "1")


def test_netcdf_results_declare_nan_fill_and_hold_nodata(connection, demo_catalog_dir, tmp_path):
    """netCDF of an integer collection's maximum: float with ``_FillValue`` NaN, no-data
    outside the footprint (never the collection's 255)."""
    tif = sync_result(
        connection,
        reduce_graph("GFM_FLOOD", GFM_BOX, GFM_DATES, "flood_extent", "max"),
        tmp_path / "max.tif",
    )
    nc = sync_result(
        connection,
        reduce_graph("GFM_FLOOD", GFM_BOX, GFM_DATES, "flood_extent", "max", fmt="netCDF"),
        tmp_path / "max.nc",
    )
    with xr.open_dataset(nc, mask_and_scale=False) as ds:
        var = ds["flood_extent"]
        assert np.issubdtype(var.dtype, np.floating)
        assert math.isnan(var.attrs["_FillValue"])
        assert var.attrs.get("units") == "1"
        values = var.values.astype(float)
    _, expected = expected_for(demo_catalog_dir, tif, "GFM_FLOOD", "flood_extent", GFM_DATES, "max")
    assert values.shape == expected.shape
    np.testing.assert_array_equal(values, expected)
    assert not (values == 255).any() and np.isfinite(values).sum() > 1000


# -- aggregate_spatial ----------------------------------------------------------------------------

# Rectangles on Sentinel-2's 10 m grid (EPSG:32632, edges on pixel edges): across bolzano's east
# edge (half in the gap), wholly in the gap between the tiles, across the north tile's west edge.
S2_RECTANGLES = [
    (678500.0, 5149000.0, 679300.0, 5149500.0),
    (679000.0, 5150000.0, 679500.0, 5150500.0),
    (679500.0, 5151200.0, 680000.0, 5151600.0),
]


def _wgs84_polygon(west, south, east, north) -> dict:
    from pyproj import Transformer

    to_wgs84 = Transformer.from_crs("EPSG:32632", "EPSG:4326", always_xy=True)
    ring = [(west, south), (east, south), (east, north), (west, north), (west, south)]
    return {"type": "Polygon", "coordinates": [[list(to_wgs84.transform(x, y)) for x, y in ring]]}


@pytest.mark.parametrize("reducer", ["mean", "sum", "max"])
def test_aggregate_spatial_skips_nodata_and_gives_null_without_any_value(
    connection, demo_catalog_dir, tmp_path, reducer
):
    """The mean of B04 over dates, then ``reducer`` over each rectangle's pixels: nodata (0) is
    skipped at both steps, and a rectangle without any valid pixel gives null in JSON."""
    graph = reduce_graph("SENTINEL2_L2A", S2_BOX, S2_DATES, "B04", "mean", fmt="JSON")
    reduce_node = {
        "process_graph": {
            "r": {
                "process_id": reducer,
                "arguments": {"data": {"from_parameter": "data"}},
                "result": True,
            }
        }
    }
    graph["zones"] = {
        "process_id": "aggregate_spatial",
        "arguments": {
            "data": {"from_node": "reduce"},
            "geometries": {
                "type": "FeatureCollection",
                "features": [
                    {"type": "Feature", "properties": {}, "geometry": _wgs84_polygon(*r)}
                    for r in S2_RECTANGLES
                ],
            },
            "reducer": reduce_node,
        },
    }
    graph["save"]["arguments"]["data"] = {"from_node": "zones"}
    out = tmp_path / "zones.json"
    connection.download(graph, out)
    got = np.array(json.loads(out.read_text())["data"], dtype=float).ravel()

    expected = []
    for west, south, east, north in S2_RECTANGLES:
        xs, ys = np.meshgrid(np.arange(west + 5, east, 10.0), np.arange(north - 5, south, -10.0))
        stack = sampled_stack(
            demo_catalog_dir, "SENTINEL2_L2A", "B04", S2_DATES, xs, ys, "EPSG:32632"
        )
        pixels = reduce_stack(stack, "mean").ravel()
        pixels = pixels[np.isfinite(pixels)]
        reduce = {"mean": np.mean, "sum": np.sum, "max": np.max}[reducer]
        expected.append(reduce(pixels) if pixels.size else np.nan)
    expected = np.array(expected)
    assert np.isnan(expected[1]) and np.isfinite(expected[[0, 2]]).all()
    np.testing.assert_allclose(got, expected, rtol=1e-5, equal_nan=True)


# -- aggregate_temporal ---------------------------------------------------------------------------

S2_INTERVALS = [
    ["2022-06-01", "2022-06-10"],
    ["2022-06-10", "2022-06-20"],
    ["2022-06-20", "2022-07-01"],
]


def test_aggregate_temporal_skips_nodata_per_interval(connection, demo_catalog_dir, tmp_path):
    """The minimum per interval: each interval's dates cover parts of the box; nodata (0) is never
    the minimum, a pixel no date of the interval covers is no-data."""
    graph = reduce_graph("SENTINEL2_L2A", S2_BOX, S2_DATES, "B04", "min")
    graph["reduce"] = {
        "process_id": "aggregate_temporal",
        "arguments": {
            "data": {"from_node": "load"},
            "intervals": S2_INTERVALS,
            "reducer": graph["reduce"]["arguments"]["reducer"],
        },
    }
    out = tmp_path / "intervals.tif"
    connection.download(graph, out)
    with rasterio.open(out) as src:
        got = src.read().astype(float)  # one band per interval (and band B04)
    xs, ys, crs = _pixel_centres(out)
    assert got.shape[0] == len(S2_INTERVALS)
    for i, (start, end) in enumerate(S2_INTERVALS):
        stack = sampled_stack(demo_catalog_dir, "SENTINEL2_L2A", "B04", (start, end), xs, ys, crs)
        expected = reduce_stack(stack, "min")
        assert np.isnan(expected).sum() > 1000 and np.isfinite(expected).sum() > 1000
        np.testing.assert_array_equal(got[i], expected)
