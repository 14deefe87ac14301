"""The demo catalog: deterministic, complete metadata, valid STAC, plausible values."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pystac
import pytest
import rasterio

from openeo_dedl.demo_data import DEMO_COLLECTIONS, generate_demo_catalog
from openeo_dedl.demo_data.fields import CLC_CLASSES
from tests.e2e import direct
from tests.support.stac import stac_validator


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_generation_is_deterministic_and_cached(tmp_path, demo_catalog_dir):
    first = generate_demo_catalog(tmp_path / "a").parent
    assert tree_digest(first) == tree_digest(demo_catalog_dir)
    marker_time = (first / "catalog.json").stat().st_mtime_ns
    # A complete catalog of the same size is not written again.
    generate_demo_catalog(first)
    assert (first / "catalog.json").stat().st_mtime_ns == marker_time
    assert not (tmp_path / "a-partial").exists()


@pytest.fixture(scope="module")
def catalog(demo_catalog_dir) -> pystac.Catalog:
    return pystac.Catalog.from_file(str(demo_catalog_dir / "catalog.json"))


def test_collections_sites_and_datacube_metadata(catalog):
    collections = {c.id: c for c in catalog.get_all_collections()}
    assert set(collections) == set(DEMO_COLLECTIONS)
    assert set(DEMO_COLLECTIONS.values()) == {"central", "lumi", "leonardo"}
    for cid, site in DEMO_COLLECTIONS.items():
        coll = collections[cid]
        assert coll.summaries.to_dict()["federation:backends"] == [site]
        dims = coll.extra_fields["cube:dimensions"]
        assert {d["type"] for d in dims.values()} == {"spatial", "temporal", "bands"}
        assert set(dims) == {"x", "y", "t", "bands"}
        assert isinstance(dims["x"]["reference_system"], int)
        items = list(coll.get_items(recursive=True))
        assert items, f"{cid} has no items"
        for item in items:
            assert item.properties["federation:backends"] == [site]
            assert set(item.assets) == set(dims["bands"]["values"])


def test_assets_are_georeferenced_cogs_matching_their_items(catalog):
    collections = list(catalog.get_all_collections())
    assert {c.id for c in collections} == set(DEMO_COLLECTIONS)
    for coll in collections:
        item = next(iter(coll.get_items(recursive=True)))
        for asset in item.assets.values():
            with rasterio.open(asset.get_absolute_href()) as src:
                assert src.crs.to_string() == item.properties["proj:code"]
                assert list(src.shape) == item.properties["proj:shape"]
                assert list(src.transform)[:6] == pytest.approx(item.properties["proj:transform"])
                assert src.profile.get("tiled") or max(src.shape) <= 512
                if max(src.shape) > 512:
                    assert src.overviews(1), "large COGs carry overviews"


def test_stac_documents_validate_offline(demo_catalog_dir):
    root = demo_catalog_dir
    stac_validator("catalog").validate(json.loads((root / "catalog.json").read_text()))
    collection_validator = stac_validator("collection")
    item_validator = stac_validator("item")
    for cid in DEMO_COLLECTIONS:
        collection_validator.validate(json.loads((root / cid / "collection.json").read_text()))
        for item_json in list((root / cid).glob("*/*.json"))[:3]:
            item_validator.validate(json.loads(item_json.read_text()))


def test_values_are_plausible(demo_catalog_dir):
    flood = direct.band_stack(demo_catalog_dir, "GFM_FLOOD", "flood_extent", "2022-01-01", "2023")
    fraction = flood.mean(("x", "y")).values
    peak = int(np.argmax(fraction))
    assert 0 < peak < len(fraction) - 1, "the flood grows, then recedes"
    assert fraction[peak] > 3 * fraction[0] and fraction[peak] > 2 * fraction[-1]

    pakistan = (66.0, 25.0, 70.0, 29.0)
    rain = direct.band_stack(
        demo_catalog_dir, "ERA5_LAND", "total_precipitation", "2022-08-01", "2022-09-16", pakistan
    ).mean(("x", "y"))
    wettest = rain.t.values[int(rain.argmax())]
    assert np.datetime64("2022-08-20") <= wettest <= np.datetime64("2022-08-31")

    ssm = direct.band_stack(demo_catalog_dir, "S1_SSM", "ssm", "2020-01-01", "2023-01-01")
    summer = ssm.t.dt.month.isin([6, 7, 8])
    means = ssm.where(summer, drop=True).mean(("x", "y")).groupby("t.year").mean()
    assert float(means.sel(year=2022)) < 0.85 * float(means.sel(year=[2020, 2021]).mean())

    land = direct.band_stack(
        demo_catalog_dir, "CORINE_LAND_COVER", "land_cover", "2018-01-01", "2018-01-02"
    )
    codes, counts = np.unique(land.values[np.isfinite(land.values)], return_counts=True)
    assert set(codes.astype(int)) <= set(CLC_CLASSES)
    assert int(codes[np.argmax(counts)]) == 211, "arable land dominates the plain"


def test_relative_output_directory_gives_readable_assets(tmp_path, monkeypatch):
    # `make serve` uses the relative default data_dir "var".
    monkeypatch.chdir(tmp_path)
    catalog_json = generate_demo_catalog(Path("var/demo"))
    item = next(
        pystac.Catalog.from_file(str(catalog_json))
        .get_child("GHSL_BUILT_S")
        .get_items(recursive=True)
    )
    with rasterio.open(item.assets["built_surface"].get_absolute_href()) as src:
        assert src.read(1).max() > 0
