"""The demo data generator: determinism, the marker, STAC metadata, COGs and plausible values."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np
import pystac
import pytest
import rasterio
import shapely
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource
from shapely.geometry import box, shape

from openeo_dedl.demo_data import DEMO_COLLECTIONS, REGION_FILES, generate_demo_catalog, pakistan
from openeo_dedl.demo_data import generate as gen
from openeo_dedl.demo_data.fields import CLC_CLASSES, PAKISTAN_EVENT_DAYS

REPO = Path(__file__).resolve().parents[1]
STAC_SCHEMAS = REPO.parent / "shared" / "openeo-specs" / "stac-schemas" / "schemas.stacspec.org"
SITES = {"central", "lumi", "leonardo"}
REQUIRED = {
    "GFM_FLOOD": ("central", ["flood_extent", "reference_water"]),
    "GHSL_BUILT_S": ("central", ["built_surface"]),
    "ERA5_LAND": ("lumi", ["total_precipitation", "soil_moisture"]),
    "S1_SSM": ("leonardo", ["ssm"]),
    "CORINE_LAND_COVER": ("central", ["land_cover"]),
    "SENTINEL2_L2A": ("central", ["B02", "B03", "B04", "B08", "SCL"]),
}
EXTENSION_PREFIXES = ("datacube", "projection", "raster", "eo")


@dataclass
class Generated:
    root: Path
    seconds: float


@pytest.fixture(scope="session")
def generated(tmp_path_factory) -> Generated:
    """A fresh small catalog made by the code under test (not a cached copy)."""
    out = tmp_path_factory.mktemp("demo") / "catalog"
    started = time.perf_counter()
    generate_demo_catalog(out, size="small")
    return Generated(out, time.perf_counter() - started)


@pytest.fixture(scope="session")
def root(generated) -> Path:
    return generated.root


@pytest.fixture(scope="session")
def catalog(root) -> pystac.Catalog:
    return pystac.Catalog.from_file(str(root / "catalog.json"))


@pytest.fixture(scope="session")
def collections(catalog) -> dict[str, pystac.Collection]:
    return {c.id: c for c in catalog.get_all_collections()}


@pytest.fixture(scope="session")
def items(collections) -> dict[str, list[pystac.Item]]:
    return {
        cid: sorted(c.get_items(recursive=True), key=lambda i: (i.id, i.datetime))
        for cid, c in collections.items()
    }


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _read(item: pystac.Item, band: str) -> np.ndarray:
    with rasterio.open(item.assets[band].get_absolute_href()) as src:
        return src.read(1, masked=False)


def _by_region(items: list[pystac.Item], region: str) -> list[pystac.Item]:
    return sorted((i for i in items if i.properties["region"] == region), key=lambda i: i.datetime)


# -- generation ----------------------------------------------------------------------------------


def test_small_catalog_is_small_and_quick(generated):
    files = [p for p in generated.root.rglob("*") if p.is_file()]
    total = sum(p.stat().st_size for p in files)
    assert len(files) < 450, len(files)
    assert total < 30e6, total
    # Generous: the budget is "well under 30 s on 2 cores"; CI machines vary.
    assert generated.seconds < 60, generated.seconds
    for tif in generated.root.rglob("*.tif"):
        with rasterio.open(tif) as src:
            assert max(src.width, src.height) <= 600, tif


def test_same_bytes_in_a_fresh_process(root, tmp_path):
    """Another interpreter (no caches shared) writes byte-identical files."""
    other = tmp_path / "again"
    code = (
        "from pathlib import Path; from openeo_dedl.demo_data import generate_demo_catalog; "
        f"generate_demo_catalog(Path({str(other)!r}), size='small')"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, timeout=240)
    first, second = _hashes(root), _hashes(other)
    assert first.keys() == second.keys()
    differing = [name for name in first if first[name] != second[name]]
    assert not differing, differing[:10]


def test_marker_short_circuits(root, monkeypatch):
    before = (root / "catalog.json").stat().st_mtime_ns

    def must_not_run(*args, **kwargs):
        raise AssertionError("the catalog was regenerated")

    monkeypatch.setattr(gen, "_write_catalog", must_not_run)
    started = time.perf_counter()
    assert generate_demo_catalog(root, size="small") == root / "catalog.json"
    assert time.perf_counter() - started < 1.0
    assert (root / "catalog.json").stat().st_mtime_ns == before
    marker = json.loads((root / gen.MARKER).read_text())
    assert marker["size"] == "small" and marker["version"] == gen.GENERATOR_VERSION


def _fake_writer(calls: list[str]):
    def write(staging: Path, size: str) -> None:
        calls.append(size)
        (staging / "catalog.json").write_text(json.dumps({"size": size}))

    return write


def test_marker_mismatch_and_overwrite_regenerate(tmp_path, monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(gen, "_write_catalog", _fake_writer(calls))
    out = tmp_path / "cat"
    generate_demo_catalog(out, size="small")
    generate_demo_catalog(out, size="small")
    assert calls == ["small"]
    generate_demo_catalog(out, size="medium")
    assert calls == ["small", "medium"]
    assert json.loads((out / "catalog.json").read_text()) == {"size": "medium"}
    generate_demo_catalog(out, size="medium", overwrite=True)
    assert calls == ["small", "medium", "medium"]
    # An older generator version's catalog is replaced as well.
    marker = json.loads((out / gen.MARKER).read_text())
    (out / gen.MARKER).write_text(json.dumps({**marker, "version": marker["version"] - 1}))
    generate_demo_catalog(out, size="medium")
    assert len(calls) == 4
    # No temporary directories are left next to the catalog.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cat"]


def test_interrupted_run_is_not_taken_for_complete(tmp_path, monkeypatch):
    out = tmp_path / "cat"

    def crash(staging: Path, size: str) -> None:
        (staging / "catalog.json").write_text("{}")
        raise KeyboardInterrupt

    monkeypatch.setattr(gen, "_write_catalog", crash)
    with pytest.raises(KeyboardInterrupt):
        generate_demo_catalog(out, size="small")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []

    calls: list[str] = []
    monkeypatch.setattr(gen, "_write_catalog", _fake_writer(calls))
    generate_demo_catalog(out, size="small")
    assert calls == ["small"] and (out / gen.MARKER).exists()


def test_foreign_directory_is_not_replaced(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        generate_demo_catalog(out, size="small", overwrite=True)
    assert (out / "notes.txt").read_text() == "keep me"
    with pytest.raises(ValueError):
        generate_demo_catalog(tmp_path / "x", size="huge")  # type: ignore[arg-type]


# -- STAC metadata ------------------------------------------------------------------------------


def test_public_collection_table():
    assert {cid: site for cid, (site, _) in REQUIRED.items()} == DEMO_COLLECTIONS
    assert set(DEMO_COLLECTIONS.values()) == SITES


def test_catalog_is_self_contained(root, catalog, collections):
    assert set(collections) == set(REQUIRED)
    for path in root.rglob("*.json"):
        doc = json.loads(path.read_text())
        for link in doc.get("links", []):
            assert link["rel"] != "self", path
            assert not link["href"].startswith(("/", "http", "file:")), (path, link)
        for asset in doc.get("assets", {}).values():
            assert asset["href"].startswith("./") and "/" not in asset["href"][2:], path
    assert str(root) not in "".join(p.read_text() for p in root.rglob("*.json"))


def test_collection_metadata(collections):
    sites_used = set()
    for cid, (site, bands) in REQUIRED.items():
        doc = collections[cid].to_dict(include_self_link=False)
        for key in ("id", "title", "description", "license", "keywords", "providers", "extent"):
            assert doc.get(key), (cid, key)
        assert doc["summaries"]["federation:backends"] == [site]
        sites_used.add(site)
        assert [b["name"] for b in doc["summaries"]["eo:bands"]] == bands
        for prefix in EXTENSION_PREFIXES:
            assert any(f"/{prefix}/" in url for url in doc["stac_extensions"]), (cid, prefix)

        dims = doc["cube:dimensions"]
        assert set(dims) == {"x", "y", "t", "bands"}
        for axis in ("x", "y"):
            d = dims[axis]
            assert d["type"] == "spatial" and d["axis"] == axis
            assert isinstance(d["reference_system"], int)
            assert d["extent"][0] < d["extent"][1] and d["step"] > 0
        assert dims["t"]["type"] == "temporal"
        t0, t1 = (dt.datetime.fromisoformat(v.replace("Z", "+00:00")) for v in dims["t"]["extent"])
        assert t0 <= t1
        step = dims["t"]["step"]
        assert step is None or re.fullmatch(r"P\d+D", step)
        assert dims["bands"] == {"type": "bands", "values": bands}

        bbox = doc["extent"]["spatial"]["bbox"][0]
        assert -180 <= bbox[0] < bbox[2] <= 180 and -90 <= bbox[1] < bbox[3] <= 90
        interval = doc["extent"]["temporal"]["interval"][0]
        assert interval[0][:10] == dims["t"]["extent"][0][:10]

        assert list(doc["item_assets"]) == bands
        for band, asset in doc["item_assets"].items():
            assert asset["roles"] == ["data"] and asset["type"] == gen.COG_MEDIA_TYPE
            raster = asset["raster:bands"][0]
            assert {"data_type", "nodata", "unit"} <= set(raster), (cid, band)
            if "classification:classes" in asset:
                assert any("/classification/" in url for url in doc["stac_extensions"])
    assert len(sites_used) >= 3 and sites_used <= SITES

    # The projected collections declare their EPSG codes and resolutions.
    expected = {
        "GFM_FLOOD": (32642, 20.0),
        "GHSL_BUILT_S": (32642, 100.0),
        "ERA5_LAND": (4326, 0.1),
        "S1_SSM": (32632, 500.0),
        "CORINE_LAND_COVER": (32632, 100.0),
        "SENTINEL2_L2A": (32632, 10.0),
    }
    for cid, (epsg, res) in expected.items():
        x = collections[cid].extra_fields["cube:dimensions"]["x"]
        assert (x["reference_system"], x["step"]) == (epsg, res), cid
    assert collections["S1_SSM"].extra_fields["cube:dimensions"]["t"]["step"] == "P12D"
    clc = collections["CORINE_LAND_COVER"].summaries.to_dict()["classification:classes"]
    assert {c["value"] for c in clc} == set(CLC_CLASSES)


def test_item_metadata(collections, items):
    for cid, (site, bands) in REQUIRED.items():
        assert items[cid], cid
        for item in items[cid]:
            p = item.properties
            assert p["federation:backends"] == [site], item.id
            assert item.datetime is not None
            region = p["region"]
            assert item.id == f"{cid}_{region}_{item.datetime:%Y%m%d}"
            assert re.fullmatch(r"EPSG:\d+", p["proj:code"])
            assert len(p["proj:shape"]) == 2 and len(p["proj:transform"]) == 6
            assert len(p["proj:bbox"]) == 4
            assert list(item.assets) == bands
            for band, asset in item.assets.items():
                assert asset.media_type == gen.COG_MEDIA_TYPE
                assert asset.roles == ["data"]
                assert asset.href == f"./{band}.tif"
                assert asset.extra_fields["raster:bands"][0]["data_type"]
            w, s, e, n = item.bbox
            assert shape(item.geometry).within(box(w, s, e, n).buffer(1e-9))
    for item in items["SENTINEL2_L2A"]:
        assert 0.0 <= item.properties["eo:cloud_cover"] <= 100.0
    regions = {i.properties["region"] for i in items["ERA5_LAND"]}
    assert regions == {"pakistan", "po_valley"}


def test_assets_are_cogs_matching_their_items(items):
    checked = 0
    for its in items.values():
        for item in its:
            p = item.properties
            for band, asset in item.assets.items():
                raster = asset.extra_fields["raster:bands"][0]
                with rasterio.open(asset.get_absolute_href()) as src:
                    assert src.driver == "GTiff"
                    assert src.profile["tiled"], (item.id, band)
                    assert src.overviews(1), (item.id, band)
                    assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
                    assert src.crs.to_epsg() == int(p["proj:code"].split(":")[1])
                    assert list(src.transform)[:6] == pytest.approx(p["proj:transform"])
                    assert [src.height, src.width] == p["proj:shape"]
                    assert list(src.bounds) == pytest.approx(p["proj:bbox"])
                    assert src.dtypes[0] == raster["data_type"]
                    nodata = raster["nodata"]
                    if nodata == "nan":
                        assert np.isnan(src.nodata)
                    else:
                        assert src.nodata == nodata
                    # Nothing time-dependent is written into the TIFF tags.
                    assert not any("DATETIME" in k.upper() for k in src.tags())
                checked += 1
    assert checked > 200


# -- JSON schema validation (offline) -----------------------------------------------------------


def _registry() -> Registry:
    resources = []
    for path in STAC_SCHEMAS.rglob("*.json"):
        uri = "https://schemas.stacspec.org/" + path.relative_to(STAC_SCHEMAS).as_posix()
        resources.append((uri, Resource.from_contents(json.loads(path.read_text()))))
    # GeoJSON schemas: pystac bundles them for its own offline validation.
    geojson = Path(pystac.__file__).parent / "validation" / "jsonschemas" / "geojson"
    for name in ("Feature", "Geometry"):
        doc = json.loads((geojson / f"{name}.json").read_text())
        resources.append((f"https://geojson.org/schema/{name}.json", Resource.from_contents(doc)))
    return Registry().with_resources(resources)


def _validator(registry: Registry, uri: str) -> Draft7Validator:
    schema = registry.contents(uri)
    return Draft7Validator(schema, registry=registry)


@pytest.mark.skipif(not STAC_SCHEMAS.is_dir(), reason="offline STAC schemas not available")
def test_stac_json_validates_against_offline_schemas(root):
    registry = _registry()
    base = "https://schemas.stacspec.org/v1.0.0"
    validators = {
        "Catalog": _validator(registry, f"{base}/catalog-spec/json-schema/catalog.json"),
        "Collection": _validator(registry, f"{base}/collection-spec/json-schema/collection.json"),
        "Feature": _validator(registry, f"{base}/item-spec/json-schema/item.json"),
    }
    counts = dict.fromkeys(validators, 0)
    extensions_checked = set()
    for path in sorted(root.rglob("*.json")):
        doc = json.loads(path.read_text())
        if path.name == gen.MARKER:
            continue
        kind = doc["type"]
        errors = [e.message for e in validators[kind].iter_errors(doc)]
        assert not errors, (path, errors[:3])
        counts[kind] += 1
        # Extension schemas, where a copy is available offline.
        for url in doc.get("stac_extensions", []):
            try:
                extension = _validator(registry, url)
            except NoSuchResource:  # not stored offline
                continue
            assert not list(extension.iter_errors(doc)), (path, url)
            extensions_checked.add(url)
    assert counts["Catalog"] == 1 and counts["Collection"] == 6 and counts["Feature"] > 100


# -- values --------------------------------------------------------------------------------------


def test_flood_grows_then_recedes_along_the_river(items):
    gfm = _by_region(items["GFM_FLOOD"], "sindh")
    fractions, first = [], None
    for item in gfm:
        flood, ref = _read(item, "flood_extent"), _read(item, "reference_water")
        assert set(np.unique(flood)) <= {0, 1} and set(np.unique(ref)) <= {0, 1}
        assert not (flood & ref).any(), "GFM flood extent excludes reference water"
        fractions.append(float(flood.mean()))
        first = first if first is not None else ref
        assert np.array_equal(ref, first), "reference water does not change"
    peak = int(np.argmax(fractions))
    assert 0 < peak < len(fractions) - 1, fractions
    assert all(a <= b for a, b in pairwise(fractions[: peak + 1]))
    assert all(a >= b for a, b in pairwise(fractions[peak:]))
    assert fractions[0] < 0.05 and fractions[peak] > 0.2

    # The flood follows the low ground near the river.
    with rasterio.open(gfm[peak].assets["flood_extent"].get_absolute_href()) as src:
        flood = src.read(1)
        rows, cols = np.indices(flood.shape)
        xs, ys = rasterio.transform.xy(src.transform, rows.ravel(), cols.ravel())
    d = np.abs(pakistan.river_distance(np.array(xs), np.array(ys))).reshape(flood.shape)
    assert flood[d < 2_000].mean() > 2 * flood[d > 4_000].mean()


def test_built_up_surface_has_towns_on_the_floodplain(items):
    (ghsl,) = items["GHSL_BUILT_S"]
    built = _read(ghsl, "built_surface")
    assert np.isfinite(built).all() and built.min() >= 0 and built.max() <= 10_000
    assert 0.02 < (built > 0).mean() < 0.6 and built.max() > 3_000
    # GFM (20 m) and GHSL (100 m) share the AOI: 5x5 flood pixels per built-up cell.
    gfm = _by_region(items["GFM_FLOOD"], "sindh")
    peak = max(gfm, key=lambda i: _read(i, "flood_extent").mean())
    flood = _read(peak, "flood_extent").astype(float)
    flood_100m = flood.reshape(built.shape[0], 5, built.shape[1], 5).mean(axis=(1, 3))
    assert ((built > 1_000) & (flood_100m > 0.5)).sum() >= 5, "some settlements are flooded"


def test_era5_pakistan_rain_peaks_in_the_event(items):
    era5 = _by_region(items["ERA5_LAND"], "pakistan")
    days = [i.datetime.date() for i in era5]
    rain = np.stack([_read(i, "total_precipitation") for i in era5])
    assert np.isfinite(rain).all() and rain.min() >= 0
    event = PAKISTAN_EVENT_DAYS
    assert event[0] <= days[int(rain.mean(axis=(1, 2)).argmax())] <= event[1]
    assert event[0] <= days[int(rain.max(axis=(1, 2)).argmax())] <= event[1]
    assert rain.mean(axis=(1, 2)).max() > 3 * np.median(rain.mean(axis=(1, 2)))
    soil = np.stack([_read(i, "soil_moisture") for i in era5])
    assert soil.min() > 0.0 and soil.max() <= 0.5
    # Soils are wetter right after the event than before it.
    before, after = days.index(dt.date(2022, 8, 15)), days.index(dt.date(2022, 8, 28))
    assert soil[after].mean() > soil[before].mean() + 0.05


def _summer_means(its: list[pystac.Item], band: str) -> dict[int, float]:
    by_year: dict[int, list[float]] = {}
    for item in its:
        if item.datetime.month in (6, 7, 8):
            by_year.setdefault(item.datetime.year, []).append(float(np.nanmean(_read(item, band))))
    return {year: float(np.mean(v)) for year, v in by_year.items()}


def test_po_valley_2022_drought(items):
    era5 = _by_region(items["ERA5_LAND"], "po_valley")
    sm = _summer_means(era5, "soil_moisture")
    assert set(sm) >= {2020, 2021, 2022}
    earlier = np.mean([sm[y] for y in sm if y < 2022])
    assert sm[2022] < earlier and all(sm[2022] < sm[y] for y in sm if y < 2022)
    # A seasonal cycle: winters are wetter than summers.
    winter = [float(np.mean(_read(i, "soil_moisture"))) for i in era5 if i.datetime.month == 1]
    assert min(winter) > max(sm.values())

    s1 = _by_region(items["S1_SSM"], "po_valley")
    years = {i.datetime.year for i in s1}
    assert len(years) >= 3 and len(s1) >= 80
    gaps = {(b.datetime - a.datetime).days for a, b in pairwise(s1)}
    assert gaps <= set(range(6, 13))
    ssm = _summer_means(s1, "ssm")
    earlier = np.mean([ssm[y] for y in ssm if y < 2022])
    assert ssm[2022] < 0.8 * earlier, ssm
    values = _read(s1[0], "ssm")
    valid = values[np.isfinite(values)]
    assert valid.min() >= 0 and valid.max() <= 100
    assert 0 < np.isnan(values).mean() < 0.1, "water and towns are masked, not much else"


def test_land_cover_codes_and_mix(items):
    (clc,) = items["CORINE_LAND_COVER"]
    lc = _read(clc, "land_cover")
    codes, counts = np.unique(lc, return_counts=True)
    share = dict(zip(codes.tolist(), (counts / lc.size).tolist(), strict=True))
    assert set(share) <= set(CLC_CLASSES)
    assert share.get(211, 0) + share.get(212, 0) > 0.4, "arable land dominates the plain"
    assert max(share, key=share.get) == 211
    assert share.get(511, 0) > 0.002, "the river"
    assert share.get(111, 0) + share.get(112, 0) > 0.01, "towns"
    assert sum(share.get(c, 0) for c in (311, 312, 313)) > 0.02, "forest on the hill edges"


def test_sentinel2_reflectance_and_scene_classes(items):
    s2 = _by_region(items["SENTINEL2_L2A"], "bolzano")
    assert [i.datetime.date().month for i in s2] == [6] * len(s2) and len(s2) >= 3
    covers = []
    for item in s2:
        red = _read(item, "B04").astype(float) * 1e-4
        nir = _read(item, "B08").astype(float) * 1e-4
        scl = _read(item, "SCL")
        for band in ("B02", "B03", "B04", "B08"):
            dn = _read(item, band)
            assert dn.min() >= 1 and dn.max() <= 10_000
        ndvi = (nir - red) / (nir + red)
        assert 0.5 < np.median(ndvi[scl == 4]) < 0.9
        assert set(np.unique(scl)) <= set(range(12))
        cloud = 100 * np.isin(scl, (8, 9, 10)).mean()
        assert item.properties["eo:cloud_cover"] == pytest.approx(cloud, abs=0.01)
        covers.append(cloud)
    assert min(covers) < 10 < max(covers)


def test_region_polygons_tile_the_aois(root, items):
    aois = {"pakistan": items["GFM_FLOOD"][0], "po_valley": items["S1_SSM"][0]}
    for key, relative in REGION_FILES.items():
        doc = json.loads((root / relative).read_text())
        assert doc["type"] == "FeatureCollection" and len(doc["features"]) >= 5
        geoms = []
        for feature in doc["features"]:
            assert {"id", "name"} <= set(feature["properties"])
            geom = shape(feature["geometry"])
            assert geom.is_valid and geom.geom_type == "Polygon" and geom.area > 0
            geoms.append(geom)
        union = shapely.union_all(geoms)
        assert sum(g.area for g in geoms) == pytest.approx(union.area, rel=1e-6), "no overlaps"
        aoi = shape(aois[key].geometry)
        assert union.buffer(1e-6).covers(aoi), key


def test_odc_stac_loads_the_collections(catalog, items):
    odc_stac = pytest.importorskip("odc.stac")
    gfm = items["GFM_FLOOD"]
    w, s, e, n = gfm[0].bbox
    bbox = (w + (e - w) * 0.3, s + (n - s) * 0.3, e - (e - w) * 0.3, n - (n - s) * 0.3)
    ds = odc_stac.load(gfm, bands=["flood_extent"], bbox=bbox, chunks={}).compute()
    assert ds.odc.crs.epsg == 32642 and ds.odc.geobox.resolution.x == 20
    assert ds.sizes["time"] == len(gfm)
    assert set(np.unique(ds.flood_extent.values)) == {0, 1}

    era5 = _by_region(items["ERA5_LAND"], "pakistan")
    ds = odc_stac.load(era5, bands=["total_precipitation"], chunks={}).compute()
    assert ds.odc.crs.epsg == 4326 and ds.odc.geobox.resolution.x == pytest.approx(0.1)
    daily = ds.total_precipitation.mean(("latitude", "longitude"))
    peak = str(ds.time.values[int(np.argmax(daily.values))])[:10]
    assert "2022-08-19" <= peak <= "2022-08-28"
    # odc-stac returns the files' pixels unchanged.
    assert np.array_equal(
        ds.total_precipitation.isel(time=0).values, _read(era5[0], "total_precipitation")
    )
